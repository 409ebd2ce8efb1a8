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

import ctypes
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import special

from forensics.codes import run_starts, sorted_unique
from forensics.compiled import compiled
from forensics.radix import argsort_u64, sort_u64

_SHIFT = 1 << 32
# Facts handled at once when generating pairs: bounds the pair table of one slice to a few hundred MB.
_FACTS_PER_SLICE = 1 << 22
# Facts sorted at once when summing facts to one per account and key (`unique_facts`): a range's 12 MB sort
# fast, and a hundred-odd ranges per 60M facts keep the scatter into them within the TLB's reach.
_FACTS_PER_SORT = 1 << 19
# Pairs whose expectation and surprise are computed at once.
_PAIRS_PER_CHUNK = 1 << 18
# Buckets worked on at once (the machine this is measured on has two cores).
_BUCKET_WORKERS = 2
# Pairs are counted in buckets by their first account, each merged on its own: at least this many buckets, and
# enough that each gets about `_INCIDENCES_PER_BUCKET` pair incidences. numpy passes over a bucket's few MB run
# several times faster than over one array of all of them.
_MIN_BUCKETS = 16
_INCIDENCES_PER_BUCKET = 1 << 19
# Bits a bucket always has to count a pair value in (more counts take more entries).
_MIN_COUNT_BITS = 8
_LN10 = float(np.log(10.0))
# Margin for the last bits of the special functions when a lower bound on lambda rules a pair out.
_BOUND_SLACK = 1e-3
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
    if floor > 0:
        # One shared key reaches `floor` only if lambda is at most -ln(1 - 10^-floor); the margin covers rounding.
        one &= lam <= -np.log1p(-(10.0 ** -floor)) * (1.0 + 1e-6)
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


def unique_facts(facts: pl.DataFrame, *, per_sort: int = _FACTS_PER_SORT) -> pl.DataFrame:
    """(code, key, stratum, rows, reasoning) facts, one per (key, code) with their requests (and reasoning
    requests) summed, sorted by (key, code). A key belongs to one stratum, the least any of its facts names
    (an address logged under two ASNs by two accounts is one key), whatever their order: every holder of a key
    is then counted in the stratum the pair's expectation is looked up in. Facts without a `rows` column count
    one row each; without `reasoning`, none.

    The facts are split by key into ranges of about `per_sort` facts (splitters from a sample of the keys), and
    each range is sorted and summed on its own: sorts and sums over a range's MB run several times faster than
    over the whole table, and the ranges, in key order, give the whole table in (key, code) order."""
    if "rows" not in facts.columns:
        facts = facts.with_columns(pl.lit(1, dtype=pl.UInt32).alias("rows"))
    if "reasoning" not in facts.columns:
        facts = facts.with_columns(pl.lit(0, dtype=pl.UInt32).alias("reasoning"))
    facts = facts.select(FACT_SCHEMA.keys()).cast(FACT_SCHEMA)
    if facts.height < 2:
        return facts
    key = facts["key"].to_numpy()
    ranges = max(facts.height // max(per_sort, 1), 1)
    sample = np.sort(key[:: max(facts.height // (ranges * 32), 1)])
    splitters = sorted_unique(sample[(np.arange(1, ranges) * len(sample)) // ranges])
    key, who, tally, ends = _by_key_range(key, *(facts[c].to_numpy() for c in ("code", "stratum", "rows", "reasoning")),
                                          splitters)
    del facts
    written = 0
    for lo, hi in zip(ends[:-1].tolist(), ends[1:].tolist()):
        # By key, then (a rank per distinct key, code) where some key has several facts: two sorts of 64-bit integers.
        order = argsort_u64(key[lo:hi])
        k, w, t = key[lo:hi][order], who[lo:hi][order], tally[lo:hi][order]
        if len(k) > 1:
            rank = np.zeros(len(k), dtype=np.uint64)
            np.not_equal(k[1:], k[:-1], out=rank[1:], casting="unsafe")
            np.cumsum(rank, out=rank)
            if int(rank[-1]) + 1 < len(k):
                order = argsort_u64((rank << np.uint64(32)) | (w >> np.uint64(32)))
                k, w, t = k[order], w[order], t[order]
        # The range's unique facts are written back over the table, at or before where the range began.
        written = _sum_key_runs(k, w, t, key, who, tally, written)
    packed = pl.DataFrame({"key": key[:written], "_who": who[:written], "_tally": tally[:written]})
    high, low = pl.lit(1 << 32, dtype=pl.UInt64), pl.lit((1 << 32) - 1, dtype=pl.UInt64)
    return packed.select(
        (pl.col("_who") // high).cast(pl.UInt32).alias("code"), "key",
        (pl.col("_who") & low).cast(pl.UInt32).alias("stratum"),
        (pl.col("_tally") // high).cast(pl.UInt32).alias("rows"),
        (pl.col("_tally") & low).cast(pl.UInt32).alias("reasoning"),
    )


@compiled(nogil=True)
def _by_key_range(key, code, stratum, rows, reasoning, splitters):
    """The facts grouped by key range (range r holds the keys k with splitters[r - 1] <= k < splitters[r]), as
    (key, code << 32 | stratum, rows << 32 | reasoning) and the ranges' bounds."""
    n, ranges = len(key), len(splitters) + 1
    which = np.empty(n, dtype=np.uint32)
    ends = np.zeros(ranges + 1, dtype=np.int64)
    # below[p]: the splitters under p << 48, so a key's range is searched for only among the splitters that share
    # its top 16 bits (none or one, for hashed keys) instead of among all of them.
    below = np.empty((1 << 16) + 1, dtype=np.int64)
    s = 0
    for p in range(1 << 16):
        while s < len(splitters) and splitters[s] < np.uint64(p) << np.uint64(48):
            s += 1
        below[p] = s
    below[1 << 16] = len(splitters)
    for i in range(n):
        top = key[i] >> np.uint64(48)
        lo, hi = below[top], below[top + 1]
        while lo < hi:
            mid = (lo + hi) >> 1
            if splitters[mid] <= key[i]:
                lo = mid + 1
            else:
                hi = mid
        which[i] = lo
        ends[lo + 1] += 1
    for r in range(ranges):
        ends[r + 1] += ends[r]
    fill = ends[:-1].copy()
    out_key = np.empty(n, dtype=np.uint64)
    who = np.empty(n, dtype=np.uint64)
    tally = np.empty(n, dtype=np.uint64)
    shift = np.uint64(32)
    for i in range(n):
        p = fill[which[i]]
        out_key[p] = key[i]
        who[p] = (np.uint64(code[i]) << shift) | np.uint64(stratum[i])
        tally[p] = (np.uint64(rows[i]) << shift) | np.uint64(reasoning[i])
        fill[which[i]] = p + 1
    return out_key, who, tally, ends


@compiled(nogil=True)
def _sum_key_runs(key, who, tally, out_key, out_who, out_tally, written):
    """Facts sorted by (key, code) summed to one per (key, code), each given its key's least stratum, written
    from `written` on; returns the new count written."""
    low = np.uint64(0xFFFFFFFF)
    high = ~low
    shift = np.uint64(32)
    i, n = 0, len(key)
    while i < n:
        j, least = i, who[i] & low
        while j < n and key[j] == key[i]:
            least = min(least, who[j] & low)
            j += 1
        p = i
        while p < j:
            code, rows, reasoning = who[p] & high, np.uint64(0), np.uint64(0)
            while p < j and who[p] & high == code:
                rows += tally[p] >> shift
                reasoning += tally[p] & low
                p += 1
            if rows > low or reasoning > low:
                raise OverflowError("an account's requests on one key exceed 2^32 - 1")
            out_key[written], out_who[written], out_tally[written] = key[i], code | least, (rows << shift) | reasoning
            written += 1
        i = j
    return written


def key_degrees(facts: pl.DataFrame) -> np.ndarray:
    """The degree (holders) of each fact's key, for facts from `unique_facts`."""
    return _run_lengths(facts["key"].to_numpy())


@compiled(nogil=True)
def _run_lengths(values):
    """The length of the run of equal values each element of `values` is in."""
    out = np.empty(len(values), dtype=np.int64)
    i = 0
    while i < len(values):
        j = i + 1
        while j < len(values) and values[j] == values[i]:
            j += 1
        out[i:j] = j - i
        i = j
    return out


def _by_rank_within_keys(rank: np.ndarray, by_rank: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The account codes of each key's holders in rank order (its salting ring), keys one after another; `rank`
    is the holders' ranks, keys one after another, and `by_rank` the account code of each rank."""
    key_of = np.repeat(np.arange(len(sizes), dtype=np.uint64), sizes)
    ordered = sort_u64((key_of << np.uint64(32)) | rank.astype(np.uint64), in_place=True)  # one sort of (key, rank)
    return by_rank[(ordered & np.uint64(_SHIFT - 1)).astype(np.int64)].astype(np.int64)


@compiled(nogil=True)
def _ring_scan(holders, starts, sizes, offsets, key_tag, width, code_shift, tag_bits, ends, values):
    """Every pair incidence of each key's ring: holder p linked to holder p + j (cyclically) for j = 1..offsets[k],
    which is every pair when offsets[k] = floor(d/2) (the half offset of an even ring taken from one side only).
    Without `values`, counts each bucket's incidences into ends[bucket + 1]; with it, writes each packed
    incidence at ends[bucket], which then advances."""
    fill = len(values) > 0
    for k in range(len(starts)):
        s, d, t = starts[k], sizes[k], np.uint64(key_tag[k])
        for j in range(1, offsets[k] + 1):
            for p in range(d):
                if 2 * j == d and p >= j:
                    break
                q = p + j
                if q >= d:
                    q -= d
                a, b = holders[s + p], holders[s + q]
                src, dst = min(a, b), max(a, b)
                bucket = src // width
                if fill:
                    packed = np.uint64(src - bucket * width) << np.uint64(code_shift)
                    values[ends[bucket]] = packed | (np.uint64(dst) << np.uint64(tag_bits)) | t
                    ends[bucket] += 1
                else:
                    ends[bucket + 1] += 1


class _PairCounts:
    """The pair values of one bucket and how often each was seen, held as sorted entries `value << count_bits |
    count`: raw values are appended, and whenever they reach half as many as the entries they are sorted and merged
    into them, counts summed (`_merge_counts`: one sort of 64-bit integers and one linear pass). A value seen more often
    than one entry can count takes several entries, which `result` gives as they are: callers sum counts per
    value. The entries of every bucket are held until the last slice (a pair met in several slices is summed), so
    they are what bounds the memory."""

    def __init__(self, count_bits: int) -> None:
        if not 1 <= count_bits < 64:
            raise ValueError(f"count_bits must be in 1..63, not {count_bits}")
        self.count_bits = np.uint64(count_bits)
        self.cap = np.uint64((1 << count_bits) - 1)
        self.entries = np.zeros(0, dtype=np.uint64)
        self.raw: list[np.ndarray] = []
        self.raw_size = 0

    def add(self, values: np.ndarray) -> None:
        if len(values):
            self.raw.append(values)
            self.raw_size += len(values)
        if 2 * self.raw_size > max(len(self.entries), 1 << 16):
            self._merge()

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(values, counts), sorted by value; a value may repeat."""
        self._merge()
        return self.entries >> self.count_bits, self.entries & self.cap

    def _merge(self) -> None:
        if not self.raw:
            return
        raw = sort_u64(np.concatenate(self.raw), in_place=True)
        self.raw, self.raw_size = [], 0
        self.entries = _merge_counts(self.entries, raw, self.count_bits)


@compiled(nogil=True)
def _merge_counts(entries, raw, count_bits):
    """Sorted entries `value << count_bits | count` with the sorted raw values added, each value's counts summed
    into entries of at most the largest count (all full but the last)."""
    cap = (np.uint64(1) << count_bits) - np.uint64(1)
    out = np.empty(len(entries) + len(raw), dtype=np.uint64)
    i = j = n = 0
    while i < len(entries) or j < len(raw):
        value = raw[j] if i == len(entries) else entries[i] >> count_bits
        if j < len(raw) and raw[j] < value:
            value = raw[j]
        total = np.uint64(0)
        while i < len(entries) and entries[i] >> count_bits == value:
            total += entries[i] & cap
            i += 1
        while j < len(raw) and raw[j] == value:
            total += np.uint64(1)
            j += 1
        while total > cap:
            out[n] = (value << count_bits) | cap
            total -= cap
            n += 1
        out[n] = (value << count_bits) | total
        n += 1
    return out[:n]


@dataclass(frozen=True)
class _Packing:
    """How a pair incidence (src < dst, a tag) packs into 64 bits: bucket b holds the pairs whose src lies in
    [b * width, (b + 1) * width), as (src - b * width, dst, tag), so sorting a bucket's values sorts its pairs
    by (src, dst) and, within a pair, by tag. The tag is what a pair keeps the largest of: a stratum's index,
    or a key anomaly's rank."""

    width: int
    code_bits: int
    tag_bits: int

    @classmethod
    def plan(cls, codes: int, tags: int, buckets: int = _MIN_BUCKETS) -> "_Packing":
        code_bits = max(int(codes - 1).bit_length(), 1)
        tag_bits = int(max(tags - 1, 0)).bit_length()
        src_bits = 64 - _MIN_COUNT_BITS - code_bits - tag_bits
        if src_bits < 0:
            raise ValueError(f"{codes} accounts with {tags} tags do not pack into 64 bits")
        width = min(1 << src_bits, max(-(-codes // buckets), 1))
        return cls(width, code_bits, tag_bits)

    @property
    def count_bits(self) -> int:
        """The bits left below a packed value for `_PairCounts` to count it in."""
        return 64 - (self.width - 1).bit_length() - self.code_bits - self.tag_bits

    def buckets(self, codes: int) -> int:
        return max(-(-codes // self.width), 1)

    def incidences(self, holders: np.ndarray, starts: np.ndarray, sizes: np.ndarray, offsets: np.ndarray,
                   key_tag: np.ndarray, buckets: int, scratch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The packed pair incidences of keys' rings (`holders` by rank within each key), grouped by bucket:
        (ends, values), bucket b's values being values[ends[b]:ends[b + 1]]. See _ring_scan. `values` is the
        start of `scratch` where it is large enough: the first touch of each page of a fresh array is a page
        fault, which for the hundreds of MB of a large kind's slices costs more than the scan."""
        args = (holders, starts, sizes, offsets, key_tag, self.width, self.code_bits + self.tag_bits, self.tag_bits)
        ends = np.zeros(buckets + 1, dtype=np.int64)
        _ring_scan(*args, ends, np.zeros(0, dtype=np.uint64))
        np.cumsum(ends, out=ends)
        total = int(ends[-1])
        values = scratch[:total] if len(scratch) >= total else np.empty(total, dtype=np.uint64)
        fill = ends[:-1].copy()
        _ring_scan(*args, fill, values)
        return ends, values

    def unpack(self, bucket: int, values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, ...]:
        """(src, dst, count, tag) per pair, from a bucket's sorted values and their counts (`_PairCounts.result`):
        counts summed over the pair's entries, and its largest tag."""
        if not len(values):
            none = np.zeros(0, dtype=np.int64)
            return none.astype(np.uint32), none.astype(np.uint32), none, none
        pair = values >> np.uint64(self.tag_bits)
        starts = run_starts(pair)
        ends = np.r_[starts[1:], len(pair)] - 1
        src = (pair[starts] >> np.uint64(self.code_bits)).astype(np.int64) + bucket * self.width
        dst = pair[starts] & np.uint64((1 << self.code_bits) - 1)
        tag = values[ends] & np.uint64((1 << self.tag_bits) - 1)
        count = np.add.reduceat(counts, starts)
        return src.astype(np.uint32), dst.astype(np.uint32), count.astype(np.int64), tag.astype(np.int64)


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
    degree = _run_lengths(key)  # each fact's key's holders
    # Background from every key but the ubiquitous ones, which are left out of the evidence altogether.
    background = _stratum_background(strata[starts][~dropped], sizes[~dropped])
    kept = degree <= cap if dropped.any() else None  # the facts of keys not dropped; None: all of them
    if kept is None:
        per_account = _per_account(codes, strata, degree)
    else:
        per_account = _per_account(codes[kept], strata[kept], degree[kept])

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
    # whole keys so that each slice's ring pairs fit in memory. A slice's pairs go to buckets by their first
    # account, so that a pair met in several slices is summed within one bucket, never across all pairs.
    link_facts = degree >= 2
    if kept is not None:
        link_facts &= kept
    del degree, kept
    l_codes = codes[link_facts]
    l_sizes = sizes[linking]
    l_starts = np.r_[0, np.cumsum(l_sizes)[:-1]].astype(np.int64) if len(l_sizes) else l_sizes
    l_offsets = offsets[linking]
    del link_facts
    # Each pair also keeps the largest tag of the keys it shares. Anomaly kinds tag a key with its anomaly's
    # rank (a pair's surprise is its largest anomaly). Kinds over several strata tag it with its stratum's
    # index: that stratum's term alone bounds the pair's expectation from below, so pairs that could not reach
    # `min_surprise` even then are never joined against every stratum.
    strata_bound = not anomaly and background.height > 1
    tags, l_tag = np.zeros(1), np.zeros(len(l_sizes), dtype=np.int64)
    if anomaly:
        tags = sorted_unique(key_score[linking])
        l_tag = np.searchsorted(tags, key_score[linking])
    elif strata_bound:
        tags = sorted_unique(strata[starts][linking])
        l_tag = np.searchsorted(tags, strata[starts][linking])
    n_codes = int(codes.max()) + 1
    cum = np.cumsum(l_sizes * l_offsets)  # pair incidences up to each key
    incidences = int(cum[-1]) if len(cum) else 0
    packing = _Packing.plan(n_codes, len(tags), max(_MIN_BUCKETS, incidences // _INCIDENCES_PER_BUCKET))
    buckets = [_PairCounts(packing.count_bits) for _ in range(packing.buckets(n_codes))]
    by_rank = np.argsort(blocking.order, kind="stable").astype(np.uint32)
    dense_rank = np.empty(len(by_rank), dtype=np.int64)
    dense_rank[by_rank] = np.arange(len(by_rank))
    scratch = np.zeros(0, dtype=np.uint64)
    bounds = [0]
    while bounds[-1] < len(l_sizes):
        base = cum[bounds[-1] - 1] if bounds[-1] else 0
        nxt = int(np.searchsorted(cum, base + _FACTS_PER_SLICE, side="right"))
        bounds.append(max(nxt, bounds[-1] + 1))
    # Buckets are independent, and their work is compiled or numpy code that releases the GIL: two at a time.
    with ThreadPoolExecutor(max_workers=_BUCKET_WORKERS, thread_name_prefix="blocking") as pool:
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            f0, f1 = l_starts[lo], (l_starts[hi] if hi < len(l_starts) else len(l_codes))
            holders = _by_rank_within_keys(dense_rank[l_codes[f0:f1]], by_rank, l_sizes[lo:hi])
            ends, values = packing.incidences(holders, l_starts[lo:hi] - f0, l_sizes[lo:hi], l_offsets[lo:hi],
                                              l_tag[lo:hi], len(buckets), scratch)
            del holders
            # Each bucket takes a copy: `values` is the next slice's scratch.
            for _ in pool.map(lambda j: buckets[j].add(values[ends[j]:ends[j + 1]].copy()), range(len(buckets))):
                pass
            if len(values) > len(scratch):
                scratch = values
        # Surprise bucket by bucket, in chunks of pairs, keeping only those that reach `min_surprise`. Anomaly kinds
        # have it from their keys; the others from the pair's expected overlap, computed for the pairs that pass
        # the stratum bound.
        expectation = None if anomaly else _Expectation(per_account, background, null)

        def bucket_pairs(number: int) -> tuple[list[pl.DataFrame], list[tuple[np.ndarray, ...]]]:
            src, dst, count, tag = packing.unpack(number, *buckets[number].result())
            buckets[number] = None
            kept, candidates = [], []
            for i in range(0, len(src), _PAIRS_PER_CHUNK):
                s_, d_, c_, t_ = (x[i:i + _PAIRS_PER_CHUNK] for x in (src, dst, count, tag))
                if anomaly:
                    keep = tags[t_] >= min_surprise
                    kept.append(_pair_frame(s_[keep], d_[keep], c_[keep], np.full(int(keep.sum()), np.nan),
                                            tags[t_][keep]))
                    continue
                if not strata_bound:
                    kept.append(_surprising_pairs(s_, d_, c_, expectation, min_surprise))
                    continue
                lower = expectation.term(s_, d_, tags[t_])
                possible = poisson_surprise(c_, lower, floor=min_surprise) >= min_surprise - _BOUND_SLACK
                candidates.append((s_[possible], d_[possible], c_[possible]))
            return kept, candidates

        kept, candidates = [], []
        for bucket_kept, bucket_candidates in pool.map(bucket_pairs, range(len(buckets))):  # in bucket order
            kept += bucket_kept
            candidates += bucket_candidates
    # The pairs that passed the stratum bound are few: joined against every stratum together, in chunks.
    if candidates:
        src, dst, count = (np.concatenate(x) for x in zip(*candidates))
        del candidates
        for i in range(0, len(src), _PAIRS_PER_CHUNK):
            s_, d_, c_ = src[i:i + _PAIRS_PER_CHUNK], dst[i:i + _PAIRS_PER_CHUNK], count[i:i + _PAIRS_PER_CHUNK]
            kept.append(_surprising_pairs(s_, d_, c_, expectation, min_surprise))
    if not kept:
        return empty, BlockingStats(0, *stats_keys, accounts)
    out = pl.concat(kept).with_columns(pl.col("expected").fill_nan(None)).sort("src", "dst")
    return out, BlockingStats(out.height, *stats_keys, accounts)


def _surprising_pairs(src: np.ndarray, dst: np.ndarray, count: np.ndarray, expectation: "_Expectation",
                      min_surprise: float) -> pl.DataFrame:
    """The pairs whose overlap reaches `min_surprise`, with their expectation and surprise."""
    expected = expectation.expected(src, dst)
    surprise = poisson_surprise(count, expected, floor=min_surprise)
    keep = surprise >= min_surprise
    return _pair_frame(src[keep], dst[keep], count[keep], expected[keep], surprise[keep])


@compiled(nogil=True)
def _lambda_terms(a, b, n, big_d, at, total, mu, observed):
    """One stratum's term of each pair's lambda, for rows a and b of the (account, stratum) table (the same
    stratum, at[a] in the background): max(n_a * D_b, n_b * D_a) / S if `observed`, else n_a * n_b * mu / S."""
    terms = np.empty(len(a), dtype=np.float64)
    for i in range(len(a)):
        x, y, s = a[i], b[i], at[a[i]]
        if observed:
            terms[i] = max(n[x] * big_d[y], n[y] * big_d[x]) / total[s]
        else:
            terms[i] = n[x] * n[y] * mu[s] / total[s]
    return terms


def _pair_frame(src: np.ndarray, dst: np.ndarray, count: np.ndarray, expected: np.ndarray, surprise: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({
        "src": src, "dst": dst, "count": count.astype(np.int64), "expected": pl.Series(expected, dtype=pl.Float64),
        "surprise": np.round(surprise, EVIDENCE_DECIMALS),
    })


class _Expectation:
    """A pair's expected overlap lambda under one null model: the sum, over every stratum in which both accounts
    hold keys (shared or not), of that stratum's term, n_a * n_b * mu / S ("typical") or max(n_a * D_b, n_b * D_a)
    / S ("observed"). Held as the (account, stratum) table sorted by account, with each account's first row,
    so both a pair's whole lambda and one stratum's term of it (a lower bound) are lookups, never joins."""

    def __init__(self, per_account: pl.DataFrame, background: pl.DataFrame, null: str) -> None:
        table = per_account.sort("code", "stratum")
        code = table["code"].to_numpy()
        stratum = table["stratum"].to_numpy()
        self.null = null
        self.packed = self._packed(code, stratum)
        self.first = np.searchsorted(code, np.arange(int(code.max(initial=0)) + 2))
        self.n = table["_n"].to_numpy()
        self.big_d = table["_D"].to_numpy()
        self.at = np.searchsorted(background["stratum"].to_numpy(), stratum)  # each row's stratum's place in the background
        self.total = background["_S"].to_numpy()
        self.mu = background["_mu"].to_numpy()

    @staticmethod
    def _packed(code: np.ndarray, stratum: np.ndarray) -> np.ndarray:
        return (code.astype(np.uint64) << np.uint64(32)) | stratum.astype(np.uint64)

    def _terms(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The terms of rows a and b of the table (the same stratum)."""
        return _lambda_terms(a, b, self.n, self.big_d, self.at, self.total, self.mu, self.null == "observed")

    def _row(self, code: np.ndarray, stratum: np.ndarray) -> np.ndarray:
        """The row of each (account, stratum) in the table; the account holds keys there."""
        return _rows_of(self.first, self.packed, code.astype(np.int64), stratum.astype(np.uint64))

    def term(self, src: np.ndarray, dst: np.ndarray, stratum: np.ndarray) -> np.ndarray:
        """Stratum `stratum`'s term of each pair's lambda; both accounts hold keys there (they share one)."""
        return self._terms(self._row(src, stratum), self._row(dst, stratum))

    def expected(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """lambda of each pair (both accounts hold keys), its terms added in stratum order."""
        if len(self.total) == 1:  # one row per account
            return self._terms(self.first[src], self.first[dst])
        # Every stratum of the account with fewer, looked up for the other (a term is symmetric in the pair).
        rows_src, rows_dst = self.first[src + 1] - self.first[src], self.first[dst + 1] - self.first[dst]
        swap = rows_dst < rows_src
        one, other = np.where(swap, dst, src), np.where(swap, src, dst)
        lo = self.first[one]
        rows = np.minimum(rows_src, rows_dst)
        pair = np.repeat(np.arange(len(src)), rows)
        a = np.arange(len(pair)) + np.repeat(lo - (np.cumsum(rows) - rows), rows)
        want = self._packed(other[pair], self.packed[a] & np.uint64(_SHIFT - 1))
        b = np.minimum(np.searchsorted(self.packed, want), len(self.packed) - 1)
        both = self.packed[b] == want
        return np.bincount(pair[both], weights=self._terms(a[both], b[both]), minlength=len(src))


@compiled(nogil=True)
def _rows_of(first, packed, code, stratum):
    """The row of each (code, stratum) in `packed` (sorted (code << 32 | stratum), code c's rows being
    first[c]:first[c + 1]), searched among its account's rows alone."""
    rows = np.empty(len(code), dtype=np.int64)
    for i in range(len(code)):
        lo, hi = first[code[i]], first[code[i] + 1]
        if hi - lo > 1:
            want = (np.uint64(code[i]) << np.uint64(32)) | stratum[i]
            lo += np.searchsorted(packed[lo:hi], want)
        rows[i] = lo
    return rows


def release_freed_memory() -> None:
    """Hand the heap memory numpy has freed back to the kernel (glibc's malloc_trim; nothing where there is no
    glibc). Blocking's arrays of a few MB each come from the C heap, which keeps them for reuse once freed; polars
    allocates elsewhere and cannot reuse them, so without this they would stay in the process's resident memory
    through the steps after blocking."""
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library the interpreter is linked against
    except (OSError, AttributeError):
        return
    trim(0)


def evidence_from_surprise(surprise: pl.Expr, accounts: int) -> pl.Expr:
    """The surprise less log10(accounts) (per-account Bonferroni), floored at 0."""
    return (surprise - float(np.log10(max(accounts, 2)))).clip(lower_bound=0.0).round(EVIDENCE_DECIMALS)
