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

from forensics.codes import ACCOUNT

BACKGROUND = "background"
DAILY_FILE = "timeline_daily.parquet"
HOURLY_FILE = "timeline_hourly.parquet"
DAILY_SCHEMA = {
    "series": pl.String(), "day": pl.Date(), "requests": pl.Int64(), "accounts": pl.Int64(), "input_tokens": pl.Int64(),
    "output_tokens": pl.Int64(),
}
HOURLY_SCHEMA = {"series": pl.String(), "hour": pl.Int8(), "requests": pl.Int64()}


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
        events.select("timestamp", ACCOUNT, "input_tokens", "output_tokens")
        .join(series_of(assignment).lazy(), on=ACCOUNT, how="left")
        .with_columns(pl.col("series").fill_null(BACKGROUND))
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
    return (daily.cast(DAILY_SCHEMA).select(list(DAILY_SCHEMA)).sort("series", "day"),
            hourly.cast(HOURLY_SCHEMA).select(list(HOURLY_SCHEMA)).sort("series", "hour"))


def read_timelines(case: Path) -> tuple[dict[str, dict[date, tuple[int, int, int, int]]], dict[str, list[int]]]:
    """series -> day -> (requests, accounts, input tokens, output tokens), and series -> requests per hour 0-23."""
    daily: dict[str, dict[date, tuple[int, int, int, int]]] = {}
    for row in pl.read_parquet(Path(case) / DAILY_FILE).iter_rows(named=True):
        daily.setdefault(row["series"], {})[row["day"]] = (
            row["requests"], row["accounts"], row["input_tokens"], row["output_tokens"]
        )
    hourly: dict[str, list[int]] = {}
    for row in pl.read_parquet(Path(case) / HOURLY_FILE).iter_rows(named=True):
        hourly.setdefault(row["series"], [0] * 24)[row["hour"]] = row["requests"]
    return daily, hourly
