"""Ingest's row-level passes on Spark, writing the same case files as the local engine.

What runs where:
- the driver resolves the inputs, hashes each file and reads its footer (row count, schema, the column plan) as
  the local engine does, and writes every case file with the local engine's writers;
- Spark reads the rows (`_metadata.row_index` is each row's position in its file), runs ingest's own
  `classify_frame` and `derive_event_columns` on each Arrow batch (`map_frames`), counts rows per file and
  reason, finds repeated request IDs (a native window over the candidates) and hands the events back one UTC
  day at a time.
Every rule is a function of one row, so which batch or partition a row lands in changes nothing; the driver
sorts what it writes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import polars as pl

from forensics.casefiles import EVENT_SCHEMA
from forensics.engine.spark import map_frames, spark_stage
from forensics.errors import CorruptInputError, InternalError
from forensics.ingest.accounts import lookalike_groups, lookalike_keys
from forensics.ingest.dedupe import quarantine_duplicates
from forensics.ingest.discover import FileStats, InputFile, file_stats, open_parquet, with_partitions
from forensics.ingest.parse import FilePlan, Window, check_epoch_unit, plan_file, timestamp_units
from forensics.ingest.pseudonymise import MinHasher, derive_event_columns
from forensics.ingest.run import IngestOptions, RowPasses, write_events_day
from forensics.ingest.validate import CLASSIFY_ONLY, IpCache, classify_frame, quarantine_records, raw_strings
from forensics.keys import CaseKey
from forensics.progress import Progress
from forensics.schema import EPOCH_UNITS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_MINHASH = "prompt_minhash"  # list<uint64>; Spark has no unsigned type, so it crosses as the same bits in int64


# Events the driver takes from Spark at once: about 300 MB as Arrow, within a default 1 GiB driver heap.
_EVENT_CHUNK_ROWS = 1_000_000


@dataclass(frozen=True)
class _Group:
    """Input files read together: one Arrow schema, one column plan, the same partition keys."""

    plan: FilePlan
    files: tuple[tuple[int, InputFile], ...]  # (index among the inputs, file)
    columns: tuple[str, ...]  # the raw columns of a batch, partition columns last: the order of `_raw`


def _local_path(uri: str) -> str:
    """The local path of a `file:` URI as Spark's _metadata.file_path writes it."""
    parts = urlsplit(uri)
    return unquote(parts.path) if parts.scheme in ("file", "") else uri


class _RowsOfGroup:
    """The per-batch function: raw rows of one group in, classified rows out (events for the accepted ones,
    raw values as text for the quarantined ones). It holds the CaseKey, which reaches executors only inside the
    pickled task (see engine.spark.KeyedPseudonyms)."""

    def __init__(self, group: _Group, key: CaseKey, window: Window, epoch_unit: str) -> None:
        self._group = group
        self._key = key
        self._window = window
        self._epoch_unit = epoch_unit
        self._minhasher = MinHasher.from_key(key)
        self._ip_cache: IpCache | None = None
        self._paths = {str(inp.path.resolve()): (index, inp) for index, inp in group.files}
        self.__name__ = "ingest_rows"

    def __repr__(self) -> str:
        return f"ingest_rows(files={len(self._paths)})"

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_ip_cache": None}  # a memo, rebuilt on each executor

    def __call__(self, frame: pl.DataFrame) -> pl.DataFrame:
        if self._ip_cache is None:
            self._ip_cache = IpCache(self._key)
        plan = self._group.plan
        parts = []
        for (path,), part in frame.partition_by("_path", as_dict=True, maintain_order=True).items():
            index, inp = self._paths[_local_path(path)]
            parts.append(with_partitions(part.drop("_path"), inp).with_columns(pl.lit(index, dtype=pl.Int32).alias("_file")))
        if not parts:
            return pl.DataFrame(schema=_OUTPUT_POLARS)
        batch = pl.concat(parts, how="vertical").select(*self._group.columns, "_file", pl.col("_row").cast(pl.Int64))
        if plan.kinds["timestamp"] == "int":
            units = timestamp_units(plan.sources["timestamp"]).cast(pl.Int32)
        else:
            units = pl.lit(None, dtype=pl.Int32)
        classified = classify_frame(batch, plan, self._window, self._epoch_unit, self._ip_cache)
        classified = classified.with_columns(batch.with_columns(units.alias("_units"))["_units"])
        rejected = classified.filter(pl.col("_reason").is_not_null()).select("_file", "_row", "_reason", "_units")
        raw = batch.join(rejected, on=["_file", "_row"], how="inner", maintain_order="left")
        raw_text = raw_strings(raw.drop("_file", "_row", "_reason", "_units"))
        rejected = raw.select("_file", "_row", "_reason", "_units").hstack(
            raw_text.select(pl.concat_list(pl.all()).alias("_raw"))
        )
        valid = classified.filter(pl.col("_reason").is_null())
        events = derive_event_columns(valid.drop(*CLASSIFY_ONLY), self._key, self._minhasher)
        norms = lookalike_keys(valid["_account"], self._key).select("_account", "_norm")
        events = events.join(norms, on="_account", how="left", maintain_order="left").select(
            *[c for c in EVENT_SCHEMA if c != _MINHASH],
            pl.col(_MINHASH).list.eval(pl.element().reinterpret(signed=True)),
            "_file", "_row", "_units", "_norm",
        )
        return pl.concat([events, rejected], how="diagonal_relaxed").select(list(_OUTPUT_POLARS))


_OUTPUT_POLARS: dict[str, pl.DataType] = {
    **{c: (pl.List(pl.Int64) if c == _MINHASH else t) for c, t in EVENT_SCHEMA.items()},
    "_file": pl.Int32(),
    "_row": pl.Int64(),
    "_units": pl.Int32(),
    "_norm": pl.String(),
    "_reason": pl.String(),
    "_raw": pl.List(pl.String),
}


def _output_schema():
    from pyspark.sql.types import (
        ArrayType, BooleanType, IntegerType, LongType, StringType, StructField, StructType, TimestampType,
    )

    spark_types = {
        pl.String: StringType(), pl.Int64: LongType(), pl.Int32: IntegerType(), pl.Boolean: BooleanType(),
    }

    def spark_type(dtype: pl.DataType):
        if isinstance(dtype, pl.Datetime):
            return TimestampType()
        if isinstance(dtype, pl.List):
            return ArrayType(spark_type(dtype.inner), True)
        return spark_types[dtype.base_type()]

    return StructType([StructField(name, spark_type(dtype), True) for name, dtype in _OUTPUT_POLARS.items()])


# ---------------------------------------------------------------------------------------------- the passes


def _groups(inputs: list[InputFile], options: IngestOptions) -> tuple[dict[str, FileStats], list[FilePlan], list[_Group], dict[int, int]]:
    """Hash and plan every input on the driver, as the local engine does; group the files Spark reads together."""
    stats: dict[str, FileStats] = {}
    plans: list[FilePlan] = []
    footer_rows: dict[int, int] = {}
    grouped: dict[tuple, list[tuple[int, InputFile]]] = {}
    group_plans: dict[tuple, FilePlan] = {}
    for index, inp in enumerate(inputs):
        st = file_stats(index, inp)
        stats[inp.rel] = st
        parquet = open_parquet(inp, st.size)
        schema = parquet.schema_arrow
        plan = plan_file(inp, schema, options.column_map)
        plans.append(plan)
        footer_rows[index] = parquet.metadata.num_rows
        if footer_rows[index] == 0:
            continue
        signature = (
            tuple((f.name, str(f.type)) for f in schema),
            tuple(k for k, _ in inp.partitions if k not in schema.names),
            tuple(plan.sources.items()), tuple(plan.kinds.items()),
        )
        grouped.setdefault(signature, []).append((index, inp))
        group_plans[signature] = plan
    groups = [
        _Group(plan=group_plans[sig], files=tuple(files), columns=tuple(n for n, _ in sig[0]) + sig[1])
        for sig, files in grouped.items()
    ]
    return stats, plans, groups, footer_rows


def _read_group(session, group: _Group, key: CaseKey, window: Window, epoch_unit: str):
    from pyspark.sql import functions as F

    paths = [inp.path.resolve().as_uri() for _, inp in group.files]
    df = session.read.parquet(*paths)
    df = df.select("*", F.col("_metadata.file_path").alias("_path"), F.col("_metadata.row_index").alias("_row"))
    return map_frames(df, _RowsOfGroup(group, key, window, epoch_unit), _output_schema())


def _count_rows(rows, stats_by_index: dict[int, FileStats]) -> None:
    """Rows per file and reason, and the integer-timestamp units, counted by Spark into the FileStats."""
    from pyspark.sql import functions as F

    bits = [F.sum((F.col("_units").bitwiseAND(1 << i) > 0).cast("long")).alias(unit) for i, unit in enumerate(EPOCH_UNITS)]
    counted = rows.groupBy("_file", "_reason").agg(F.count(F.lit(1)).alias("n"), F.count("_units").alias("units"), *bits)
    for row in pl.from_arrow(counted.toArrow()).sort("_file", "_reason", nulls_last=False).iter_rows(named=True):
        st = stats_by_index[row["_file"]]
        st.rows += row["n"]
        if row["_reason"] is None:
            st.valid += row["n"]
        else:
            st.reasons[row["_reason"]] += row["n"]
        st.epoch.update(Counter({"rows": row["units"], **{unit: row[unit] or 0 for unit in EPOCH_UNITS}}))


def _write_rejected(rows, groups: list[_Group], stats_by_index: dict[int, FileStats], work: Path) -> None:
    """The quarantine records of the rows Spark rejected, one part per group, written with ingest's own code."""
    from pyspark.sql import functions as F

    rejected = rows.filter(F.col("_reason").isNotNull()).select("_file", "_row", "_reason", "_raw")
    frame = pl.from_arrow(rejected.toArrow())
    assert isinstance(frame, pl.DataFrame)
    group_of = {index: g for g, group in enumerate(groups) for index, _ in group.files}
    frame = frame.with_columns(pl.col("_file").replace_strict(group_of, return_dtype=pl.Int32).alias("_group"))
    for (g,), part in frame.partition_by("_group", as_dict=True).items():
        columns = groups[g].columns
        raw_text = pl.DataFrame(
            [part["_raw"].list.get(i).alias(name) for i, name in enumerate(columns)],
            schema={name: pl.String for name in columns},
        )
        records = quarantine_records(part.select("_file", "_row", "_reason"), raw_text, stats_by_index)
        records.write_parquet(work / "quarantine" / f"spark-{g:06d}.parquet", compression="lz4")


def _losers(session, valid, stats_by_index: dict[int, FileStats]):
    """(_file, _row) of every accepted row that repeats an earlier request_id: ingest's rule (earliest timestamp,
    then smallest input SHA-256, then input index, then row) as a window over the repeated IDs only."""
    from pyspark.sql import Window as SparkWindow
    from pyspark.sql import functions as F

    shas = session.createDataFrame(
        [(index, st.sha256) for index, st in sorted(stats_by_index.items())], "_file int, _sha string"
    )
    repeated = valid.groupBy("request_id").count().filter(F.col("count") > 1).select("request_id")
    candidates = valid.select("request_id", "timestamp", "_file", "_row").join(repeated, "request_id", "left_semi")
    order = SparkWindow.partitionBy("request_id").orderBy("timestamp", "_sha", "_file", "_row")
    return (
        candidates.join(F.broadcast(shas), "_file")
        .withColumn("_n", F.row_number().over(order))
        .filter(F.col("_n") > 1)
        .select("_file", "_row")
    )


def _write_events(kept, case: Path, chunk_rows: int) -> None:
    """One sorted events file per UTC day, written by ingest's own writer. Days reach the driver in runs of
    consecutive days of about `chunk_rows` rows (a larger day alone), so the driver holds one run at a time and a
    short incident costs one job."""
    from pyspark.sql import functions as F

    events_dir = case / "events"
    events_dir.mkdir()
    kept = kept.withColumn("_day", F.to_date("timestamp"))
    sizes = sorted((row["_day"], row["count"]) for row in kept.groupBy("_day").count().collect())
    runs: list[list] = []
    held = 0
    for day, count in sizes:
        if not runs or held + count > chunk_rows:
            runs.append([])
            held = 0
        runs[-1].append(day)
        held += count
    for run in runs:
        table = kept.filter(F.col("_day").isin(run)).select("_day", *EVENT_SCHEMA).toArrow()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        frame = frame.with_columns(pl.col(_MINHASH).list.eval(pl.element().reinterpret(signed=False)))
        frame = frame.with_columns([pl.col(c).cast(t) for c, t in EVENT_SCHEMA.items()])
        if not frame.select((pl.col("timestamp").dt.date() == pl.col("_day")).all()).item():
            raise InternalError("Spark's UTC day of an event differs from the local engine's")
        for (day,), part in frame.partition_by("_day", as_dict=True, include_key=False).items():
            write_events_day(part.lazy(), events_dir / f"{day.isoformat()}.parquet")


def ingest_rows_on_spark(
    stage: Path, work: Path, key: CaseKey, inputs: list[InputFile], window: Window, options: IngestOptions,
    progress: Progress, session: SparkSession | None = None,
) -> RowPasses:
    """ingest's row-level passes on `session`, or on a session of `options.spark` for this run: CASE/events and
    the quarantine parts under `work`, as the local engine writes them."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    task = progress.task("ingest (spark)", total=None)
    stats, plans, groups, footer_rows = _groups(inputs, options)
    stats_by_index = {st.index: st for st in stats.values()}
    with spark_stage(options.spark, session) as session:
        rows = None
        for group in groups:
            part = _read_group(session, group, key, window, options.epoch_unit)
            rows = part if rows is None else rows.unionByName(part)
        if rows is None:
            (stage / "events").mkdir()
            lookalikes: list[list[str]] = []
        else:
            # On executors' disks, not their heaps: every later pass reads the classified rows once more, and
            # a heap cache of them left too little room for the event runs on 1.5 GB executors (5.7M rows).
            rows = rows.persist(StorageLevel.DISK_ONLY)
            _count_rows(rows, stats_by_index)
            for index, st in sorted(stats_by_index.items()):
                if st.rows != footer_rows[index]:
                    raise CorruptInputError(f"{st.rel}: Spark read {st.rows} rows but the footer declares {footer_rows[index]}")
                plan = plans[index]
                if plan.kinds["timestamp"] == "int":
                    check_epoch_unit(st.rel, plan.sources["timestamp"], st.epoch, options.epoch_unit)
            _write_rejected(rows, groups, stats_by_index, work)
            valid = rows.filter(F.col("_reason").isNull()).drop("_reason", "_raw")
            losers_df = _losers(session, valid, stats_by_index).persist()
            losers = pl.from_arrow(losers_df.toArrow())
            assert isinstance(losers, pl.DataFrame)
            losers = losers.select(pl.col("_file").cast(pl.Int32), pl.col("_row").cast(pl.Int64)).sort("_file", "_row")
            if not losers.is_empty():
                quarantine_duplicates(losers, inputs, stats, work, options.batch_rows)
            kept = valid.join(losers_df, ["_file", "_row"], "left_anti")
            _write_events(kept, stage, _EVENT_CHUNK_ROWS)
            norms = valid.select("_norm", "account_pseudonym").distinct()
            shared = norms.groupBy("_norm").count().filter(F.col("count") > 1).select("_norm")
            pairs = pl.from_arrow(norms.join(shared, "_norm", "left_semi").toArrow())
            assert isinstance(pairs, pl.DataFrame)
            lookalikes = lookalike_groups(pairs)
            task.advance(sum(st.rows for st in stats.values()))
    return RowPasses(stats=stats, plans=plans, lookalikes=lookalikes)
