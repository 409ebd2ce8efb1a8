"""The post-clustering row-level step: what the report needs from the events once the groups are known, written
as small tables in the case, so that `report` never reads the events.

- `timeline_daily.parquet`: per series and UTC day with requests: requests, distinct accounts, input and output
  tokens;
- `timeline_hourly.parquet`: per series and UTC hour of day with requests: requests.

A series is a flagged group's flagged accounts (`cluster-N`) or everyone else (`background`: unclustered
accounts, unflagged groups, and the weakly attached or left-out members of flagged groups).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from forensics.casefiles import (
    TIMELINE_BACKGROUND,
    TIMELINE_DAILY_FILE,
    TIMELINE_DAILY_SCHEMA,
    TIMELINE_HOURLY_FILE,
    TIMELINE_HOURLY_SCHEMA,
)
from forensics.codes import ACCOUNT



# The event columns `timelines` reads.
TIMELINE_COLUMNS = ("timestamp", ACCOUNT, "input_tokens", "output_tokens")


def series_of(assignment: pl.DataFrame) -> pl.DataFrame:
    """The flagged accounts (clusters.parquet's `flagged`) with their group's series name."""
    return (
        assignment.filter(pl.col("flagged"))
        .select(ACCOUNT, pl.format("cluster-{}", pl.col("cluster_id")).alias("series"))
        .sort(ACCOUNT)
    )


def timelines(events: pl.LazyFrame, assignment: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(daily, hourly) tables of the events by series, sorted by series then day or hour."""
    tagged = (
        events.select(*TIMELINE_COLUMNS)
        .join(series_of(assignment).lazy(), on=ACCOUNT, how="left")
        .with_columns(pl.col("series").fill_null(TIMELINE_BACKGROUND))
    )
    daily = (
        tagged.group_by("series", pl.col("timestamp").dt.date().alias("day"))
        .agg(
            pl.len().alias("requests"),
            pl.col(ACCOUNT).n_unique().alias("accounts"),
            pl.col("input_tokens").sum().alias("input_tokens"),
            pl.col("output_tokens").sum().alias("output_tokens"),
        )
        .collect(engine="streaming")
    )
    hourly = (
        tagged.group_by("series", pl.col("timestamp").dt.hour().alias("hour"))
        .agg(pl.len().alias("requests"))
        .collect(engine="streaming")
    )
    return _shaped(daily, hourly)


def _shaped(daily: pl.DataFrame, hourly: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The timeline tables in their case-file schemas, sorted by series then day or hour."""
    return (daily.cast(TIMELINE_DAILY_SCHEMA).select(list(TIMELINE_DAILY_SCHEMA)).sort("series", "day"),
            hourly.cast(TIMELINE_HOURLY_SCHEMA).select(list(TIMELINE_HOURLY_SCHEMA)).sort("series", "hour"))


def merge_timelines(daily: list[pl.DataFrame], hourly: list[pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One (daily, hourly) pair from the `timelines` of events split by account (each account's events in one part,
    so that the accounts of a day add up across parts)."""
    days = pl.concat(daily).group_by("series", "day").agg(pl.col("requests", "accounts", "input_tokens", "output_tokens").sum())
    hours = pl.concat(hourly).group_by("series", "hour").agg(pl.col("requests").sum())
    return _shaped(days, hours)


def read_timelines(case: Path) -> tuple[dict[str, dict[date, tuple[int, int, int, int]]], dict[str, list[int]]]:
    """series -> day -> (requests, accounts, input tokens, output tokens), and series -> requests per hour 0-23."""
    daily: dict[str, dict[date, tuple[int, int, int, int]]] = {}
    for row in pl.read_parquet(Path(case) / TIMELINE_DAILY_FILE).iter_rows(named=True):
        daily.setdefault(row["series"], {})[row["day"]] = (
            row["requests"], row["accounts"], row["input_tokens"], row["output_tokens"]
        )
    hourly: dict[str, list[int]] = {}
    for row in pl.read_parquet(Path(case) / TIMELINE_HOURLY_FILE).iter_rows(named=True):
        hourly.setdefault(row["series"], [0] * 24)[row["hour"]] = row["requests"]
    return daily, hourly
