"""Ingest's entry point: resolve the inputs and the key, run the row passes on an engine (forensics.engine), write
the events, the quarantine, the accounts and ingest.json into a staged case, and record custody.
"""

from __future__ import annotations

import shutil
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from forensics import __version__, jsonio
from forensics.casefiles import EVENT_ORDER, EVENT_SCHEMA, KEY_FILE_NAME, PARQUET_WRITE
from forensics.errors import CaseError, ForensicsWarning, InternalError, InvalidWindowError
from forensics.fsio import case_lock, staged_dir
from forensics.ingest.accounts import ingest_accounts
from forensics.ingest.discover import FileStats, InputFile, resolve_inputs
from forensics.ingest.parse import FilePlan, Window, iso, parse_window
from forensics.keys import CaseKey, generate_key_file, load_key
from forensics.progress import Progress, SilentProgress
from forensics.schema import ACCOUNT_COLUMNS, EPOCH_UNITS, OPTIONAL_COLUMNS, QUARANTINE_REASONS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from forensics.engine.spark import SparkTarget


@dataclass(frozen=True)
class IngestOptions:
    since: str | None = None
    until: str | None = None
    epoch_unit: str = "s"
    column_map: dict[str, str] = field(default_factory=dict)
    accounts: Path | None = None
    key_file: Path | None = None
    batch_rows: int = 250_000
    engine: str = "local"  # or "spark": the row-level passes on the Spark session `spark` targets
    spark: SparkTarget | None = None


@dataclass(frozen=True)
class IngestResult:
    summary: dict
    generated_key: Path | None


def write_events_day(frame: pl.LazyFrame, target: Path) -> None:
    """One day's events, sorted, as CASE/events/<day>.parquet (nothing when the day has none)."""
    frame = frame.sort(list(EVENT_ORDER)).select(list(EVENT_SCHEMA)).collect()
    if frame.height:
        frame.write_parquet(target, **PARQUET_WRITE)


def write_events(work: Path, losers: pl.DataFrame, case: Path) -> None:
    """One sorted events file per UTC day. Two days are written at a time: compressing a file is mostly
    single-threaded in polars and releases the GIL, so two cores finish in about half the time."""
    events_dir = case / "events"
    events_dir.mkdir()

    def write_day(day_dir: Path) -> None:
        day = pl.scan_parquet(sorted(day_dir.glob("*.parquet")))
        if not losers.is_empty():
            day = day.join(losers.lazy(), on=["_file", "_row"], how="anti")
        write_events_day(day, events_dir / f"{day_dir.name}.parquet")

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="ingest-events") as pool:
        for _ in pool.map(write_day, sorted((work / "valid").iterdir())):
            pass


def _write_quarantine(work: Path, case: Path) -> None:
    parts = sorted((work / "quarantine").glob("*.parquet"))
    meta = {"source_file": pl.String, "source_sha256": pl.String, "source_row": pl.Int64, "quarantine_reason": pl.String}
    if not parts:
        pl.DataFrame(schema=meta).write_parquet(case / "quarantine.parquet", **PARQUET_WRITE)
        return
    frame = pl.concat([pl.read_parquet(p) for p in parts], how="diagonal_relaxed")
    raw_columns = sorted(c for c in frame.columns if c not in meta)
    frame = frame.select([*meta, *raw_columns]).sort(["source_file", "source_sha256", "source_row"])
    frame.write_parquet(case / "quarantine.parquet", **PARQUET_WRITE)


def _resolve_key(options: IngestOptions, case: Path, stage: Path) -> tuple[CaseKey, Path | None]:
    if options.key_file is not None:
        return load_key(options.key_file), None
    existing = case / KEY_FILE_NAME
    if existing.is_file():
        key = load_key(existing)
        shutil.copy2(existing, stage / KEY_FILE_NAME)
        return key, None
    generated = generate_key_file(stage / KEY_FILE_NAME)
    return load_key(generated), case / KEY_FILE_NAME


def _check_case_target(case: Path) -> None:
    if case.exists() and not case.is_dir():
        raise CaseError(f"{case}: exists and is not a directory")
    if case.is_dir() and any(case.iterdir()) and not (case / "ingest.json").is_file():
        raise CaseError(f"{case}: directory is not empty and is not a forensics case; choose another --case")


def run_ingest(
    logs: list[str],
    case: Path,
    options: IngestOptions,
    progress: Progress = SilentProgress(),
    argv: list[str] | None = None,
    session: SparkSession | None = None,
) -> IngestResult:
    """Validate and pseudonymise the logs into the case directory; nothing changes there unless all succeeds.

    `argv` (the command line, from the CLI) goes into the custody log line this run appends. With
    `options.engine == "spark"`, `session` is a running session to use instead of one built from `options.spark`.
    """
    if options.epoch_unit not in EPOCH_UNITS:
        raise InvalidWindowError(f"--epoch-unit {options.epoch_unit!r}: expected one of s, ms, us")
    window = parse_window(options.since, options.until)
    inputs, skipped = resolve_inputs(logs, remote=options.engine == "spark")
    case = Path(case)
    _check_case_target(case)
    with case_lock(case), staged_dir(case, replace=True) as stage:
        key, generated = _resolve_key(options, case, stage)
        summary, rows = _ingest_into(stage, key, logs, inputs, skipped, window, options, progress, session)
        _record_custody(case, stage, logs, rows, options, summary, argv)
    return IngestResult(summary=summary, generated_key=generated)


def _record_custody(
    case: Path, stage: Path, logs: list[str], rows: RowPasses, options: IngestOptions, summary: dict,
    argv: list[str] | None,
) -> None:
    """Carry the replaced case's custody log over and append this run, inside the stage, so the log appears
    with the new case in one rename (a failed run adds no line and leaves the old log as it was).

    Input digests are the ones ingest computed while reading; outputs are hashed file by file.
    """
    from forensics import custody

    previous = custody.read_log(case)
    if previous:
        (stage / custody.CUSTODY_LOG).write_bytes(previous)
    digests = {record["path"]: record for record in summary["inputs"]}
    entries = [
        {"path": inp.label, "bytes": digests[inp.rel]["size"], "sha256": digests[inp.rel]["sha256"]}
        for inp in rows.inputs
    ]
    if options.accounts is not None and summary.get("accounts_input"):
        entries.append(custody.file_entry(str(options.accounts), options.accounts, summary["accounts_input"]["sha256"]))
    parameters = {
        **summary["parameters"],
        "logs": list(logs),
        "case": str(case),
        "accounts": str(options.accounts) if options.accounts else None,
        "key_file": str(options.key_file) if options.key_file else None,  # the path only, never its content
        **rows.engine,
    }
    record = custody.make_record(
        "ingest", argv=argv, parameters=parameters, inputs=entries,
        outputs=custody.tree_entries(stage, exclude=(custody.CUSTODY_LOG, KEY_FILE_NAME)),
        key_fingerprint=summary["key_fingerprint"],
    )
    custody.append(stage, record)


def _ingest_into(
    stage: Path, key: CaseKey, logs: list[str], inputs: list[InputFile], skipped: list[str], window: Window,
    options: IngestOptions, progress: Progress, session: SparkSession | None = None,
) -> tuple[dict, RowPasses]:
    """The case files, ingest.json's summary and what the row passes left: every input read (the Spark engine
    adds the remote ones) and the engine's description."""
    work = stage / "_work"
    (work / "quarantine").mkdir(parents=True)
    (work / "valid").mkdir()
    if options.engine == "spark":
        from forensics.engine.spark_ingest import ingest_rows_on_spark

        rows = ingest_rows_on_spark(stage, work, key, logs, inputs, skipped, window, options, progress, session)
    else:
        from forensics.engine.local import ingest_rows_locally

        rows = ingest_rows_locally(stage, work, key, inputs, window, options, progress)
        rows = replace(rows, inputs=inputs, skipped=skipped)
    _write_quarantine(work, stage)
    accounts_input = ingest_accounts(options.accounts, key, stage) if options.accounts else None
    shutil.rmtree(work)
    summary = _summary(stage, rows.inputs, rows.stats, rows.plans, rows.skipped, window, options, key, accounts_input)
    lookalikes = rows.lookalikes
    summary["account_id_lookalikes"] = {"groups": len(lookalikes), "pseudonyms": lookalikes[:100]}
    if lookalikes:
        warnings.warn(
            f"{len(lookalikes)} groups of account IDs differ only by Unicode normalisation or surrounding "
            "whitespace; they are kept as separate accounts (see ingest.json: account_id_lookalikes)",
            ForensicsWarning,
            stacklevel=3,
        )
    jsonio.write(stage / "ingest.json", summary)
    return summary, rows


@dataclass(frozen=True)
class RowPasses:
    """What an engine's row-level passes leave besides the files they wrote (CASE/events/*.parquet and the
    quarantine parts under the work directory)."""

    stats: dict[str, FileStats]  # by InputFile.rel
    plans: list[FilePlan]
    lookalikes: list[list[str]]
    inputs: list[InputFile] = field(default_factory=list)  # every input read, in index order
    skipped: list[str] = field(default_factory=list)  # the non-Parquet files found
    engine: dict = field(default_factory=lambda: {"engine": "local"})  # the custody record's description of it


def _summary(
    case: Path,
    inputs: list[InputFile],
    stats: dict[str, FileStats],
    plans: list[FilePlan],
    skipped: list[str],
    window: Window,
    options: IngestOptions,
    key: CaseKey,
    accounts_input: dict | None,
) -> dict:
    reasons: Counter = Counter()
    records = []
    for inp in inputs:
        st = stats[inp.rel]
        reasons.update(st.reasons)
        quarantined = sum(st.reasons.values())
        if st.rows != st.valid + quarantined:
            raise InternalError(f"row accounting broke for {inp.rel}")  # a bug, never bad input
        records.append(
            {
                "path": st.rel, "name": st.name, "size": st.size, "sha256": st.sha256, "rows": st.rows,
                "rows_accepted": st.valid, "rows_quarantined": quarantined,
                "quarantine_reasons": {r: st.reasons[r] for r in QUARANTINE_REASONS if st.reasons[r]},
            }
        )
    events = sorted((case / "events").glob("*.parquet"))
    totals = {"accounts": 0, "requests": 0, "input_tokens": 0, "output_tokens": 0, "first": None, "last": None}
    if events:
        row = (
            pl.scan_parquet(events)
            .select(
                pl.col("account_pseudonym").n_unique().alias("accounts"),
                pl.len().alias("requests"),
                pl.col("input_tokens").sum().alias("input_tokens"),
                pl.col("output_tokens").sum().alias("output_tokens"),
                pl.col("timestamp").min().alias("first"),
                pl.col("timestamp").max().alias("last"),
            )
            .collect(engine="streaming")
            .row(0, named=True)
        )
        totals.update(row)
    present = sorted({c for plan in plans for c in plan.sources})
    columns_with_values = _columns_with_values(events)
    unavailable = sorted(c for c in OPTIONAL_COLUMNS if c not in present or c not in columns_with_values)
    if accounts_input is None:
        unavailable.append("accounts_table")
    else:
        unavailable += sorted(f"accounts.{c}" for c in ACCOUNT_COLUMNS[1:] if c not in accounts_input["columns_present"])
    rows_read = sum(s.rows for s in stats.values())
    rows_accepted = sum(s.valid for s in stats.values())
    return {
        "tool_version": __version__,
        "engine": options.engine,
        "key_fingerprint": key.fingerprint,
        "parameters": {
            "since": iso(window.since),
            "until": iso(window.until),
            "epoch_unit": options.epoch_unit,
            "column_map": dict(sorted(options.column_map.items())),
            "accounts_file": Path(options.accounts).name if options.accounts else None,
        },
        "window": {**window.as_json(), "first_seen": iso(totals["first"]), "last_seen": iso(totals["last"])},
        "rows_read": rows_read,
        "rows_accepted": rows_accepted,
        "rows_quarantined": rows_read - rows_accepted,
        "quarantine_reasons": {r: reasons[r] for r in QUARANTINE_REASONS if reasons[r]},
        "inputs": sorted(records, key=lambda r: (r["path"], r["sha256"])),
        "skipped_files": skipped,
        "accounts_input": accounts_input,
        "columns_present": present,
        "ignored_columns": sorted({c for plan in plans for c in plan.ignored}),
        "signals_unavailable": unavailable,
        "accounts": totals["accounts"],
        "requests": totals["requests"],
        "input_tokens": totals["input_tokens"] or 0,
        "output_tokens": totals["output_tokens"] or 0,
    }


# Which event column carries each optional log column; an all-null one is reported as unavailable.
_SIGNAL_SOURCES = {
    "ip": "ip_pseudonym",
    "asn": "asn",
    "country": "country",
    "user_agent": "user_agent_fingerprint",
    "model": "model",
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "prompt": "prompt_fingerprint",
    "system_prompt": "system_prompt_fingerprint",
}


def _columns_with_values(events: list[Path]) -> set[str]:
    if not events:
        return set()
    counts = (
        pl.scan_parquet(events)
        .select([pl.col(c).is_not_null().any().alias(name) for name, c in _SIGNAL_SOURCES.items()])
        .collect(engine="streaming")
        .row(0, named=True)
    )
    return {name for name, has in counts.items() if has}
