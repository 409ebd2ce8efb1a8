"""The local engine's runner of ingest's row passes: files streamed in record batches, classified, and their valid
rows derived and staged by UTC day on helper threads; then duplicates and the sorted events files.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from forensics.casefiles import EVENT_SCHEMA
from forensics.codes import account_codes
from forensics.detect.behaviour import behaviour_cells
from forensics.detect.coaction import CoactionResult, coaction_edges
from forensics.detect.facts import event_facts_many
from forensics.detect.features import collect_features, scan_events
from forensics.detect.timelines import timelines
from forensics.errors import CorruptInputError
from forensics.ingest.accounts import account_lookalikes
from forensics.ingest.dedupe import find_duplicates, quarantine_duplicates
from forensics.ingest.discover import FileStats, InputFile, file_stats, open_parquet, short_error, with_partitions
from forensics.ingest.parse import FilePlan, Window, check_epoch_unit, epoch_counts, plan_file, timestamp_units
from forensics.ingest.pseudonymise import MinHasher, derive_event_columns
from forensics.ingest.run import IngestOptions, RowPasses, write_events
from forensics.ingest.validate import CLASSIFY_ONLY, IpCache, classify_frame, quarantine_rows
from forensics.keys import CaseKey
from forensics.progress import Progress


# Batches whose event columns are derived at once, each on its own thread.
_DERIVERS = 2


@dataclass
class _Context:
    key: CaseKey
    window: Window
    epoch_unit: str
    ip_cache: IpCache
    account_ids: pl.Series  # every distinct raw account ID of the accepted rows: the input of account_lookalikes
    minhasher: MinHasher
    work: Path
    batch_rows: int
    file_stats: dict[int, FileStats] = field(default_factory=dict)
    raw: list[pl.DataFrame] = field(default_factory=list)
    raw_rows: int = 0
    raw_plan: FilePlan | None = None
    raw_signature: tuple = ()
    quarantine_parts: int = 0
    pending: list[pl.DataFrame] = field(default_factory=list)
    pending_rows: int = 0
    flushes: int = 0
    helpers: dict[str, ThreadPoolExecutor] = field(default_factory=dict)
    deriving: list[Future] = field(default_factory=list)  # the batches on the "derive" helper threads, oldest first
    staging: Future | None = None  # the batch on the "stage" helper thread
    stage_lock: threading.Lock = field(default_factory=threading.Lock)

    def helper(self, name: str, workers: int = 1) -> ThreadPoolExecutor:
        if name not in self.helpers:
            self.helpers[name] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"ingest-{name}")
        return self.helpers[name]

    def close_helpers(self) -> None:
        """Wait for the helper threads and stop them; on error too: nothing may write into a removed stage."""
        for name in ("derive", "stage"):  # the derive helper hands batches to the stage helper
            if name in self.helpers:
                self.helpers.pop(name).shutdown(wait=True)


def add_raw_batch(ctx: _Context, inp: InputFile, stats: FileStats, plan: FilePlan, batch: pl.DataFrame, offset: int) -> None:
    """Buffer a record batch; batches of files with the same schema are classified together."""
    batch = with_partitions(batch, inp)
    if plan.kinds["timestamp"] == "int":
        stats.epoch.update(epoch_counts(batch.select(timestamp_units(plan.sources["timestamp"])).to_series()))
    stats.rows += batch.height
    batch = batch.with_columns(
        pl.lit(stats.index, dtype=pl.Int32).alias("_file"),
        pl.int_range(offset, offset + batch.height, dtype=pl.Int64).alias("_row"),
    )
    signature = (tuple(batch.schema.items()), tuple(plan.sources.items()), tuple(plan.kinds.items()))
    if ctx.raw and ctx.raw_signature != signature:
        classify_raw(ctx)
    ctx.raw.append(batch)
    ctx.raw_plan, ctx.raw_signature = plan, signature
    ctx.raw_rows += batch.height
    if ctx.raw_rows >= ctx.batch_rows:
        classify_raw(ctx)


def classify_raw(ctx: _Context) -> None:
    """Give every buffered row a quarantine reason or none; quarantine the former, buffer the latter."""
    if not ctx.raw:
        return
    batch = pl.concat(ctx.raw, how="vertical")
    plan = ctx.raw_plan
    ctx.raw, ctx.raw_rows = [], 0
    frame = classify_frame(batch, plan, ctx.window, ctx.epoch_unit, ctx.ip_cache)
    rejected = frame.filter(pl.col("_reason").is_not_null()).select("_file", "_row", "_reason")
    if rejected.height:
        for index, why, count in rejected.group_by("_file", "_reason").len().iter_rows():
            ctx.file_stats[index].reasons[why] += count
        ctx.quarantine_parts += 1
        quarantine_rows(batch, rejected, ctx.file_stats).write_parquet(
            ctx.work / "quarantine" / f"{ctx.quarantine_parts:06d}.parquet", compression="lz4"
        )
    valid = frame.filter(pl.col("_reason").is_null())
    for index, count in valid.group_by("_file").len().iter_rows():
        ctx.file_stats[index].valid += count
    if valid.is_empty():
        return
    ctx.pending.append(valid.drop(*CLASSIFY_ONLY))
    ctx.pending_rows += valid.height
    if ctx.pending_rows >= ctx.batch_rows:
        flush_pending(ctx)


def flush_pending(ctx: _Context, *, wait: bool = False) -> None:
    """Derive event columns for the buffered valid rows and stage them by UTC day.

    Buffering across files keeps the fixed cost of a derivation pass per batch, not per file, so ten
    thousand tiny files cost about as much as one file with the same rows. The threads form a pipeline
    (all mostly polars and numpy, which release the GIL): this one reads and classifies the next batch while
    _DERIVERS helpers derive the event columns of the batches before it and another writes the batch before
    those to the staging files. Staged files are named by batch number, so the order in which the helpers
    finish changes nothing. An error in a helper is raised here, at the next flush or at the last one.
    """
    if ctx.pending:
        frame = pl.concat(ctx.pending, how="vertical_relaxed")
        ctx.pending.clear()
        ctx.pending_rows = 0
        ctx.flushes += 1
        ctx.account_ids = pl.concat([ctx.account_ids, frame["_account"].unique()]).unique()
        while len(ctx.deriving) >= _DERIVERS:
            ctx.deriving.pop(0).result()
        ctx.deriving.append(ctx.helper("derive", _DERIVERS).submit(_derive_then_stage, frame, ctx.flushes, ctx))
    if wait:
        while ctx.deriving:
            ctx.deriving.pop(0).result()
        _await(ctx, "staging")


def _await(ctx: _Context, stage: str) -> None:
    future = getattr(ctx, stage)
    if future is not None:
        setattr(ctx, stage, None)
        future.result()


def _derive_then_stage(frame: pl.DataFrame, number: int, ctx: _Context) -> None:
    valid = derive_event_columns(frame, ctx.key, ctx.minhasher)
    with ctx.stage_lock:
        _await(ctx, "staging")
        ctx.staging = ctx.helper("stage").submit(_stage_days, valid, number, ctx.work)


def _stage_days(valid: pl.DataFrame, number: int, work: Path) -> None:
    valid = valid.with_columns(pl.col("timestamp").dt.date().alias("_day"))  # the UTC day
    for (day,), part in valid.partition_by("_day", as_dict=True, include_key=False).items():
        target = work / "valid" / day.isoformat()
        target.mkdir(parents=True, exist_ok=True)
        # Temporary files, read back twice. zstd at level 1 halves what uncompressed Parquet writes, and writing costs
        # more than compressing: on the 2-core VM this project is measured on, a GB written takes 5-6 s of system time.
        part.select([*EVENT_SCHEMA, "_file", "_row"]).write_parquet(
            target / f"{number:06d}.parquet", compression="zstd", compression_level=1, statistics=False
        )


def _stream_file(inp: InputFile, stats: FileStats, ctx: _Context, options: IngestOptions, task) -> FilePlan:
    parquet = open_parquet(inp, stats.size)
    plan = plan_file(inp, parquet.schema_arrow, options.column_map)
    offset = 0
    try:
        for record_batch in parquet.iter_batches(batch_size=options.batch_rows, use_threads=False):
            batch = pl.from_arrow(record_batch)
            assert isinstance(batch, pl.DataFrame)
            add_raw_batch(ctx, inp, stats, plan, batch, offset)
            offset += batch.height
            task.advance(batch.height)
    except (pa.ArrowException, OSError) as exc:
        raise CorruptInputError(f"{inp.rel}: corrupt Parquet data ({short_error(exc)})") from None
    except pl.exceptions.ComputeError as exc:
        raise CorruptInputError(f"{inp.rel}: unreadable Parquet data ({short_error(exc)})") from None
    if offset != parquet.metadata.num_rows:
        raise CorruptInputError(f"{inp.rel}: read {offset} rows but the footer declares {parquet.metadata.num_rows}")
    if plan.kinds["timestamp"] == "int":
        check_epoch_unit(inp.rel, plan.sources["timestamp"], stats.epoch, options.epoch_unit)
    return plan


def ingest_rows_locally(
    stage: Path, work: Path, key: CaseKey, inputs: list[InputFile], window: Window, options: IngestOptions,
    progress: Progress,
) -> RowPasses:
    ctx = _Context(
        key=key, window=window, epoch_unit=options.epoch_unit, ip_cache=IpCache(key),
        account_ids=pl.Series("_account", [], dtype=pl.String),
        minhasher=MinHasher.from_key(key), work=work, batch_rows=options.batch_rows,
    )
    stats: dict[str, FileStats] = {}
    plans: list[FilePlan] = []
    task = progress.task("ingest", total=None)
    try:
        for index, inp in enumerate(inputs):
            st = file_stats(index, inp)
            stats[inp.rel] = st
            ctx.file_stats[index] = st
            plans.append(_stream_file(inp, st, ctx, options, task))
        classify_raw(ctx)
        flush_pending(ctx, wait=True)
    finally:
        ctx.close_helpers()
    losers = find_duplicates(work, ctx.file_stats)
    if not losers.is_empty():
        quarantine_duplicates(losers, inputs, stats, work, options.batch_rows)
    write_events(work, losers, stage)
    return RowPasses(stats=stats, plans=plans, lookalikes=account_lookalikes(ctx.account_ids, key))


# ---------------------------------------------------------------------------------------------- cluster


def event_batches(case: Path, rows_per_batch: int = 1 << 20) -> list[pl.LazyFrame]:
    """The case's event files in batches of whole files of about `rows_per_batch` rows (from the Parquet footers)."""
    files = sorted((Path(case) / "events").glob("*.parquet"))
    batches, current, rows = [], [], 0
    for path in files:
        n = pq.ParquetFile(path).metadata.num_rows
        if current and rows + n > rows_per_batch:
            batches.append(current)
            current, rows = [], 0
        current.append(path)
        rows += n
    if current:
        batches.append(current)
    return [pl.scan_parquet(batch) for batch in batches]


class LocalEvents:
    """cluster's row-level passes over a case's events in this process, as polars queries over the event files
    (see `forensics.detect.run.EventRows`)."""

    engine = {"engine": "local"}

    def __init__(self, case: Path) -> None:
        self.case = Path(case)
        self.events = scan_events(self.case)

    def account_codes(self) -> pl.DataFrame:
        return account_codes(self.events)

    def features(self, accounts: pl.LazyFrame | None, codes: pl.DataFrame) -> pl.DataFrame:
        return collect_features(self.events, accounts, codes)

    def coaction(self, *, window_s: int, min_count: int, max_accounts: int) -> CoactionResult:
        # ingest quarantined every repeated request ID: each event is one request
        return coaction_edges(self.events, window_s=window_s, min_count=min_count, max_accounts=max_accounts, id_col=None)

    @cached_property
    def _batches(self) -> list[pl.LazyFrame]:
        return event_batches(self.case)

    def facts(self, kinds: Sequence[str], codes: pl.DataFrame, slot_s: int) -> dict[str, pl.DataFrame]:
        return event_facts_many(kinds, self._batches, codes, slot_s=slot_s)

    def behaviour_cells(self, codes: pl.DataFrame) -> pl.DataFrame:
        return behaviour_cells(self.events, codes)

    def timelines(self, assignment: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        return timelines(self.events, assignment)
