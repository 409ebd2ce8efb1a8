"""Per-account features: one polars lazy query over the events (row-level work), one row per account out.

Everything here is a plain polars lazy query over `events/*.parquet` and `accounts.parquet`, so the same
logic can later run on a distributed engine; only the per-account result is collected.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl

from forensics.codes import ACCOUNT, account_codes, collect_coded, mix64, xxh64
from forensics.radix import sort_u64

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
# the rows between threads, and the outputs must be byte-identical whatever the thread count. The squares are
# row columns made before the group_by, so that it only sums columns (6x faster for the gaps at seed scale).
def _moment_columns(x: pl.Expr, name: str) -> list[pl.Expr]:
    """Row-level: `name` and its square as Int64 columns, for `_moment_sums`."""
    x = x.cast(pl.Int64)
    return [x.alias(name), (x * x).alias(f"{name}_sq")]


def _moment_sums(name: str, *, squares: bool = True) -> list[pl.Expr]:
    """Per group: the count, sum and (for `_std`) sum of squares of the column `name` (see `_moment_columns`)."""
    x = pl.col(name)
    sums = [x.count().alias(f"{name}_n"), x.sum().alias(f"{name}_s1")]
    return [*sums, pl.col(f"{name}_sq").sum().alias(f"{name}_s2")] if squares else sums


def _mean(name: str) -> pl.Expr:
    """Null, not NaN, for an account with no value (no prompt text, say): NaN would poison every median after."""
    n = pl.col(f"{name}_n")
    return pl.when(n > 0).then(pl.col(f"{name}_s1") / n).otherwise(None)


def _std(name: str) -> pl.Expr:
    n, s1, s2 = pl.col(f"{name}_n"), pl.col(f"{name}_s1"), pl.col(f"{name}_s2")
    var = (s2 - s1.cast(pl.Float64) * s1.cast(pl.Float64) / n) / (n - 1)
    return pl.when(n >= 2).then(var.clip(lower_bound=0.0).sqrt()).otherwise(None)


def _cv(name: str) -> pl.Expr:
    """Coefficient of variation of integer gaps (seconds): std / mean."""
    return pl.when(pl.col(f"{name}_n") >= 2).then(_std(name) / _mean(name)).otherwise(None)


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


def _sorted_by_account_and_time(rows: pl.DataFrame) -> pl.DataFrame:
    """(code, timestamp) rows sorted by code, then time.

    Where both fit in 64 bits (seed scale: 18 + 42), one radix sort of the pair packed into a UInt64 does it,
    several times faster than two stable sorts, which remain for anything wider.
    """
    if rows.height == 0 or rows["timestamp"].null_count():
        return rows.sort("timestamp").sort("code", maintain_order=True)
    unit = rows["timestamp"].dtype.time_unit
    t = rows["timestamp"].dt.epoch(unit).to_numpy()
    code = rows["code"].to_numpy()
    t_min = int(t.min())
    time_bits, code_bits = (int(t.max()) - t_min).bit_length(), int(code.max()).bit_length()
    if time_bits + code_bits > 64:
        return rows.sort("timestamp").sort("code", maintain_order=True)
    packed = code.astype(np.uint64) << np.uint64(time_bits)
    packed |= (t - t_min).astype(np.uint64)
    del t, code
    sort_u64(packed, in_place=True)
    code = (packed >> np.uint64(time_bits)).astype(np.uint32)
    packed &= np.uint64((1 << time_bits) - 1)
    t = packed.view(np.int64)
    t += t_min
    return pl.DataFrame({"code": code, "timestamp": pl.Series(t).cast(rows["timestamp"].dtype)})


def _timing(rows: pl.DataFrame) -> pl.DataFrame:
    """From (code, timestamp): volume, active days, gaps and hour-of-day counts.

    Sorted by (code, time), every gap and new day is a comparison with the previous row; per-group sorts inside
    a group_by cost several times more at the seed scale.
    """
    ts = pl.col("timestamp")
    rows = _sorted_by_account_and_time(rows)
    same = pl.col("code") == pl.col("code").shift()
    # Gaps as Duration (same truncation to whole ms and s as before), null at each account's first request.
    gap_ms = pl.when(same).then(ts - ts.shift()).dt.total_milliseconds()
    day = ts.dt.date()
    marked = rows.select(
        "code",
        "timestamp",
        gap_ms.alias("_gap_ms"),
        (~same | (day != day.shift())).fill_null(True).alias("_new_day"),
        *_moment_columns(gap_ms // 1000, "_gap_s"),  # whole seconds, as total_seconds()
    )
    out = (
        marked.group_by("code", maintain_order=True)
        .agg(
            pl.len().alias("requests"),
            pl.col("_new_day").sum().cast(pl.UInt32).alias("active_days"),
            ts.first().alias("first_seen"),
            ts.last().alias("last_seen"),
            pl.col("_gap_ms").drop_nulls().median().truediv(1000.0).alias("interarrival_median_s"),
            *_moment_sums("_gap_s"),
        )
        .with_columns(_cv("_gap_s").alias("interarrival_cv"))
        .select(pl.exclude("^_gap_s_.*$"))
    )
    del marked
    # Hour-of-day counts by one bincount over (code, hour): the rows are sorted by code, so `out` lists the codes
    # in order and each one's row of counts is at its code.
    present = out["code"].to_numpy()
    cell = rows["code"].to_numpy().astype(np.int64) * 24 + rows["timestamp"].dt.hour().to_numpy()
    counts = np.bincount(cell, minlength=(int(present.max()) + 1) * 24 if len(present) else 0).reshape(-1, 24)[present]
    hours = pl.DataFrame({f"hour_{h:02d}": counts[:, h] for h in HOURS}).with_columns(pl.Series("code", present))
    return out.join(hours, on="code", how="left")


_VOLUME_COLUMNS = ("input_tokens", "output_tokens", "prompt_chars", "prompt_reasoning")


def _volumes(rows: pl.DataFrame) -> pl.DataFrame:
    """From (code, tokens, prompt length, reasoning flag): token volumes and spread, prompt length, reasoning share."""
    moments = rows.with_columns(
        *_moment_columns(pl.col("input_tokens"), "input_tokens"),
        *_moment_columns(pl.col("output_tokens"), "output_tokens"),
        pl.col("prompt_chars", "prompt_reasoning").cast(pl.Int64),
    )
    sums = [*_moment_sums("input_tokens"), *_moment_sums("output_tokens"),
            *_moment_sums("prompt_chars", squares=False), *_moment_sums("prompt_reasoning", squares=False)]
    return moments.group_by("code").agg(*sums).select(
        "code",
        _mean("input_tokens").alias("input_tokens_mean"),
        _std("input_tokens").alias("input_tokens_std"),
        pl.col("input_tokens_s1").alias("input_tokens"),
        _mean("output_tokens").alias("output_tokens_mean"),
        _std("output_tokens").alias("output_tokens_std"),
        pl.col("output_tokens_s1").alias("output_tokens"),
        _mean("prompt_chars").alias("prompt_chars_mean"),
        _mean("prompt_reasoning").alias("reasoning_share"),
    )


def model_use(rows: pl.DataFrame) -> pl.DataFrame:
    """From (code, model, timestamp): each account's requests and first request per model."""
    return (
        rows.filter(pl.col("model").is_not_null())
        .group_by("code", "model")
        .agg(pl.len().alias("_n"), pl.col("timestamp").min().alias("_first_use"))
        .with_columns(pl.col("model").cast(pl.String))
    )


def _models(use: pl.DataFrame, case_start) -> pl.DataFrame:
    """From every account's `model_use`: distinct models, the top model and its share, the lag to new models (a
    model's release is its first use by anyone, so this step needs every account's use at once)."""
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


def account_table(accounts: pl.LazyFrame | None, codes: pl.DataFrame) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """The account table's columns that features carry (one row per account) and the (code, billing_country) of
    the coded accounts; (None, None) without an account table."""
    if accounts is None:
        return None, None
    acc = (
        accounts.select(ACCOUNT, "created_at", "billing_country", "payment_pseudonym", "org_pseudonym")
        .unique(subset=[ACCOUNT], keep="first")
        .collect()
    )
    billing = (
        acc.select(ACCOUNT, "billing_country").drop_nulls()
        .join(codes, on=ACCOUNT, how="inner").select("code", "billing_country")
    )
    return acc, billing


def account_measures(
    events: pl.LazyFrame, codes: pl.DataFrame, billing: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What each account's own requests say about it, one row per coded account in `events` (in code order), and
    its `model_use`. Every figure depends on the account's rows alone, so the events may come in any split by
    account: the whole case at once, or the accounts of one Spark group at a time."""
    ts = pl.col("timestamp")
    # Passes that read the same columns, or few, share one collect: each pass pays for reading and coding the
    # account of every row (2.4 s at seed scale).
    timed = collect_coded(events, codes, ts, pl.col("model").cast(pl.String).cast(pl.Categorical()))
    out = _timing(timed.select("code", "timestamp"))
    use = model_use(timed)
    del timed
    measured = collect_coded(
        events, codes, *(pl.col(c) for c in _VOLUME_COLUMNS), pl.col("country").cast(pl.String).cast(pl.Categorical()),
        pl.col("asn"),
    )
    places = _places(measured.select("code", "country", "asn"), billing)
    out = out.join(_volumes(measured.drop("country", "asn")), on="code", how="left")
    del measured
    for group in _DISTINCT_PASSES:
        hashed = [xxh64(pl.col(c)).alias(name) for c, name in group]  # null stays null
        counts = collect_coded(events, codes, *hashed).group_by("code").agg(*[pl.col(name).drop_nulls().n_unique() for _, name in group])
        out = out.join(counts, on="code", how="left")
    return out.join(places, on="code", how="left"), use


# The event columns `account_measures` reads (besides the account).
MEASURE_COLUMNS = ("timestamp", "model", *_VOLUME_COLUMNS, "country", "asn", *(c for group in _DISTINCT_PASSES for c, _ in group))


def finish_features(measures: pl.DataFrame, use: pl.DataFrame, codes: pl.DataFrame, acc: pl.DataFrame | None) -> pl.DataFrame:
    """The features table from every account's `account_measures` and `model_use` (in any row order) and the
    account table: the figures that need all accounts at once (model releases), shares and the digest."""
    measures = measures.sort("code")
    case_start = measures["first_seen"].min()
    models = _models(use, case_start)
    distinct = [c for c in _COLUMNS if c.startswith("distinct_")]
    total = pl.col("requests").cast(pl.Float64)
    out = (
        measures.join(models, on="code", how="left")
        .join(codes, on="code", how="left")
        .with_columns(pl.col(distinct).fill_null(0))
        .with_columns(
            (pl.col("distinct_prompts") / total).alias("prompt_diversity"),
            (pl.col("distinct_templates") / total).alias("template_diversity"),
        )
        .select(*_COLUMNS, "prompt_diversity", "template_diversity", "top_model", "top_model_share", "new_model_lag_h",
                *(["country_mismatch_share"] if acc is not None else []))
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
    return activity_digest(_hour_profile(out.sort(ACCOUNT)))


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
    acc, billing = account_table(accounts, codes)
    measures, use = account_measures(events, codes, billing)
    return finish_features(measures, use, codes, acc)


_DIGEST_COLUMNS = ("first_seen", "last_seen", "requests", "active_days", "input_tokens", "output_tokens",
                   "distinct_prompts", "distinct_ips")


def activity_digest(features: pl.DataFrame) -> pl.DataFrame:
    """Add `activity_digest`: a 64-bit splitmix64 chain over integer facts of the account's own activity (first
    and last request in microseconds, requests, active days, token sums, distinct prompts and addresses).

    It orders accounts wherever an order shapes the result (`codes.AccountOrder`): it depends on the logs
    alone, never on the key, and two accounts share a digest only if all those facts coincide.
    """
    state = None
    for col in _DIGEST_COLUMNS:
        values = features[col]
        if values.dtype.is_temporal():
            values = values.dt.epoch("us")
        state = mix64(values.fill_null(0).cast(pl.Int64).to_numpy().view(np.uint64), state)
    digest = state if state is not None else np.zeros(0, dtype=np.uint64)
    return features.with_columns(pl.Series("activity_digest", digest, dtype=pl.UInt64))


def compute_features(case: Path) -> pl.DataFrame:
    """The per-account features of a case."""
    return collect_features(scan_events(case), scan_accounts(case))


MAX_HOUR_ENTROPY = math.log2(24)
