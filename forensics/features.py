"""Per-account features: one polars lazy query over the events (row-level work), one row per account out.

Everything here is a plain polars lazy query over `events/*.parquet` and `accounts.parquet`, so the same
logic can later run on a distributed engine; only the per-account result is collected.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl

from forensics.codes import ACCOUNT, account_codes, collect_coded

HOURS = list(range(24))
# A model first seen this long after the case starts counts as "newly released" within the case.
NEW_MODEL_MIN_DELAY = pl.duration(days=1)
# An account that starts using a new model within this many hours of its release "switched fast".
FAST_SWITCH_HOURS = 48.0


def scan_events(case: Path) -> pl.LazyFrame:
    """All accepted events of a case, lazily."""
    return pl.scan_parquet(Path(case) / "events" / "*.parquet")


def scan_accounts(case: Path) -> pl.LazyFrame | None:
    path = Path(case) / "accounts.parquet"
    return pl.scan_parquet(path) if path.exists() else None


def _hour_profile(df: pl.DataFrame) -> pl.DataFrame:
    """Turn integer hour counts into shares and add `hour_entropy` (bits).

    entropy = log2(N) - sum(c * log2 c) / N over the 24 integer counts c of N requests, with c * log2 c taken
    from a table built with Python's math.log2 and summed in fixed column order: the same counts give the
    same bits whatever engine, chunking or SIMD path would otherwise evaluate the logarithms.
    """
    cols = [f"hour_{h:02d}" for h in HOURS]
    if df.height == 0:
        return df.with_columns(*[pl.col(c).cast(pl.Float64) for c in cols], pl.lit(None, dtype=pl.Float64).alias("hour_entropy"))
    counts = df.select(cols).to_numpy().astype(np.int64)
    table = np.array([0.0] + [c * math.log2(c) for c in range(1, int(counts.max()) + 1)])
    n = counts.sum(axis=1)
    plogp = np.zeros(len(n))
    for j in range(len(cols)):
        plogp = plogp + table[counts[:, j]]
    log_n = np.array([math.log2(int(v)) if v > 0 else 0.0 for v in n])
    entropy = np.where(n > 0, log_n - plogp / np.maximum(n, 1), 0.0)
    total = pl.col("requests").cast(pl.Float64)
    return df.with_columns(*[(pl.col(c) / total).alias(c) for c in cols], pl.Series("hour_entropy", entropy).clip(0.0))


# Means and deviations from exact integer sums: a float sum's value would depend on how the engine splits
# the rows between threads, and the outputs must be byte-identical whatever the thread count.
def _mean(x: pl.Expr) -> pl.Expr:
    return x.cast(pl.Int64).sum() / x.count()


def _std(x: pl.Expr) -> pl.Expr:
    x = x.cast(pl.Int64)
    n, s1, s2 = x.count(), x.sum(), (x * x).sum()
    var = (s2 - s1.cast(pl.Float64) * s1.cast(pl.Float64) / n) / (n - 1)
    return pl.when(n >= 2).then(var.clip(lower_bound=0.0).sqrt()).otherwise(None)


def _cv(x: pl.Expr) -> pl.Expr:
    """Coefficient of variation of integer gaps (seconds): std / mean."""
    return pl.when(x.count() >= 2).then(_std(x) / _mean(x)).otherwise(None)


# Every aggregation runs in memory on compact columns keyed by an integer account code, one projected pass
# over the events per group of columns: the streaming engine's group_by keeps per-account state under
# string keys and took ~9 GB and 85 s at the seed scale for what these passes do in a fraction of it.
# Distinct counts of fingerprints are taken over their 64-bit hashes (a collision among one account's
# values is below 1e-7 even for a million distinct prompts).
_DISTINCT_PASSES: tuple[tuple[tuple[str, str], ...], ...] = (
    (("prompt_fingerprint", "distinct_prompts"),),
    (("prompt_template_fingerprint", "distinct_templates"), ("system_prompt_fingerprint", "distinct_system_prompts")),
    (("ip_pseudonym", "distinct_ips"), ("net_pseudonym", "distinct_nets"), ("user_agent_fingerprint", "distinct_user_agents")),
)
_COLUMNS = (
    ACCOUNT, "requests", "active_days", "first_seen", "last_seen", "interarrival_median_s", "interarrival_cv",
    *[f"hour_{h:02d}" for h in HOURS],
    "input_tokens_mean", "input_tokens_std", "input_tokens", "output_tokens_mean", "output_tokens_std",
    "output_tokens", "distinct_prompts", "distinct_templates", "prompt_chars_mean", "reasoning_share",
    "distinct_system_prompts", "distinct_models", "distinct_ips", "distinct_nets", "distinct_asns",
    "distinct_countries", "distinct_user_agents",
)


def _timing(rows: pl.DataFrame) -> pl.DataFrame:
    """From (code, timestamp): volume, active days, gaps and hour-of-day counts.

    One stable sort by (code, time) makes every gap and new day a comparison with the previous row; per-group
    sorts inside a group_by cost several times more at the seed scale.
    """
    ts = pl.col("timestamp")
    rows = rows.sort("timestamp").sort("code", maintain_order=True)
    same = pl.col("code") == pl.col("code").shift()
    # Gaps as Duration (same truncation to whole ms and s as before), null at each account's first request.
    gap = pl.when(same).then(ts - ts.shift())
    day = ts.dt.date()
    marked = rows.select(
        "code",
        "timestamp",
        gap.dt.total_milliseconds().alias("_gap_ms"),
        (~same | (day != day.shift())).fill_null(True).alias("_new_day"),
    )
    out = marked.group_by("code", maintain_order=True).agg(
        pl.len().alias("requests"),
        pl.col("_new_day").sum().cast(pl.UInt32).alias("active_days"),
        ts.first().alias("first_seen"),
        ts.last().alias("last_seen"),
        pl.col("_gap_ms").drop_nulls().median().truediv(1000.0).alias("interarrival_median_s"),
        _cv((pl.col("_gap_ms") // 1000).drop_nulls()).alias("interarrival_cv"),  # whole seconds, as total_seconds()
    )
    del marked
    hours = (
        rows.group_by("code", ts.dt.hour().alias("_hour"))
        .agg(pl.len().cast(pl.Int64).alias("_n"))
        .pivot(on="_hour", index="code", values="_n")
    )
    names = {str(h): f"hour_{h:02d}" for h in HOURS}
    hours = hours.rename({c: names[c] for c in hours.columns if c in names})
    hours = hours.with_columns(*[pl.lit(0, dtype=pl.Int64).alias(n) for n in names.values() if n not in hours.columns])
    return out.join(hours.with_columns(pl.exclude("code").fill_null(0)), on="code", how="left")


def _volumes(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.group_by("code").agg(
        _mean(pl.col("input_tokens")).alias("input_tokens_mean"),
        _std(pl.col("input_tokens")).alias("input_tokens_std"),
        pl.col("input_tokens").sum().alias("input_tokens"),
        _mean(pl.col("output_tokens")).alias("output_tokens_mean"),
        _std(pl.col("output_tokens")).alias("output_tokens_std"),
        pl.col("output_tokens").sum().alias("output_tokens"),
        _mean(pl.col("prompt_chars")).alias("prompt_chars_mean"),
        _mean(pl.col("prompt_reasoning").cast(pl.Int64)).alias("reasoning_share"),
    )


def _models(rows: pl.DataFrame, case_start) -> pl.DataFrame:
    """From (code, model, timestamp): distinct models, the top model and its share, the lag to new models."""
    ts = pl.col("timestamp")
    use = (
        rows.filter(pl.col("model").is_not_null())
        .group_by("code", "model")
        .agg(pl.len().alias("_n"), ts.min().alias("_first_use"))
        .with_columns(pl.col("model").cast(pl.String))
    )
    release = use.group_by("model").agg(pl.col("_first_use").min().alias("_release"))
    new_models = release.filter(pl.col("_release") >= pl.lit(case_start) + NEW_MODEL_MIN_DELAY)
    lag = (
        use.join(new_models, on="model", how="inner")
        .with_columns(((pl.col("_first_use") - pl.col("_release")).dt.total_seconds() / 3600.0).alias("_lag"))
        .group_by("code")
        .agg(pl.col("_lag").min().alias("new_model_lag_h"))
    )
    top = use.sort("code", "_n", "model", descending=[False, True, False]).group_by("code", maintain_order=True).agg(
        pl.len().cast(pl.UInt32).alias("distinct_models"),
        pl.col("model").first().alias("top_model"),
        (pl.col("_n").max() / pl.col("_n").sum()).cast(pl.Float64).alias("top_model_share"),
    )
    return top.join(lag, on="code", how="left")


def _places(rows: pl.DataFrame, billing: pl.DataFrame | None) -> pl.DataFrame:
    """From (code, country, asn): distinct countries and ASNs, and the share of requests outside the billing country."""
    per_country = rows.filter(pl.col("country").is_not_null()).group_by("code", "country").agg(pl.len().alias("_n"))
    out = per_country.group_by("code").agg(pl.len().cast(pl.UInt32).alias("distinct_countries"))
    asns = rows.filter(pl.col("asn").is_not_null()).group_by("code").agg(pl.col("asn").n_unique().alias("distinct_asns"))
    out = out.join(asns, on="code", how="full", coalesce=True)
    if billing is not None:
        mismatch = (
            per_country.join(billing, on="code", how="inner")
            .with_columns(pl.col("country").cast(pl.String))
            .group_by("code")
            .agg(
                (pl.col("_n").filter(pl.col("country") != pl.col("billing_country")).sum().cast(pl.Int64) / pl.col("_n").sum())
                .alias("country_mismatch_share")
            )
        )
        out = out.join(mismatch, on="code", how="full", coalesce=True)
    return out


def collect_features(
    events: pl.LazyFrame, accounts: pl.LazyFrame | None = None, codes: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One row per account that sent requests, sorted by pseudonym. `codes` (from `account_codes` over
    `events`) is computed here when not given.

    Columns: volume (`requests`, `active_days`, `first_seen`, `last_seen`), timing (`interarrival_median_s`,
    `interarrival_cv`: coefficient of variation of gaps, near 0 for scripted clocks), `hour_00`..`hour_23`
    shares and `hour_entropy` (bits, 0..4.58), tokens, prompt diversity, `reasoning_share`, model mix and
    `new_model_lag_h` (hours from a model's first appearance in the case to this account's first use of it,
    for models that appeared after the first day), network diversity, `country_mismatch_share` and, with
    an account table, `created_at`, `signup_hour`, `account_age_at_first_request_h`.
    """
    if codes is None:
        codes = account_codes(events)
    ts = pl.col("timestamp")
    out = _timing(collect_coded(events, codes, ts))
    case_start = out["first_seen"].min()
    out = out.join(_volumes(collect_coded(events, codes, pl.col("input_tokens"), pl.col("output_tokens"),
                                          pl.col("prompt_chars"), pl.col("prompt_reasoning"))), on="code", how="left")
    for group in _DISTINCT_PASSES:
        hashed = [pl.when(pl.col(c).is_not_null()).then(pl.col(c).hash(seed=0)).alias(name) for c, name in group]
        counts = collect_coded(events, codes, *hashed).group_by("code").agg(*[pl.col(name).drop_nulls().n_unique() for _, name in group])
        out = out.join(counts, on="code", how="left")
    models = _models(collect_coded(events, codes, pl.col("model").cast(pl.String).cast(pl.Categorical()), ts), case_start)
    acc = None
    billing = None
    if accounts is not None:
        acc = (
            accounts.select(ACCOUNT, "created_at", "billing_country", "payment_pseudonym", "org_pseudonym")
            .unique(subset=[ACCOUNT], keep="first")
            .collect()
        )
        billing = (
            acc.select(ACCOUNT, "billing_country").drop_nulls()
            .join(codes, on=ACCOUNT, how="inner").select("code", "billing_country")
        )
    places = _places(collect_coded(events, codes, pl.col("country").cast(pl.String).cast(pl.Categorical()), pl.col("asn")), billing)
    distinct = [c for c in _COLUMNS if c.startswith("distinct_")]
    total = pl.col("requests").cast(pl.Float64)
    out = (
        out.join(places, on="code", how="left")
        .join(models, on="code", how="left")
        .join(codes, on="code", how="left")
        .with_columns(pl.col(distinct).fill_null(0))
        .with_columns(
            (pl.col("distinct_prompts") / total).alias("prompt_diversity"),
            (pl.col("distinct_templates") / total).alias("template_diversity"),
        )
        .select(*_COLUMNS, "prompt_diversity", "template_diversity", "top_model", "top_model_share", "new_model_lag_h",
                *(["country_mismatch_share"] if billing is not None else []))
    )
    out = out.with_columns((pl.col("new_model_lag_h") <= FAST_SWITCH_HOURS).fill_null(False).alias("fast_new_model_switch"))
    if acc is not None:
        out = (
            out.join(acc, on=ACCOUNT, how="left")
            .select(pl.exclude("country_mismatch_share"), "country_mismatch_share")
            .with_columns(
                pl.col("created_at").dt.hour().alias("signup_hour"),
                ((pl.col("first_seen") - pl.col("created_at")).dt.total_seconds() / 3600.0).alias(
                    "account_age_at_first_request_h"
                ),
            )
        )
    else:
        out = out.with_columns(
            pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("created_at"),
            pl.lit(None, dtype=pl.String).alias("billing_country"),
            pl.lit(None, dtype=pl.String).alias("payment_pseudonym"),
            pl.lit(None, dtype=pl.String).alias("org_pseudonym"),
            pl.lit(None, dtype=pl.Float64).alias("country_mismatch_share"),
            pl.lit(None, dtype=pl.Int8).alias("signup_hour"),
            pl.lit(None, dtype=pl.Float64).alias("account_age_at_first_request_h"),
        )
    return _hour_profile(out.sort(ACCOUNT))


def compute_features(case: Path) -> pl.DataFrame:
    """The per-account features of a case."""
    return collect_features(scan_events(case), scan_accounts(case))


MAX_HOUR_ENTROPY = math.log2(24)
