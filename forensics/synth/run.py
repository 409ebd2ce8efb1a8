"""The entry point: `generate` builds the population and writes the logs one chunk of days at a time, the
account table and the labels, into a staged directory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl

from forensics.errors import BadInputError
from forensics.fsio import replace_file_atomic, staged_dir
from forensics.progress import Progress, SilentProgress
from forensics.synth.days import campaign_day, classroom_day, eval_org_day, finish_chunk, harness_day, human_day
from forensics.synth.families import (
    CHUNK_DAYS,
    DAYS,
    LABELS,
    PARQUET,
    SCALES,
    SCENARIOS,
    WINDOW_END,
    WINDOW_START,
    selected_families,
)
from forensics.synth.helpers import pick_text
from forensics.synth.population import Population, build_population


def _write_days(df: pl.DataFrame, stage: Path, task) -> int:
    """One Parquet file per UTC day of the chunk; returns how many were written."""
    written = 0
    for (day,), part in df.partition_by("day", as_dict=True, maintain_order=True).items():
        part.drop("day").write_parquet(stage / f"part-{day:05d}.parquet", **PARQUET)
        written += 1
        task.advance(1)
    return written


def _day_frames(pop: Population, day: int, seed: int) -> list[pl.DataFrame]:
    frames = [human_day(pop, H, day, seed) for H in pop.humans]
    if pop.harness is not None:
        frames.append(harness_day(pop, day, seed))
    if pop.eval_org is not None:
        frames.append(eval_org_day(pop, day, seed))
    if pop.classroom is not None:
        frames.append(classroom_day(pop, day, seed))
    frames += [campaign_day(pop, c, day, seed) for c in pop.campaigns]
    return [f for f in frames if f is not None]


def generate(
    out: Path,
    scale: str = "tiny",
    seed: int = 1,
    progress: Progress | None = None,
    *,
    stealth: float = 0.5,
    scenario: str = "default",
    families: Sequence[str] = ("all",),
) -> dict:
    """Write OUT/logs/part-NNNNN.parquet (one per UTC day), OUT/accounts.parquet and OUT/labels.parquet.

    `families` selects campaign and hard-negative families (FAMILIES; "all" means every one of them); the
    benign background is always there, and a campaign family brings the benign customers of its own
    infrastructure (COMPANIONS). Other files in OUT (a README, a key) are left alone; logs/ is replaced as a whole.
    """
    if scale not in SCALES:
        raise BadInputError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    if scenario not in SCENARIOS:
        raise BadInputError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    if not (0.0 <= stealth <= 1.0) or math.isnan(stealth):
        raise BadInputError(f"stealth must be between 0 and 1, got {stealth}")
    if seed < 0:
        raise BadInputError(f"seed must be non-negative, got {seed}")
    selected = selected_families(families)
    progress = progress or SilentProgress()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pop = build_population(seed, SCALES[scale], SCENARIOS[scenario], stealth, selected)

    rows = 0
    files = 0
    active = np.zeros(pop.n, dtype=bool)
    chunk = CHUNK_DAYS[scale]
    task = progress.task(f"synth {scale}: days", DAYS)
    # Writing a day's Parquet (compression, mostly outside the GIL) overlaps with generating the next chunk.
    with staged_dir(out / "logs", replace=True) as stage, ThreadPoolExecutor(max_workers=1) as writer:
        pending: Future | None = None
        for first_day in range(0, DAYS, chunk):
            frames: list[pl.DataFrame] = []
            for day in range(first_day, min(DAYS, first_day + chunk)):
                frames += _day_frames(pop, day, seed)
            if not frames:
                task.advance(chunk)
                continue
            df, acct = finish_chunk(pop, frames, rows, seed)
            del frames
            active[acct] = True
            rows += df.height
            if pending is not None:
                files += pending.result()
            pending = writer.submit(_write_days, df, stage, task)
            del df
        if pending is not None:
            files += pending.result()

    labels = pl.DataFrame(
        {
            "account_id": pop.account_id,
            "label": pick_text(tuple(LABELS[g] for g in pop.groups), pop.group),
            "group": pick_text(tuple(pop.groups), pop.group),
        }
    ).sort("account_id")
    accounts = pop.accounts.sort("account_id")
    with replace_file_atomic(out / "accounts.parquet") as tmp:
        accounts.write_parquet(tmp, **PARQUET)
    with replace_file_atomic(out / "labels.parquet") as tmp:
        labels.write_parquet(tmp, **PARQUET)

    per_label = labels.group_by("label").len().sort("label")
    per_group = labels.group_by("group").len().sort("group")
    return {
        "rows": rows,
        "accounts": pop.n,
        "accounts_active": int(active.sum()),
        "files": files,
        "labels": dict(zip(per_label["label"].to_list(), per_label["len"].to_list())),
        "groups": dict(zip(per_group["group"].to_list(), per_group["len"].to_list())),
        "families": list(selected),
        "window": {"since": WINDOW_START.isoformat().replace("+00:00", "Z"),
                   "until": WINDOW_END.isoformat().replace("+00:00", "Z")},
        "scale": scale,
        "seed": seed,
        "stealth": stealth,
        "scenario": scenario,
    }
