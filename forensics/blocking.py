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
# Pairs whose expectation and surprise are computed at once.
_PAIRS_PER_CHUNK = 1 << 21
# Buckets of pairs (by their first account) merged on their own.
_BUCKETS = 16
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


def poisson_surprise(observed: np.ndarray, expected: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """-log10 P(Poisson(expected) >= observed), elementwise; 0 where observed is 0.

    One shared key has the closed form -log10(1 - exp(-lambda)). For more, the regularised incomplete gamma
    gives the tail; where it underflows, the tail's leading term (the probability of exactly `observed`, times
    the geometric bound on the rest) takes over. With a `floor`, values below it may come back as 0 (an
    observation at or below its expectation is never computed): for callers that discard them anyway.
    """
    x = np.asarray(observed, dtype=np.float64)
    lam = np.maximum(np.asarray(expected, dtype=np.float64), 1e-300)
    out = np.zeros(x.shape, dtype=np.float64)
    one = x == 1
    out[one] = -np.log10(-np.expm1(-lam[one]))
    many = x > 1
    if floor > 0:
        many &= x > lam
    if not many.any():
        return np.maximum(out, 0.0)
    xs, ls = x[many], lam[many]
    tail = special.gammainc(xs, ls)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pmf = xs * np.log(ls) - ls - special.gammaln(xs + 1.0)
        bound = log_pmf - np.log1p(-np.minimum(ls / (xs + 1.0), 0.999999))
        log_tail = np.where(tail > 1e-200, np.log(np.maximum(tail, 1e-300)), bound)
    out[many] = -log_tail / _LN10
    return np.maximum(out, 0.0)


def key_anomaly(degree: np.ndarray, mean_excess: np.ndarray) -> np.ndarray:
    """-log10 P(Poisson(mean_excess) >= degree - 1): how unusual d holders are for a key whose co-holders
    number `mean_excess` on average (floored at 0.001, so a stratum where keys are never shared is not
    infinitely surprised)."""
    d = np.asarray(degree, dtype=np.float64)
    return poisson_surprise(np.maximum(d - 1.0, 0.0), np.maximum(np.asarray(mean_excess, dtype=np.float64), 1e-3))


def unique_facts(facts: pl.DataFrame, *, summed: bool = False) -> pl.DataFrame:
    """(code, key, stratum, rows, reasoning) facts, one per (key, code) with their requests (and reasoning
    requests) summed, sorted by (key, code). A key belongs to one stratum. Facts without a `rows` column count
    one row each; without `reasoning`, none. `summed` (the facts are already one per key and code) is only a
    promise; repeats are summed either way, by one sort and run lengths rather than a hash table."""
    if "rows" not in facts.columns:
        facts = facts.with_columns(pl.lit(1, dtype=pl.UInt32).alias("rows"))
    if "reasoning" not in facts.columns:
        facts = facts.with_columns(pl.lit(0, dtype=pl.UInt32).alias("reasoning"))
    facts = facts.select(FACT_SCHEMA.keys()).cast(FACT_SCHEMA).sort("key", "code")
    if facts.height < 2:
        return facts
    key, code = facts["key"].to_numpy(), facts["code"].to_numpy()
    starts = np.flatnonzero(np.r_[True, (key[1:] != key[:-1]) | (code[1:] != code[:-1])])
    if len(starts) == facts.height:
        return facts
    return pl.DataFrame(
        {
            "code": code[starts], "key": key[starts], "stratum": facts["stratum"].to_numpy()[starts],
            "rows": np.add.reduceat(facts["rows"].to_numpy().astype(np.uint64), starts),
            "reasoning": np.add.reduceat(facts["reasoning"].to_numpy().astype(np.uint64), starts),
        }
    ).cast(FACT_SCHEMA)


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

    codes/rank are the facts sorted by key; starts/sizes/offsets are per key. Returns (a, b, key index). The
    facts are visited in order of their key's offset, so offset o touches only the facts that reach it: the work
    is the number of pairs made."""
    key_of = np.repeat(np.arange(len(starts)), sizes)
    # Order each key's holders by rank: one sort of (key index, rank) packed into 64 bits (ranks are distinct).
    c = codes[np.argsort((key_of.astype(np.uint64) << np.uint64(32)) | rank.astype(np.uint64))]
    start_of = np.repeat(starts, sizes)
    pos = np.arange(len(c)) - start_of
    d = sizes[key_of]
    off = offsets[key_of]
    reach = np.argsort(-off, kind="stable")
    reach_off = off[reach]
    out_a, out_b, out_k = [], [], []
    top = int(offsets.max()) if len(offsets) else 0
    for o in range(1, top + 1):
        idx = reach[: int(np.searchsorted(-reach_off, -o, side="right"))]
        half = (d[idx] == 2 * o) & (pos[idx] >= o)
        idx = idx[~half]
        partner = start_of[idx] + (pos[idx] + o) % d[idx]
        out_a.append(c[idx])
        out_b.append(c[partner])
        out_k.append(key_of[idx])
    if not out_a:
        empty = np.zeros(0, dtype=np.int64)
        return empty.astype(np.uint32), empty.astype(np.uint32), empty
    return np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_k)


class _Bucket:
    """Distinct pairs of one bucket with their counts (and best scores), merged when they grow."""

    def __init__(self) -> None:
        self.parts: list[tuple] = []
        self.size = 0
        self.merged = 0

    def add(self, packed: np.ndarray, counts: np.ndarray, scores: np.ndarray | None) -> None:
        if len(packed):
            self.parts.append((packed, counts, scores))
            self.size += len(packed)
        if self.size > 2 * max(self.merged, 1 << 20):
            self.parts = [self.reduce()]
            self.size = self.merged = len(self.parts[0][0])

    def reduce(self) -> tuple:
        if not self.parts:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), np.zeros(0)
        if len(self.parts) == 1:
            return self.parts[0]
        packed, counts, scores = zip(*self.parts)
        self.parts = []
        return _reduce_pairs(np.concatenate(packed), np.concatenate(counts),
                             None if scores[0] is None else np.concatenate(scores))


def _reduce_pairs(packed: np.ndarray, counts: np.ndarray | None, scores: np.ndarray | None):
    """Sorted distinct packed pairs, with their counts summed (`counts` None: one each) and scores maxed."""
    if scores is None and counts is None:
        packed = np.sort(packed)
        starts = run_starts(packed)
        return packed[starts], np.diff(np.r_[starts, len(packed)]).astype(np.int64), None
    if scores is None:
        order = np.argsort(packed)
        packed, counts = packed[order], counts[order]
        del order
        starts = run_starts(packed)
        return packed[starts], np.add.reduceat(counts, starts) if len(packed) else counts, None
    order = np.argsort(packed, kind="stable")
    packed = packed[order]
    starts = run_starts(packed)
    ones = np.ones(len(packed), dtype=np.int64) if counts is None else counts[order]
    total = np.add.reduceat(ones, starts) if len(packed) else ones
    best = np.maximum.reduceat(scores[order], starts) if len(packed) else scores
    return packed[starts], total, best


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


def _stratum_background(key_stratum: np.ndarray, degree: np.ndarray) -> pl.DataFrame:
    """Per stratum: facts S, typical key degree mu (median) and the mean number of co-holders of a key, from
    each key's stratum and degree."""
    return (
        pl.DataFrame({"stratum": key_stratum, "_d": degree})
        .group_by("stratum")
        .agg(
            pl.col("_d").sum().cast(pl.Float64).alias("_S"),
            pl.col("_d").median().cast(pl.Float64).alias("_mu"),
            (pl.col("_d").cast(pl.Float64) - 1.0).mean().alias("_excess"),
        )
        .sort("stratum")
    )


def _per_account(codes: np.ndarray, strata: np.ndarray, degree: np.ndarray) -> pl.DataFrame:
    """Per (code, stratum): the account's keys `_n` and their summed degrees `_D`, from its facts."""
    if len(strata) and strata.min() == strata.max():
        n = np.bincount(codes)
        big_d = np.bincount(codes, weights=degree.astype(np.float64))
        present = np.flatnonzero(n)
        return pl.DataFrame({
            "code": present.astype(np.uint32), "stratum": np.full(len(present), strata[0], dtype=np.uint32),
            "_n": n[present].astype(np.float64), "_D": big_d[present],
        })
    return (
        pl.DataFrame({"code": codes, "stratum": strata, "_d": degree.astype(np.float64)})
        .group_by("code", "stratum")
        .agg(pl.len().cast(pl.Float64).alias("_n"), pl.col("_d").sum().alias("_D"))
    )


NULLS = ("typical", "observed", "anomaly")


def shared_key_pairs(
    facts: pl.DataFrame, blocking: Blocking, *, null: str = "observed", prepared: bool = False, min_surprise: float = 0.0
) -> tuple[pl.DataFrame, BlockingStats]:
    """Linked pairs of one evidence kind with their overlap and its surprise.

    `facts`: (code, key, stratum), repeats allowed, or as `unique_facts` returns them with `prepared`. Returns (pairs, stats); pairs has `src` < `dst` (account
    codes), `count` (shared keys counted), `expected` (lambda; null for anomaly kinds) and `surprise`
    (-log10 p), sorted by (src, dst); pairs with a surprise below `min_surprise` are left out (they cannot be
    evidence), and `stats.pairs` counts the pairs returned.

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
    codes = facts["code"].to_numpy()
    strata = facts["stratum"].to_numpy()
    # Background from every key but the ubiquitous ones, which are left out of the evidence altogether.
    background = _stratum_background(strata[starts][~dropped], sizes[~dropped])
    keep_fact = np.repeat(~dropped, sizes)
    per_account = _per_account(codes[keep_fact], strata[keep_fact], np.repeat(sizes, sizes)[keep_fact])
    del keep_fact

    linking = (sizes >= 2) & ~dropped
    salted = linking & (sizes > blocking.full_pairs_max)
    stats_keys = (int(linking.sum()), int(salted.sum()), int(dropped.sum()))
    offsets = np.where(linking, blocking.offsets(sizes), 0)

    if anomaly:
        bg = background
        key_stratum = strata[starts]
        at = np.searchsorted(bg["stratum"].to_numpy(), key_stratum)
        excess = bg["_excess"].to_numpy()[np.minimum(at, max(bg.height - 1, 0))] if bg.height else np.zeros(len(sizes))
        key_score = key_anomaly(sizes, excess)

    # Only the keys that link anyone make pairs: keep their facts alone, then work through them in slices of
    # whole keys so that each slice's ring pairs fit in memory. A slice's distinct pairs go to buckets by their
    # first account, so that a pair met in several slices is summed within one bucket, never across all pairs.
    link_facts = np.repeat(linking, sizes)
    l_codes = codes[link_facts]
    l_sizes = sizes[linking]
    l_starts = np.r_[0, np.cumsum(l_sizes)[:-1]].astype(np.int64) if len(l_sizes) else l_sizes
    l_offsets = offsets[linking]
    l_score = key_score[linking] if anomaly else None
    del link_facts
    buckets = [_Bucket() for _ in range(_BUCKETS)]
    bounds = [0]
    cum = np.cumsum(l_sizes * l_offsets)
    while bounds[-1] < len(l_sizes):
        base = cum[bounds[-1] - 1] if bounds[-1] else 0
        nxt = int(np.searchsorted(cum, base + _FACTS_PER_SLICE, side="right"))
        bounds.append(max(nxt, bounds[-1] + 1))
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        f0, f1 = l_starts[lo], (l_starts[hi] if hi < len(l_starts) else len(l_codes))
        a, b, k = _ring_pairs(l_codes[f0:f1], blocking.order[l_codes[f0:f1]], l_starts[lo:hi] - f0, l_sizes[lo:hi],
                              l_offsets[lo:hi])
        if len(a) == 0:
            continue
        packed = np.minimum(a, b).astype(np.uint64) * np.uint64(_SHIFT) + np.maximum(a, b).astype(np.uint64)
        del a, b
        p, n, best = _reduce_pairs(packed, None, l_score[lo:hi][k] if anomaly else None)
        del packed, k
        which = ((p >> np.uint64(32)) % np.uint64(_BUCKETS)).astype(np.int64)
        for j in range(_BUCKETS):
            sel = which == j
            buckets[j].add(p[sel], n[sel], best[sel] if anomaly else None)
        del p, n, best, which
    # Expectation and surprise bucket by bucket, in chunks of pairs, keeping only those that reach `min_surprise`.
    kept = []
    for bucket in buckets:
        packed, count, best = bucket.reduce()
        src = (packed >> np.uint64(32)).astype(np.uint32)
        dst = (packed & np.uint64(_SHIFT - 1)).astype(np.uint32)
        del packed
        for i in range(0, len(src), _PAIRS_PER_CHUNK):
            s_, d_, c_ = src[i:i + _PAIRS_PER_CHUNK], dst[i:i + _PAIRS_PER_CHUNK], count[i:i + _PAIRS_PER_CHUNK]
            if anomaly:
                e_ = np.full(len(s_), np.nan)
                u_ = best[i:i + _PAIRS_PER_CHUNK]
            else:
                e_ = _expected_overlap(s_, d_, per_account, background, null)
                u_ = poisson_surprise(c_, e_, floor=min_surprise)
            keep = u_ >= min_surprise
            kept.append(pl.DataFrame(
                {"src": s_[keep], "dst": d_[keep], "count": c_[keep].astype(np.int64),
                 "expected": pl.Series(e_[keep], dtype=pl.Float64),
                 "surprise": np.round(u_[keep], EVIDENCE_DECIMALS)}
            ))
    if not kept:
        return empty, BlockingStats(0, *stats_keys, accounts)
    out = pl.concat(kept).with_columns(pl.col("expected").fill_nan(None)).sort("src", "dst")
    return out, BlockingStats(out.height, *stats_keys, accounts)


def _expected_overlap(src: np.ndarray, dst: np.ndarray, per_account: pl.DataFrame, background: pl.DataFrame, null: str) -> np.ndarray:
    """lambda of each pair: the sum, over every stratum in which both accounts hold keys (shared or not), of
    n_a * n_b * mu / S ("typical") or max(n_a * D_b, n_b * D_a) / S ("observed")."""
    if background.height == 1:
        # One stratum: per-account arrays indexed by code, no join.
        size = int(max(src.max(initial=0), dst.max(initial=0))) + 1
        codes = per_account["code"].to_numpy()
        n = np.zeros(size)
        n[codes[codes < size]] = per_account["_n"].to_numpy()[codes < size]
        bg = background.row(0, named=True)
        if null == "observed":
            big_d = np.zeros(size)
            big_d[codes[codes < size]] = per_account["_D"].to_numpy()[codes < size]
            return np.maximum(n[src] * big_d[dst], n[dst] * big_d[src]) / bg["_S"]
        return n[src] * n[dst] * bg["_mu"] / bg["_S"]
    side_a = {k: v for k, v in {"code": "src", "_n": "_na", "_D": "_Da"}.items() if k in per_account.columns}
    side_b = {k: v for k, v in {"code": "dst", "_n": "_nb", "_D": "_Db"}.items() if k in per_account.columns}
    if null == "observed":
        lam = pl.max_horizontal(pl.col("_na") * pl.col("_Db"), pl.col("_nb") * pl.col("_Da")) / pl.col("_S")
    else:
        lam = pl.col("_na") * pl.col("_nb") * pl.col("_mu") / pl.col("_S")
    pairs = pl.DataFrame({"src": src, "dst": dst}).with_row_index("_i")
    terms = (
        pairs.join(per_account.rename(side_a), on="src", how="inner")
        .join(per_account.rename(side_b), on=["dst", "stratum"], how="inner")
        .join(background, on="stratum", how="left")
        .select("_i", "stratum", lam.alias("_lam"))
        .sort("_i", "stratum")
        .group_by("_i", maintain_order=True)
        .agg(pl.col("_lam").sum())
    )
    out = np.zeros(len(src))
    out[terms["_i"].to_numpy()] = terms["_lam"].to_numpy()
    return out


def evidence_from_surprise(surprise: pl.Expr, accounts: int) -> pl.Expr:
    """The surprise less log10(accounts) (per-account Bonferroni), floored at 0."""
    return (surprise - float(np.log10(max(accounts, 2)))).clip(lower_bound=0.0).round(EVIDENCE_DECIMALS)
