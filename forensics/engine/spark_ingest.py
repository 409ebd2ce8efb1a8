"""Ingest's row-level passes on Spark, writing the same case files as the local engine.

What runs where:
- the driver resolves the local inputs, hashes each file and reads its footer (row count, schema, the column
  plan) as the local engine does, and writes every case file with the local engine's writers;
- inputs on the cluster's file systems (s3a://, abfss://, hdfs://, ...) are listed, hashed and cut down to their
  first bytes and footers by Spark's binaryFile source (native `sha2` and `substring`), and the driver runs the
  same checks and column plan on what comes back (`FooterFile`); it never opens them itself;
- Spark reads the rows (`_metadata.row_index` is each row's position in its file), runs ingest's own
  `classify_frame` and `derive_event_columns` on each Arrow batch (`map_frames`), counts rows per file and
  reason, finds repeated request IDs (a native window over the candidates) and hands the events back one UTC
  day at a time; the raw values of duplicate rows are read back by Spark too.
Every rule is a function of one row, so which batch or partition a row lands in changes nothing; the driver
sorts what it writes.
"""

from __future__ import annotations

import glob
import hashlib
from collections import Counter
from dataclasses import dataclass
from functools import reduce
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import polars as pl

from forensics.casefiles import EVENT_SCHEMA
from forensics.engine.spark import engine_record, first_line, map_frames, spark_stage
from forensics.errors import CorruptInputError, ForensicsError, InternalError, NoInputError
from forensics.ingest.accounts import lookalike_groups, lookalike_keys
from forensics.ingest.discover import (
    FileStats, FooterFile, InputFile, checked_parquet, file_stats, open_parquet, remote_input, remote_logs,
    sorted_inputs, with_partitions, glob_root, relative,
)
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


def _path_key(spark_path: str) -> str:
    """An input's name as Spark's _metadata.file_path writes it (percent-encoded), in the form the inputs hold:
    a local file's path, or a remote input's URI as binaryFile lists it (not encoded)."""
    parts = urlsplit(spark_path)
    return unquote(parts.path) if parts.scheme in ("file", "") else unquote(spark_path)


def _input_key(inp: InputFile) -> str:
    return inp.uri if inp.uri is not None else str(inp.local.resolve())


def _glob_escaped(uri: str) -> str:
    """`uri` for a Spark reader, which treats each path as a Hadoop glob pattern."""
    return "".join("\\" + c if c in "*?[]{}\\" else c for c in uri)


class _GroupBatches:
    """Raw rows of one group's files as ingest's batches: the file's partition columns added, its index as
    `_file` and its row number as `_row`."""

    def __init__(self, group: _Group) -> None:
        self._group = group
        self._paths = {_input_key(inp): (index, inp) for index, inp in group.files}

    def batch(self, frame: pl.DataFrame) -> pl.DataFrame | None:
        parts = []
        for (path,), part in frame.partition_by("_path", as_dict=True, maintain_order=True).items():
            index, inp = self._paths[_path_key(path)]
            parts.append(with_partitions(part.drop("_path"), inp).with_columns(pl.lit(index, dtype=pl.Int32).alias("_file")))
        if not parts:
            return None
        return pl.concat(parts, how="vertical").select(*self._group.columns, "_file", pl.col("_row").cast(pl.Int64))


class _RowsOfGroup(_GroupBatches):
    """The per-batch function: raw rows of one group in, classified rows out (events for the accepted ones,
    raw values as text for the quarantined ones). It holds the CaseKey, which reaches executors only inside the
    pickled task (see engine.spark.KeyedPseudonyms)."""

    def __init__(self, group: _Group, key: CaseKey, window: Window, epoch_unit: str) -> None:
        super().__init__(group)
        self._key = key
        self._window = window
        self._epoch_unit = epoch_unit
        self._minhasher = MinHasher.from_key(key)
        self._ip_cache: IpCache | None = None
        self.__name__ = "ingest_rows"

    def __repr__(self) -> str:
        return f"ingest_rows(files={len(self._paths)})"

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_ip_cache": None}  # a memo, rebuilt on each executor

    def __call__(self, frame: pl.DataFrame) -> pl.DataFrame:
        if self._ip_cache is None:
            self._ip_cache = IpCache(self._key)
        plan = self._group.plan
        batch = self.batch(frame)
        if batch is None:
            return pl.DataFrame(schema=_OUTPUT_POLARS)
        if plan.kinds["timestamp"] == "int":
            units = timestamp_units(plan.sources["timestamp"]).cast(pl.Int32)
        else:
            units = pl.lit(None, dtype=pl.Int32)
        classified = classify_frame(batch, plan, self._window, self._epoch_unit, self._ip_cache)
        classified = classified.with_columns(batch.with_columns(units.alias("_units"))["_units"])
        rejected = classified.filter(pl.col("_reason").is_not_null()).select("_file", "_row", "_reason", "_units")
        raw = batch.join(rejected, on=["_file", "_row"], how="inner", maintain_order="left")
        rejected = raw.select("_file", "_row", "_reason", "_units", _raw_list(raw.drop("_file", "_row", "_reason", "_units")))
        valid = classified.filter(pl.col("_reason").is_null())
        events = derive_event_columns(valid.drop(*CLASSIFY_ONLY), self._key, self._minhasher)
        norms = lookalike_keys(valid["_account"], self._key).select("_account", "_norm")
        events = events.join(norms, on="_account", how="left", maintain_order="left").select(
            *[c for c in EVENT_SCHEMA if c != _MINHASH],
            pl.col(_MINHASH).list.eval(pl.element().reinterpret(signed=True)),
            "_file", "_row", "_units", "_norm",
        )
        return pl.concat([events, rejected], how="diagonal_relaxed").select(list(_OUTPUT_POLARS))


class _RawOfGroup(_GroupBatches):
    """The per-batch function of the duplicates' pass: raw rows in, (_file, _row, _raw) out, the values as
    the quarantine's text."""

    def __init__(self, group: _Group) -> None:
        super().__init__(group)
        self.__name__ = "raw_rows"

    def __repr__(self) -> str:
        return f"raw_rows(files={len(self._paths)})"

    def __call__(self, frame: pl.DataFrame) -> pl.DataFrame:
        batch = self.batch(frame)
        if batch is None:
            return pl.DataFrame(schema=_RAW_POLARS)
        return batch.select("_file", "_row", _raw_list(batch.drop("_file", "_row")))


def _raw_list(raw: pl.DataFrame) -> pl.Series:
    """A batch's raw values as the quarantine's text, one list per row in the group's column order (`_raw`)."""
    return raw_strings(raw).select(pl.concat_list(pl.all()).alias("_raw")).to_series()


_RAW_POLARS: dict[str, pl.DataType] = {"_file": pl.Int32(), "_row": pl.Int64(), "_raw": pl.List(pl.String)}


_OUTPUT_POLARS: dict[str, pl.DataType] = {
    **{c: (pl.List(pl.Int64) if c == _MINHASH else t) for c, t in EVENT_SCHEMA.items()},
    "_file": pl.Int32(),
    "_row": pl.Int64(),
    "_units": pl.Int32(),
    "_norm": pl.String(),
    "_reason": pl.String(),
    "_raw": pl.List(pl.String),
}


def _output_schema(columns: dict[str, pl.DataType] = _OUTPUT_POLARS):
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

    return StructType([StructField(name, spark_type(dtype), True) for name, dtype in columns.items()])


# ---------------------------------------------------------------------------------------------- the passes


@dataclass(frozen=True)
class _Probe:
    """What Spark read of a remote input for the driver: its size, SHA-256, first 4 bytes and, when it ends in a
    plausible footer, its last bytes from the footer on (else its last 8, as pyarrow would read them)."""

    size: int
    sha256: str
    head: bytes
    end: bytes


def _listing_error(arg: str, exc: Exception) -> NoInputError:
    if "PATH_NOT_FOUND" in str(exc):
        reason = "no file matches this pattern" if glob.has_magic(arg) else "no such file or directory"
        return NoInputError(f"{arg}: {reason}")
    return NoInputError(f"{arg}: cannot be listed ({first_line(exc)})")


def _remote_inputs(session, logs: list[str]) -> tuple[list[InputFile], list[str]]:
    """Every file under the remote arguments, as the cluster's file system lists it (Hadoop's listing hides names
    that start with `_` or `.`): the Parquet ones (by name, or named alone) and the names of the others."""
    found: list[InputFile] = []
    skipped: list[str] = []
    for arg in logs:
        try:
            listing = session.read.format("binaryFile").option("recursiveFileLookup", "true").load(arg)
            listed = sorted(unquote(uri) for uri in listing.inputFiles())  # empty files too, unlike a scan
        except ForensicsError:
            raise
        except Exception as exc:
            raise _listing_error(arg, exc) from None
        given = PurePosixPath(urlsplit(arg).path or "/")
        alone = len(listed) == 1 and PurePosixPath(urlsplit(listed[0]).path) == given and not glob.has_magic(arg)
        root = PurePosixPath(glob_root(given.as_posix())) if glob.has_magic(arg) else given
        for uri in listed:
            path = PurePosixPath(urlsplit(uri).path)
            rel = path.name if alone else relative(path, root)
            if alone or path.suffix in (".parquet", ".parq"):
                found.append(remote_input(uri, rel))
            else:
                skipped.append(rel)
    return found, sorted(skipped)


def _probe_remote(session, inputs: list[InputFile]) -> dict[str, _Probe]:
    """Each remote input's _Probe, computed where the file is read: the driver gets a few bytes per file."""
    from pyspark.sql import functions as F

    uris = [inp.uri for inp in inputs if inp.uri is not None]
    if not uris:
        return {}
    content, length = F.col("content"), F.length("content")
    # The footer's length: the 4 little-endian bytes before the closing magic.
    footer = F.conv(F.concat(*[F.hex(F.substring("content", -i, 1)) for i in (5, 6, 7, 8)]), 16, 10).cast("long")
    plausible = (F.substring("content", -4, 4) == F.lit(b"PAR1")) & (length >= 12) & footer.between(0, length - 12)
    probes = session.read.format("binaryFile").load([_glob_escaped(u) for u in uris]).select(
        "path", "length", F.sha2("content", 256).alias("sha256"), F.substring("content", 1, 4).alias("head"),
        F.when(plausible, content.substr(length - 7 - footer, footer + 8))
        .otherwise(F.substring("content", -8, 8)).alias("end"),
    )
    found = {
        row["path"]: _Probe(size=row["length"], sha256=row["sha256"], head=bytes(row["head"]), end=bytes(row["end"]))
        for row in probes.collect()
    }
    # Spark's scans skip empty files, so a listed file that no scan row describes is an empty one.
    empty = _Probe(size=0, sha256=hashlib.sha256(b"").hexdigest(), head=b"", end=b"")
    return {uri: found.get(uri, empty) for uri in uris}


def _groups(
    inputs: list[InputFile], options: IngestOptions, probes: dict[str, _Probe]
) -> tuple[dict[str, FileStats], list[FilePlan], list[_Group], dict[int, int]]:
    """Hash and plan every input as the local engine does (a remote one from its _Probe); group the files Spark
    reads together."""
    stats: dict[str, FileStats] = {}
    plans: list[FilePlan] = []
    footer_rows: dict[int, int] = {}
    grouped: dict[tuple, list[tuple[int, InputFile]]] = {}
    group_plans: dict[tuple, FilePlan] = {}
    for index, inp in enumerate(inputs):
        if inp.uri is None:
            st = file_stats(index, inp)
            parquet = open_parquet(inp, st.size)
        else:
            probe = probes[inp.uri]
            st = FileStats(index=index, rel=inp.rel, name=inp.name, size=probe.size, sha256=probe.sha256)
            parquet = checked_parquet(inp.rel, probe.size, probe.head, probe.end[-4:], FooterFile(probe.size, probe.end))
        stats[inp.rel] = st
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


def _union(frames: list):
    """The rows of every group's DataFrame together (their columns alike), or None for no group."""
    return reduce(lambda a, b: a.unionByName(b), frames) if frames else None


def _read_group(session, group: _Group, key: CaseKey, window: Window, epoch_unit: str):
    return map_frames(_raw_rows(session, group), _RowsOfGroup(group, key, window, epoch_unit), _output_schema())


def _raw_rows(session, group: _Group):
    from pyspark.sql import functions as F

    df = session.read.parquet(*[_glob_escaped(inp.spark_uri) for _, inp in group.files])
    return df.select("*", F.col("_metadata.file_path").alias("_path"), F.col("_metadata.row_index").alias("_row"))


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
    _write_records(frame, groups, stats_by_index, work, "spark")


def _write_records(frame: pl.DataFrame, groups: list[_Group], stats_by_index: dict[int, FileStats], work: Path,
                   prefix: str) -> None:
    """Quarantine parts from rows (_file, _row, _reason, _raw): `_raw` holds a group's columns in its order."""
    group_of = {index: g for g, group in enumerate(groups) for index, _ in group.files}
    frame = frame.with_columns(pl.col("_file").replace_strict(group_of, return_dtype=pl.Int32).alias("_group"))
    for (g,), part in frame.partition_by("_group", as_dict=True).items():
        columns = groups[g].columns
        raw_text = pl.DataFrame(
            [part["_raw"].list.get(i).alias(name) for i, name in enumerate(columns)],
            schema={name: pl.String for name in columns},
        )
        records = quarantine_records(part.select("_file", "_row", "_reason"), raw_text, stats_by_index)
        records.write_parquet(work / "quarantine" / f"{prefix}-{g:06d}.parquet", compression="lz4")


def _write_duplicates(session, losers, groups: list[_Group], stats_by_index: dict[int, FileStats], work: Path) -> None:
    """The duplicates' quarantine records, their raw values read back from the inputs by Spark (only rows at a
    losing row number are turned to text); the counts move from accepted to `duplicate_request_id`."""
    from pyspark.sql import functions as F

    rows = F.broadcast(losers.select("_row").distinct())
    raw = _union([
        map_frames(_raw_rows(session, group).join(rows, "_row", "left_semi"), _RawOfGroup(group), _output_schema(_RAW_POLARS))
        for group in groups
    ])
    frame = pl.from_arrow(raw.join(losers, ["_file", "_row"], "left_semi").toArrow())
    assert isinstance(frame, pl.DataFrame)
    frame = frame.with_columns(pl.lit("duplicate_request_id").alias("_reason")).sort("_file", "_row")
    for (index,), part in frame.partition_by("_file", as_dict=True).items():
        st = stats_by_index[index]
        st.valid -= part.height
        st.reasons["duplicate_request_id"] += part.height
    _write_records(frame.select("_file", "_row", "_reason", "_raw"), groups, stats_by_index, work, "spark-dup")


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
    stage: Path, work: Path, key: CaseKey, logs: list[str], inputs: list[InputFile], skipped: list[str],
    window: Window, options: IngestOptions, progress: Progress, session: SparkSession | None = None,
) -> RowPasses:
    """ingest's row-level passes on `session`, or on a session of `options.spark` for this run: CASE/events and
    the quarantine parts under `work`, as the local engine writes them. `inputs` and `skipped` are what the
    driver found of `logs` on its own file system; the remote arguments are listed here."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    task = progress.task("ingest (spark)", total=None)
    with spark_stage(options.spark, session) as session:
        remote, remote_skipped = _remote_inputs(session, remote_logs(logs))
        inputs = sorted_inputs(_unique(inputs + remote), logs)
        skipped = sorted(skipped + remote_skipped)
        stats, plans, groups, footer_rows = _groups(inputs, options, _probe_remote(session, remote))
        stats_by_index = {st.index: st for st in stats.values()}
        rows = _union([_read_group(session, group, key, window, options.epoch_unit) for group in groups])
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
            if not losers_df.isEmpty():
                _write_duplicates(session, losers_df, groups, stats_by_index, work)
            kept = valid.join(losers_df, ["_file", "_row"], "left_anti")
            _write_events(kept, stage, _EVENT_CHUNK_ROWS)
            norms = valid.select("_norm", "account_pseudonym").distinct()
            shared = norms.groupBy("_norm").count().filter(F.col("count") > 1).select("_norm")
            pairs = pl.from_arrow(norms.join(shared, "_norm", "left_semi").toArrow())
            assert isinstance(pairs, pl.DataFrame)
            lookalikes = lookalike_groups(pairs)
            task.advance(sum(st.rows for st in stats.values()))
        engine = engine_record(options.spark, session)
    return RowPasses(stats=stats, plans=plans, lookalikes=lookalikes, inputs=inputs, skipped=skipped, engine=engine)


def _unique(inputs: list[InputFile]) -> list[InputFile]:
    """One input per file, the first argument that named it winning (as locally)."""
    seen: dict[str, InputFile] = {}
    for inp in inputs:
        seen.setdefault(_input_key(inp), inp)
    return list(seen.values())
