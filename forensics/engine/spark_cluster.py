"""cluster's row-level passes on Spark: the same rules as the local engine over the case's events, with Spark
moving the rows.

What runs where:
- Spark reads `CASE/events` (the case directory must be where the executors see it at the same path: a shared
  filesystem, or the driver's disk under a local master), numbers the accounts with the driver's codes (a join)
  and moves rows: by account for the per-account passes, by prompt fingerprint for co-action;
- on the executors, each Arrow batch or group goes through the local engine's own functions (features'
  `account_measures`, facts' `batch_facts`, `behaviour_cells`, `coaction_edges`, `timelines`), with the accounts
  renumbered within the batch in name order, as the local engine numbers all of them;
- what comes back is per account, per (account, key) or per pair: Spark sums the facts and behaviour counts of
  different batches (integers only), and the driver combines the rest with the same functions it uses locally.

A group of accounts (or of fingerprints) is handled whole by one Python worker, so one huge account or one
fingerprint sent by a great many accounts sets the largest memory a worker needs; see README, Running on Spark.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from forensics.casefiles import EVENT_SCHEMA
from forensics.codes import ACCOUNT, account_codes, decode
from forensics.detect.behaviour import CELL_SCHEMA, behaviour_cells
from forensics.detect.coaction import CoactionResult, coaction_edges
from forensics.detect.facts import batch_facts, batch_inputs
from forensics.detect.features import MEASURE_COLUMNS, account_measures, account_table, finish_features
from forensics.detect.timelines import TIMELINE_COLUMNS, merge_timelines, timelines
from forensics.engine.spark import engine_record, map_frames
from forensics.errors import InternalError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_GROUP_ROWS = 250_000  # rows per group aimed at: a group is held whole by one Python worker


def _events_frame(table: pa.Table | pl.DataFrame) -> pl.DataFrame:
    """A batch of Spark's rows as the case's events frame: each column back in the case's own type (Spark reads the
    MinHash's list<uint64> as decimal(20, 0), and has no unsigned types)."""
    frame = table if isinstance(table, pl.DataFrame) else pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.with_columns(pl.col(c).cast(t) for c, t in EVENT_SCHEMA.items() if c in frame.columns)


def _local_codes(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """The batch's own account codes (0..n-1 in name order, as `account_codes` numbers a whole case) and, per local
    code, the case's code (the `code` column Spark joined on). Both number accounts in name order, so mapping one
    to the other keeps every order."""
    local = account_codes(frame.lazy())
    case = frame.select(ACCOUNT, pl.col("code").cast(pl.UInt32).alias("_case")).unique()
    return local, local.join(case, on=ACCOUNT, how="left", maintain_order="left")["_case"]


def _to_case(frame: pl.DataFrame, case_codes: pl.Series, *columns: str) -> pl.DataFrame:
    return frame.with_columns(case_codes.gather(frame[c]).alias(c) for c in columns)


def _ipc(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="uncompressed")
    return buffer.getvalue()


def _from_ipc(blobs: Sequence[bytes]) -> list[pl.DataFrame]:
    return [pl.read_ipc(io.BytesIO(blob)) for blob in blobs]


# ------------------------------------------------------------------------------------------ executor functions
# Module-level and picklable, each taking one Arrow table or batch after the parameters `_per_group` or partial()
# binds.


def _per_group(fn: Callable[..., pa.Table], *args) -> Callable[[pa.Table], pa.Table]:
    """`fn` with its leading arguments bound, as applyInArrow takes it: a plain function of the group's table
    (pyspark reads the function's own signature and annotations, which a partial object or a callable instance
    would give wrongly)."""

    def per_group(table):  # no annotations: pyspark would try to infer the UDF type from them
        return fn(*args, table)

    return per_group


def _measures_of_group(table: pa.Table) -> pa.Table:
    """features' `account_measures` of one group of whole accounts, with the case's codes (and their billing
    countries, where the case has an account table: Spark joined them on as a column)."""
    frame = _events_frame(table)
    local, case_codes = _local_codes(frame)
    bills = None
    if "billing_country" in frame.columns:
        bills = (
            frame.filter(pl.col("billing_country").is_not_null())
            .select(ACCOUNT, "billing_country").unique().join(local, on=ACCOUNT).select("code", "billing_country")
        )
    measures, use = account_measures(frame.lazy(), local, bills)
    return pa.table({
        "measures": [_ipc(_to_case(measures, case_codes, "code"))],
        "use": [_ipc(_to_case(use, case_codes, "code"))],
    })


def _coaction_of_group(window_s: int, max_accounts: int, table: pa.Table) -> pa.Table:
    """Co-action counts of one group of whole fingerprints (every pair, before the minimum count: a pair's count is
    a sum over fingerprints, so it is judged once all groups are summed)."""
    frame = _events_frame(table)
    result = coaction_edges(frame.lazy(), window_s=window_s, min_count=1, max_accounts=max_accounts, id_col=None)
    local, case_codes = _local_codes(frame)
    if not result.accounts.equals(local[ACCOUNT], check_names=False):
        raise InternalError("co-action numbered a group's accounts otherwise than account_codes")
    pairs = _to_case(result.codes, case_codes, "src", "dst")
    return pa.table({
        "pairs": [_ipc(pairs)],
        "fingerprints_total": [result.fingerprints_total],
        "fingerprints_skipped": [result.fingerprints_skipped],
        "rows_considered": [result.rows_considered],
    })


def _timelines_of_group(flagged: pl.DataFrame, table: pa.Table) -> pa.Table:
    """The timelines of one group of whole accounts (so each account is counted in one group only)."""
    daily, hourly = timelines(_events_frame(table).lazy(), flagged)
    return pa.table({"daily": [_ipc(daily)], "hourly": [_ipc(hourly)]})


def _facts_of_batch(kinds: tuple[str, ...], slot_s: int, frame: pl.DataFrame) -> pl.DataFrame:
    """facts' `batch_facts` of one batch, every kind in one table (`kind` its index in `kinds`), keys as the bits of
    an Int64 (Spark has no unsigned type)."""
    frame = _events_frame(frame)
    local, case_codes = _local_codes(frame)
    parts = [
        _to_case(facts, case_codes, "code").select(
            pl.lit(i, dtype=pl.Int32).alias("kind"), pl.col("code").cast(pl.Int64),
            pl.col("key").cast(pl.UInt64).reinterpret(signed=True), pl.col("stratum").cast(pl.Int64),
            pl.col("rows").cast(pl.Int64), pl.col("reasoning").cast(pl.Int64),
        )
        for i, facts in enumerate(batch_facts(kinds, frame.lazy(), local, slot_s).values())
    ]
    return pl.concat(parts)


def _cells_of_batch(frame: pl.DataFrame) -> pl.DataFrame:
    frame = _events_frame(frame)
    local, case_codes = _local_codes(frame)
    cells = _to_case(behaviour_cells(frame.lazy(), local), case_codes, "code")
    return cells.select(pl.col("code").cast(pl.Int64), pl.col("cell").cast(pl.Int32), "requests")


# ------------------------------------------------------------------------------------------ the driver's side


class SparkEvents:
    """cluster's row-level passes over a case's events on a Spark session (see `forensics.detect.run.EventRows`).

    `groups` is how many groups the by-account and by-fingerprint passes split the rows into (by default about
    250,000 rows each: every group costs a Python call, and Spark runs the groups of a shuffle partition one after
    another); the results do not depend on it.
    """

    def __init__(self, session: SparkSession, case: Path, groups: int | None = None, engine: dict | None = None) -> None:
        files = sorted((Path(case) / "events").glob("*.parquet"))
        self.engine = engine or engine_record(None)  # spark.engine_record: the custody record's description
        self.session = session
        self.rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        self.events = session.read.parquet(*[f.resolve().as_uri() for f in files])
        if groups is None:
            groups = max(1, math.ceil(self.rows / _GROUP_ROWS))
        self.groups = groups
        self._codes: DataFrame | None = None
        self._names: pl.Series | None = None

    def _collect(self, df: DataFrame) -> pl.DataFrame:
        frame = pl.from_arrow(df.toArrow())
        assert isinstance(frame, pl.DataFrame)
        return frame

    def _coded(self, *columns: str) -> DataFrame:
        """The events' `columns` with the case's account `code` (joined on the pseudonym)."""
        if self._codes is None:
            raise InternalError("SparkEvents.account_codes() must run before the other passes")
        return self.events.select(*dict.fromkeys([ACCOUNT, *columns])).join(self._codes, ACCOUNT)

    def _by_group(self, df: DataFrame, column: str, fn: Callable[[pa.Table], pa.Table], schema: str) -> pl.DataFrame:
        """`fn` over the rows of each of `groups` groups, a row's group chosen by a hash of its `column`."""
        from pyspark.sql import functions as F

        bucket = F.pmod(F.xxhash64(F.col(column)), F.lit(self.groups)).alias("_group")
        return self._collect(df.groupBy(bucket).applyInArrow(fn, schema))

    def account_codes(self) -> pl.DataFrame:
        codes = account_codes(self._collect(self.events.select(ACCOUNT).distinct()).lazy())
        self._codes = self.session.createDataFrame(codes.select(ACCOUNT, pl.col("code").cast(pl.Int64)).to_arrow())
        self._names = decode(codes)
        return codes

    def features(self, accounts: pl.LazyFrame | None, codes: pl.DataFrame) -> pl.DataFrame:
        acc, billing = account_table(accounts, codes)
        df = self._coded(*MEASURE_COLUMNS)
        if billing is not None:
            bills = self.session.createDataFrame(
                billing.join(codes, on="code").select(ACCOUNT, "billing_country").to_arrow()
            )
            df = df.join(bills, ACCOUNT, "left")
        out = self._by_group(df, ACCOUNT, _measures_of_group, "measures binary, use binary")
        measures = pl.concat(_from_ipc(out["measures"].to_list()))
        use = pl.concat(_from_ipc(out["use"].to_list()))
        return finish_features(measures, use, codes, acc)

    def coaction(self, *, window_s: int, min_count: int, max_accounts: int) -> CoactionResult:
        df = self._coded("prompt_fingerprint", "timestamp")
        df, hot_keys, hot_rows = self._without_hot_prompts(df, max_accounts)
        out = self._by_group(
            df, "prompt_fingerprint", _per_group(_coaction_of_group, window_s, max_accounts),
            "pairs binary, fingerprints_total long, fingerprints_skipped long, rows_considered long",
        )
        # No group at all when every prompt was hot.
        pairs = pl.concat([pl.DataFrame(schema={"src": pl.UInt32, "dst": pl.UInt32, "count": pl.UInt32}),
                           *_from_ipc(out["pairs"].to_list())], how="vertical_relaxed")
        summed = (
            pairs.group_by("src", "dst").agg(pl.col("count").sum())
            .filter(pl.col("count") >= min_count).sort("src", "dst")
            .cast({"src": pl.UInt32, "dst": pl.UInt32, "count": pl.UInt32})
        )
        return CoactionResult(
            accounts=self._names.rename("account"), codes=summed,
            fingerprints_total=int(out["fingerprints_total"].sum()) + hot_keys,
            fingerprints_skipped=int(out["fingerprints_skipped"].sum()) + hot_keys,
            rows_considered=int(out["rows_considered"].sum()) + hot_rows,
        )

    def _without_hot_prompts(self, df: DataFrame, max_accounts: int) -> tuple[DataFrame, int, int]:
        """The rows of prompts sent by at most `max_accounts` accounts, with how many prompts (and their rows) were
        over: co-action skips those prompts and gives them no edge, so Spark drops them before the shuffle by
        fingerprint, and a hot prompt ("hi" from every customer) never lands whole on one worker. The counts
        are distinct accounts per fingerprint, a two-stage aggregate that is itself free of skew."""
        from pyspark.sql import functions as F

        if max_accounts <= 0:
            return df, 0, 0
        per_prompt = df.filter(F.col("prompt_fingerprint").isNotNull()).groupBy("prompt_fingerprint").agg(
            F.countDistinct("code").alias("accounts"), F.count(F.lit(1)).alias("rows")
        )
        hot = pl.from_arrow(per_prompt.filter(F.col("accounts") > max_accounts).select("prompt_fingerprint", "rows").toArrow())
        assert isinstance(hot, pl.DataFrame)
        if hot.is_empty():
            return df, 0, 0
        dropped = F.broadcast(self.session.createDataFrame(hot.select("prompt_fingerprint").to_arrow()))
        return df.join(dropped, "prompt_fingerprint", "left_anti"), hot.height, int(hot["rows"].sum())

    def facts(self, kinds: Sequence[str], codes: pl.DataFrame, slot_s: int) -> dict[str, pl.DataFrame]:
        from pyspark.sql import functions as F
        from pyspark.sql.types import IntegerType, LongType, StructField, StructType

        schema = StructType([StructField("kind", IntegerType()), *[StructField(c, LongType()) for c in ("code", "key", "stratum", "rows", "reasoning")]])
        df = self._coded(*batch_inputs(kinds, slot_s))
        facts = map_frames(df, partial(_facts_of_batch, tuple(kinds), slot_s), schema)
        summed = facts.groupBy("kind", "code", "key").agg(
            F.min("stratum").alias("stratum"), F.sum("rows").alias("rows"), F.sum("reasoning").alias("reasoning")
        )
        every = self._collect(summed).with_columns(pl.col("key").reinterpret(signed=False))
        return {
            kind: every.filter(pl.col("kind") == i).select(
                pl.col("code").cast(pl.UInt32), "key", pl.col("stratum").cast(pl.UInt32),
                pl.col("rows").cast(pl.UInt32), pl.col("reasoning").cast(pl.UInt32),
            )
            for i, kind in enumerate(kinds)
        }

    def behaviour_cells(self, codes: pl.DataFrame) -> pl.DataFrame:
        from pyspark.sql import functions as F
        from pyspark.sql.types import IntegerType, LongType, StructField, StructType

        schema = StructType([StructField("code", LongType()), StructField("cell", IntegerType()), StructField("requests", LongType())])
        cells = map_frames(self._coded("timestamp", "model"), _cells_of_batch, schema)
        summed = cells.groupBy("code", "cell").agg(F.sum("requests").alias("requests"))
        return self._collect(summed).cast(CELL_SCHEMA).sort("code", "cell")

    def timelines(self, assignment: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        flagged = assignment.filter(pl.col("flagged")).select(ACCOUNT, "cluster_id", "flagged")
        df = self.events.select(*TIMELINE_COLUMNS)
        out = self._by_group(df, ACCOUNT, _per_group(_timelines_of_group, flagged), "daily binary, hourly binary")
        return merge_timelines(_from_ipc(out["daily"].to_list()), _from_ipc(out["hourly"].to_list()))
