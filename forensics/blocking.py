"""Shared-key evidence between accounts: blocking on keys, then how unlikely each pair's overlap is by chance.

Every evidence kind reduces to (account, key, stratum) facts: an address and its ASN, a time slot, a prompt
template. Two steps follow, both near-linear in the facts.

Blocking. A key held by d accounts links its holders in pairs. Up to `full_pairs_max` holders, every pair is
linked; above it, each holder is linked to its `partners` nearest holders in a ring ordered by a fixed
per-account order (salting, as splink's salted blocking rules do), so the key costs O(d * partners) instead of
O(d^2). The order is the same for every key (an account's activity digest, never its pseudonym), so two
accounts close in it meet in every large key they share and their overlap is counted whole; a campaign spread
over a pool thus stays one connected block however large it grows. Keys held by more than `max_accounts`
accounts are ubiquitous (the prompt "hi", a carrier-grade NAT address) and dropped, and counted.

Evidence. For a linked pair (a, b) with X shared keys, the null model is that b's keys were drawn at random
from the background of their stratum: b holds a given key of stratum s with probability n_b,s * mu_s / S_s,
where n_b,s is b's keys in s, S_s the stratum's facts and mu_s the stratum's typical key degree (its median,
so that the keys a campaign inflates do not set their own background). The expected overlap is
lambda = sum_s n_a,s * n_b,s * mu_s / S_s and the pair's surprise is -log10 P(Poisson(lambda) >= X).
Strata are where sharing is normal: an ASN for addresses (everyone behind a carrier NAT shares addresses; a
residential address held by 90 accounts is not normal for its ISP). The evidence written to the graph is the
surprise less log10 of the accounts holding the kind (a per-account Bonferroni bound: at a fixed threshold the
expected number of chance partners per account does not grow with the case), floored at 0.

Kinds where holding the key is itself a relationship (a payment card) use the key's own anomaly instead: how
unlikely it is for a key of its stratum to have d - 1 co-holders, when keys there have c on average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import special

from forensics.codes import run_starts

_SHIFT = 1 << 32
# Facts handled at once when generating pairs: bounds the pair table of one slice to a few hundred MB.
_FACTS_PER_SLICE = 1 << 22
_LN10 = float(np.log(10.0))
# Evidence is rounded to this many decimals, so the last bits of the special functions never reach a decision.
EVIDENCE_DECIMALS = 6
FACT_SCHEMA = {"code": pl.UInt32, "key": pl.UInt64, "stratum": pl.UInt32, "rows": pl.UInt32, "reasoning": pl.UInt32}


@dataclass(frozen=True)
class BlockingStats:
    """Per kind: pairs linked, keys that linked accounts, keys salted (ring-linked) and keys dropped as ubiquitous."""

    pairs: int = 0
    keys_used: int = 0
    keys_salted: int = 0
    keys_dropped: int = 0
    accounts: int = 0

    def as_dict(self) -> dict:
        return {
            "pairs": self.pairs,
            "keys_used": self.keys_used,
            "keys_salted": self.keys_salted,
            "keys_dropped": self.keys_dropped,
            "accounts": self.accounts,
        }


def poisson_surprise(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """-log10 P(Poisson(expected) >= observed), elementwise; 0 where observed is 0.

    The regularised incomplete gamma gives the tail directly; where it underflows, the tail's leading term
    (the probability of exactly `observed`, times the geometric bound on the rest) takes over.
    """
    x = np.asarray(observed, dtype=np.float64)
    lam = np.maximum(np.asarray(expected, dtype=np.float64), 1e-300)
    out = np.zeros(x.shape, dtype=np.float64)
    pos = x > 0
    if not pos.any():
        return out
    xs, ls = x[pos], lam[pos]
    tail = special.gammainc(xs, ls)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pmf = xs * np.log(ls) - ls - special.gammaln(xs + 1.0)
        bound = log_pmf - np.log1p(-np.minimum(ls / (xs + 1.0), 0.999999))
        log_tail = np.where(tail > 1e-200, np.log(np.maximum(tail, 1e-300)), bound)
    out[pos] = np.maximum(-log_tail / _LN10, 0.0)
    return out


def key_anomaly(degree: np.ndarray, mean_excess: np.ndarray) -> np.ndarray:
    """-log10 P(Poisson(mean_excess) >= degree - 1): how unusual d holders are for a key whose co-holders
    number `mean_excess` on average (floored at 0.001, so a stratum where keys are never shared is not
    infinitely surprised)."""
    d = np.asarray(degree, dtype=np.float64)
    return poisson_surprise(np.maximum(d - 1.0, 0.0), np.maximum(np.asarray(mean_excess, dtype=np.float64), 1e-3))


def unique_facts(facts: pl.DataFrame) -> pl.DataFrame:
    """(code, key, stratum, rows, reasoning) facts, one per (key, code) with their requests (and reasoning
    requests) summed, sorted by (key, code). A key belongs to one stratum. Facts without a `rows` column count
    one row each; without `reasoning`, none."""
    if "rows" not in facts.columns:
        facts = facts.with_columns(pl.lit(1, dtype=pl.UInt32).alias("rows"))
    if "reasoning" not in facts.columns:
        facts = facts.with_columns(pl.lit(0, dtype=pl.UInt32).alias("reasoning"))
    return (
        facts.group_by("key", "code")
        .agg(pl.col("stratum").first(), pl.col("rows").sum(), pl.col("reasoning").sum())
        .select(FACT_SCHEMA.keys())
        .cast(FACT_SCHEMA)
        .sort("key", "code")
    )


def key_degrees(facts: pl.DataFrame) -> np.ndarray:
    """The degree (holders) of each fact's key, for facts from `unique_facts`."""
    key = facts["key"].to_numpy()
    starts = run_starts(key)
    sizes = np.diff(np.r_[starts, len(key)])
    return np.repeat(sizes, sizes)


def _ring_pairs(codes: np.ndarray, rank: np.ndarray, starts: np.ndarray, sizes: np.ndarray, offsets: np.ndarray):
    """Account pairs of each key's ring: holders in `rank` order, each linked to the holders `1..offsets[k]`
    places after it (cyclically), which is every pair when offsets[k] = floor(d/2) (the half offset of an
    even ring is kept from one side only).

    codes/rank are the facts sorted by key; starts/sizes/offsets are per key. Returns (a, b, key index)."""
    key_of = np.repeat(np.arange(len(starts)), sizes)
    # Order each key's holders by rank (stable within key: the facts are sorted by key).
    order = np.lexsort((rank, key_of))
    c = codes[order]
    pos = np.arange(len(c)) - np.repeat(starts, sizes)
    start_of = np.repeat(starts, sizes)
    d = sizes[key_of]
    off = offsets[key_of]
    out_a, out_b, out_k = [], [], []
    top = int(offsets.max()) if len(offsets) else 0
    for o in range(1, top + 1):
        use = off >= o
        half = (d % 2 == 0) & (2 * o == d)
        use &= ~half | (pos < d // 2)
        idx = np.flatnonzero(use)
        partner = start_of[idx] + (pos[idx] + o) % d[idx]
        out_a.append(c[idx])
        out_b.append(c[partner])
        out_k.append(key_of[idx])
    if not out_a:
        empty = np.zeros(0, dtype=np.int64)
        return empty.astype(np.uint32), empty.astype(np.uint32), empty
    return np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_k)


@dataclass(frozen=True)
class Blocking:
    """How keys link their holders. `order` gives each account code its place in the salting ring."""

    full_pairs_max: int
    partners: int
    max_accounts: int
    order: np.ndarray

    def offsets(self, degree: np.ndarray) -> np.ndarray:
        full = degree // 2
        salted = np.minimum(full, max(1, self.partners // 2))
        return np.where(degree <= self.full_pairs_max, full, salted)


def _stratum_background(facts: pl.DataFrame) -> pl.DataFrame:
    """Per stratum: facts S, typical key degree mu (median) and the mean number of co-holders of a key."""
    degrees = facts.group_by("key", "stratum").agg(pl.len().alias("_d"))
    return degrees.group_by("stratum").agg(
        pl.col("_d").sum().cast(pl.Float64).alias("_S"),
        pl.col("_d").median().cast(pl.Float64).alias("_mu"),
        (pl.col("_d").cast(pl.Float64) - 1.0).mean().alias("_excess"),
    )


NULLS = ("typical", "observed", "anomaly")


def shared_key_pairs(
    facts: pl.DataFrame, blocking: Blocking, *, null: str = "observed", prepared: bool = False
) -> tuple[pl.DataFrame, BlockingStats]:
    """Linked pairs of one evidence kind with their overlap and its surprise.

    `facts`: (code, key, stratum), repeats allowed, or as `unique_facts` returns them with `prepared`. Returns (pairs, stats); pairs has `src` < `dst` (account
    codes), `count` (shared keys counted), `expected` (lambda; null for anomaly kinds) and `surprise`
    (-log10 p), sorted by (src, dst).

    `null` says what a key's popularity is taken to be: "typical", its stratum's median degree (a key a
    campaign inflated stays surprising); "observed", its own degree (the configuration model: for time slots
    and prompts, whose popularity varies naturally, so sharing a busy slot or a stock prompt is expected);
    "anomaly", the pair's surprise is the largest anomaly among the keys it shares (see module docstring).
    """
    if null not in NULLS:
        raise ValueError(f"unknown null model {null!r}")
    anomaly = null == "anomaly"
    if not prepared:
        facts = unique_facts(facts)
    empty = pl.DataFrame(schema={"src": pl.UInt32, "dst": pl.UInt32, "count": pl.Int64, "expected": pl.Float64,
                                 "surprise": pl.Float64})
    accounts = int(facts["code"].n_unique()) if facts.height else 0
    if facts.height == 0:
        return empty, BlockingStats()
    key = facts["key"].to_numpy()
    starts = run_starts(key)
    sizes = np.diff(np.r_[starts, len(key)])
    cap = blocking.max_accounts
    dropped = (sizes > cap) if cap > 0 else np.zeros(len(sizes), dtype=bool)
    # Background from every key but the ubiquitous ones, which are left out of the evidence altogether.
    keep_fact = np.repeat(~dropped, sizes)
    kept = facts.filter(pl.Series(keep_fact))
    background = _stratum_background(kept)
    if null == "observed":
        degree = pl.Series("_d", np.repeat(sizes, sizes)[keep_fact], dtype=pl.Float64)
        per_account = kept.with_columns(degree).group_by("code", "stratum").agg(
            pl.len().cast(pl.Float64).alias("_n"), pl.col("_d").sum().alias("_D")
        )
    else:
        per_account = kept.group_by("code", "stratum").agg(pl.len().cast(pl.Float64).alias("_n"))

    linking = (sizes >= 2) & ~dropped
    salted = linking & (sizes > blocking.full_pairs_max)
    stats_keys = (int(linking.sum()), int(salted.sum()), int(dropped.sum()))
    codes = facts["code"].to_numpy()
    strata = facts["stratum"].to_numpy()
    offsets = np.where(linking, blocking.offsets(sizes), 0)

    if anomaly:
        bg = background.sort("stratum")
        key_stratum = strata[starts]
        at = np.searchsorted(bg["stratum"].to_numpy(), key_stratum)
        excess = bg["_excess"].to_numpy()[np.minimum(at, max(bg.height - 1, 0))] if bg.height else np.zeros(len(sizes))
        key_score = key_anomaly(sizes, excess)

    parts = []
    # Slices of whole keys, so each slice's ring pairs fit in memory.
    bounds = [0]
    cum = np.cumsum(sizes * np.maximum(offsets, 1))
    while bounds[-1] < len(sizes):
        base = cum[bounds[-1] - 1] if bounds[-1] else 0
        nxt = int(np.searchsorted(cum, base + _FACTS_PER_SLICE, side="right"))
        bounds.append(max(nxt, bounds[-1] + 1))
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        f0, f1 = starts[lo], (starts[hi] if hi < len(starts) else len(key))
        sl_starts = starts[lo:hi] - f0
        a, b, k = _ring_pairs(codes[f0:f1], blocking.order[codes[f0:f1]], sl_starts, sizes[lo:hi], offsets[lo:hi])
        if len(a) == 0:
            continue
        lo_c, hi_c = np.minimum(a, b).astype(np.uint64), np.maximum(a, b).astype(np.uint64)
        frame = {"_pair": lo_c * np.uint64(_SHIFT) + hi_c}
        if anomaly:
            frame["_score"] = key_score[lo:hi][k]
            part = pl.DataFrame(frame).group_by("_pair").agg(pl.len().alias("_x"), pl.col("_score").max())
        else:
            part = pl.DataFrame(frame).group_by("_pair").agg(pl.len().alias("_x"))
        parts.append(part)
    if not parts:
        return empty, BlockingStats(0, *stats_keys, accounts)
    pairs = pl.concat(parts)
    del parts
    if anomaly:
        pairs = pairs.group_by("_pair").agg(pl.col("_x").sum(), pl.col("_score").max())
        out = pairs.select(
            (pl.col("_pair") // _SHIFT).cast(pl.UInt32).alias("src"),
            (pl.col("_pair") % _SHIFT).cast(pl.UInt32).alias("dst"),
            pl.col("_x").cast(pl.Int64).alias("count"),
            pl.lit(None, dtype=pl.Float64).alias("expected"),
            pl.col("_score").round(EVIDENCE_DECIMALS).alias("surprise"),
        )
    else:
        pairs = pairs.group_by("_pair").agg(pl.col("_x").sum())
        pairs = pairs.select(
            (pl.col("_pair") // _SHIFT).cast(pl.UInt32).alias("src"),
            (pl.col("_pair") % _SHIFT).cast(pl.UInt32).alias("dst"),
            pl.col("_x").cast(pl.Int64).alias("count"),
        )
        side_a = {"code": "src", "_n": "_na", "_D": "_Da"}
        side_b = {"code": "dst", "_n": "_nb", "_D": "_Db"}
        if null == "observed":
            lam = pl.max_horizontal(pl.col("_na") * pl.col("_Db"), pl.col("_nb") * pl.col("_Da")) / pl.col("_S")
        else:
            lam = pl.col("_na") * pl.col("_nb") * pl.col("_mu") / pl.col("_S")
        # The expectation sums over every stratum in which both accounts hold keys, shared or not.
        strata_terms = (
            pairs.select("src", "dst")
            .join(per_account.rename({k: v for k, v in side_a.items() if k in per_account.columns}), on="src", how="inner")
            .join(per_account.rename({k: v for k, v in side_b.items() if k in per_account.columns}), on=["dst", "stratum"], how="inner")
            .join(background, on="stratum", how="left")
            .with_columns(lam.alias("_lam"))
            .group_by("src", "dst")
            .agg(pl.col("_lam").sort().sum().alias("expected"))
        )
        pairs = pairs.join(strata_terms, on=["src", "dst"], how="left")
        surprise = poisson_surprise(pairs["count"].to_numpy(), pairs["expected"].to_numpy())
        out = pairs.with_columns(pl.Series("surprise", surprise).round(EVIDENCE_DECIMALS))
    out = out.sort("src", "dst")
    return out, BlockingStats(out.height, *stats_keys, accounts)


def evidence_from_surprise(surprise: pl.Expr, accounts: int) -> pl.Expr:
    """The surprise less log10(accounts) (per-account Bonferroni), floored at 0."""
    return (surprise - float(np.log10(max(accounts, 2)))).clip(lower_bound=0.0).round(EVIDENCE_DECIMALS)
