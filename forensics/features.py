"""Per-account features: one polars lazy query over the events (row-level work), one row per account out.

Everything here is a plain polars lazy query over `events/*.parquet` and `accounts.parquet`, so the same
logic can later run on a distributed engine; only the per-account result is collected.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl

ACCOUNT = "account_pseudonym"
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


# Aggregations that need every value of an account at once (sorted gaps, distinct counts) run in memory on
# compact integer columns: the streaming engine keeps them per group as strings, ~10x the memory. Each group
# of columns is its own projected pass, so peak memory is one group's columns, not the whole row.
# Distinct counts are taken over 64-bit hashes of the fingerprints (a collision inside one account's values
# is below 1e-7 even for a million distinct prompts).
_IN_MEMORY_PASSES: tuple[tuple[tuple[str, str], ...], ...] = (
    (("prompt_fingerprint", "distinct_prompts"),),
    (("prompt_template_fingerprint", "distinct_templates"), ("system_prompt_fingerprint", "distinct_system_prompts")),
    (("ip_pseudonym", "distinct_ips"), ("net_pseudonym", "distinct_nets"), ("user_agent_fingerprint", "distinct_user_agents")),
)


def _per_account_in_memory(events: pl.LazyFrame) -> pl.LazyFrame:
    """Timing statistics and distinct counts, one row per account (see `_IN_MEMORY_PASSES`)."""
    cats = pl.Categories.random()  # private account codes, shared by every pass below
    category = pl.col(ACCOUNT).cast(pl.String).cast(pl.Categorical(cats))

    def coded(*cols: pl.Expr) -> pl.DataFrame:
        return events.select(category.to_physical().alias("_a"), *cols).collect(engine="streaming")

    ts = pl.col("timestamp")
    gap = ts.sort().diff().dt.total_seconds().drop_nulls()
    # The first pass keeps the categorical column alive: the code-to-name mapping lives as long as it does.
    first = events.select(category.alias("_cat"), ts).collect(engine="streaming")
    out = first.with_columns(pl.col("_cat").to_physical().alias("_a")).drop("_cat").group_by("_a").agg(
        ts.dt.date().n_unique().alias("active_days"),
        ts.sort().diff().dt.total_milliseconds().drop_nulls().median().truediv(1000.0).alias("interarrival_median_s"),
        _cv(gap).alias("interarrival_cv"),
    )
    for group in _IN_MEMORY_PASSES:
        hashed = [pl.when(pl.col(c).is_not_null()).then(pl.col(c).hash(seed=0)).alias(name) for c, name in group]
        counts = coded(*hashed).group_by("_a").agg(*[pl.col(name).drop_nulls().n_unique() for _, name in group])
        out = out.join(counts, on="_a", how="left")
    names = cats.to_series().cast(pl.String)
    del first
    return out.with_columns(names.gather(out["_a"]).alias(ACCOUNT)).drop("_a").lazy()


def account_features(events: pl.LazyFrame, accounts: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """One row per account, sorted by pseudonym (`collect_features` runs and finishes it).

    Here `hour_00`..`hour_23` are integer counts; `collect_features` turns them into shares and adds
    `hour_entropy`.

    Columns: volume (`requests`, `active_days`, `first_seen`, `last_seen`), timing (`interarrival_median_s`,
    `interarrival_cv`: coefficient of variation of gaps, near 0 for scripted clocks), `hour_00`..`hour_23`
    shares and `hour_entropy` (bits, 0..4.58), tokens, prompt diversity, `reasoning_share`, model mix and
    `new_model_lag_h` (hours from a model's first appearance in the case to this account's first use of it,
    for models that appeared after the first day), network diversity, `country_mismatch_share` and, with
    an account table, `created_at`, `signup_hour`, `account_age_at_first_request_h`.
    """
    ts = pl.col("timestamp")
    hour = ts.dt.hour()
    hour_counts = [(hour == h).sum().cast(pl.Int64).alias(f"hour_{h:02d}") for h in HOURS]
    streamed = events.group_by(ACCOUNT).agg(
        pl.len().alias("requests"),
        ts.min().alias("first_seen"),
        ts.max().alias("last_seen"),
        *hour_counts,
        _mean(pl.col("input_tokens")).alias("input_tokens_mean"),
        _std(pl.col("input_tokens")).alias("input_tokens_std"),
        pl.col("input_tokens").sum().alias("input_tokens"),
        _mean(pl.col("output_tokens")).alias("output_tokens_mean"),
        _std(pl.col("output_tokens")).alias("output_tokens_std"),
        pl.col("output_tokens").sum().alias("output_tokens"),
        _mean(pl.col("prompt_chars")).alias("prompt_chars_mean"),
        _mean(pl.col("prompt_reasoning").cast(pl.Int64)).alias("reasoning_share"),
        pl.col("model").drop_nulls().n_unique().alias("distinct_models"),
        pl.col("asn").drop_nulls().n_unique().alias("distinct_asns"),
        pl.col("country").drop_nulls().n_unique().alias("distinct_countries"),
    )
    heavy = _per_account_in_memory(events)
    base = streamed.join(heavy, on=ACCOUNT, how="left").select(
        ACCOUNT, "requests", "active_days", "first_seen", "last_seen", "interarrival_median_s", "interarrival_cv",
        *[f"hour_{h:02d}" for h in HOURS],
        "input_tokens_mean", "input_tokens_std", "input_tokens", "output_tokens_mean", "output_tokens_std",
        "output_tokens", "distinct_prompts", "distinct_templates", "prompt_chars_mean", "reasoning_share",
        "distinct_system_prompts", "distinct_models", "distinct_ips", "distinct_nets", "distinct_asns",
        "distinct_countries", "distinct_user_agents",
    )
    total = pl.col("requests").cast(pl.Float64)
    base = base.with_columns(
        (pl.col("distinct_prompts") / total).alias("prompt_diversity"),
        (pl.col("distinct_templates") / total).alias("template_diversity"),
    )

    # Models: top-model share and the lag to newly released models.
    model_use = (
        events.filter(pl.col("model").is_not_null())
        .group_by(ACCOUNT, "model")
        .agg(pl.len().alias("_n"), ts.min().alias("_first_use"))
    )
    release = events.filter(pl.col("model").is_not_null()).group_by("model").agg(ts.min().alias("_release"))
    case_start = events.select(ts.min().alias("_case_start"))
    new_models = release.join(case_start, how="cross").filter(
        pl.col("_release") >= pl.col("_case_start") + NEW_MODEL_MIN_DELAY
    )
    lag = (
        model_use.join(new_models, on="model", how="inner")
        .with_columns(((pl.col("_first_use") - pl.col("_release")).dt.total_seconds() / 3600.0).alias("_lag"))
        .group_by(ACCOUNT)
        .agg(pl.col("_lag").min().alias("new_model_lag_h"))
    )
    top_share = model_use.sort(ACCOUNT, "_n", "model", descending=[False, True, False]).group_by(ACCOUNT).agg(
        pl.col("model").first().alias("top_model"),
        (pl.col("_n").max() / pl.col("_n").sum()).cast(pl.Float64).alias("top_model_share"),
    )
    out = base.join(top_share, on=ACCOUNT, how="left").join(lag, on=ACCOUNT, how="left")
    out = out.with_columns(
        (pl.col("new_model_lag_h") <= FAST_SWITCH_HOURS).fill_null(False).alias("fast_new_model_switch")
    )

    if accounts is not None:
        acc = accounts.select(
            ACCOUNT,
            pl.col("created_at"),
            pl.col("billing_country"),
            pl.col("payment_pseudonym"),
            pl.col("org_pseudonym"),
        ).unique(subset=[ACCOUNT], keep="first")
        mismatch = (
            events.select(ACCOUNT, "country")
            .join(acc.select(ACCOUNT, "billing_country"), on=ACCOUNT, how="inner")
            .filter(pl.col("country").is_not_null() & pl.col("billing_country").is_not_null())
            .group_by(ACCOUNT)
            .agg(_mean((pl.col("country") != pl.col("billing_country")).cast(pl.Int64)).alias("country_mismatch_share"))
        )
        out = (
            out.join(acc, on=ACCOUNT, how="left")
            .join(mismatch, on=ACCOUNT, how="left")
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
    return out.sort(ACCOUNT)


def collect_features(events: pl.LazyFrame, accounts: pl.LazyFrame | None = None) -> pl.DataFrame:
    """Run the feature query (streaming engine) and finish the hour profile; one row per account, sorted."""
    return _hour_profile(account_features(events, accounts).collect(engine="streaming"))


def compute_features(case: Path) -> pl.DataFrame:
    """The per-account features of a case."""
    return collect_features(scan_events(case), scan_accounts(case))


MAX_HOUR_ENTROPY = math.log2(24)
