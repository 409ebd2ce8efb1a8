"""Co-action edges: accounts that send the same prompt fingerprint within a time window of each other.

Definition (QUT coordination-network-toolkit's `co_retweet`, see ../shared/peer-data/README.md): for the
directed pair (A, B), `count` is the number of distinct requests of A that have a *different* request of B
with the same key at most `window_s` seconds apart, inclusive. Pairs below `min_count` are dropped; both
directions are written. For A != B this equals the toolkit's `co_retweet_network` edge for edge (checked in
tests/test_peer.py on real data). Self-loops differ on purpose: the toolkit also matches a message with itself,
so every account gets a self-loop; here (A, A) needs a second request of A in the window.

How it stays near-linear (no loop over account pairs, no self-join on the key):

1. Polars turns keys and accounts into integer codes (accounts numbered in name order), in two queries over
   the same rows that run side by side; from there on everything is numpy work on integer arrays. Once
   duplicated requests are dropped, rows are (key, time, account) triples: one sort of the triples packed
   into one integer orders them by (key, time), and a second, of (account, position), lists each (key,
   account)'s rows side by side. Per-key account counts come from the second order. Only the rows of
   candidate keys give facts: keys used by at least two accounts (or two requests, for self-loops) and by at
   most `max_accounts` accounts.
2. Lay every key on one integer axis `c`: within a key, consecutive gaps are capped at window+1 and
   consecutive keys are window+1 apart. Two rows are within the window of each other on `c` exactly when they
   share the key and are within the window in time, so each row's window is the index range [lo, hi] found by
   a binary search on `c`.
3. For row s, let p be the previous row of the same (key, account). s is the *first* row of its account
   inside the window of row r exactly when lo[r] <= s <= hi[r] and p < lo[r]. Windows are symmetric (s is in
   the window of r exactly when r is in the window of s), so these are the r with lo[s] <= r <= hi[s] and
   r > hi[p]: one contiguous range per row, read off the row's own window and that of p. Expanding
   these ranges yields every (request r, account B with a request in r's window) fact exactly once, so the
   work is proportional to the evidence itself, not to the rows of the busiest account in a window.
4. Count facts per (A = account of r, B) in chunks of whole accounts B (bounded memory, disjoint pieces,
   counted on as many threads as polars may use): pack A and B's offset in the chunk into one integer (mostly
   a UInt32), sort and run-length count. Each piece is sorted by (A, B) and the pieces follow B, so a counting
   sort on A (no comparisons) merges them into the (A, B) order.

The packed sorts need the bit widths to fit in 64 bits; times are divided by their common step first (whole
seconds stored in microseconds need 20 bits for a week, not 40), and where they still do not fit polars'
two-column sort gives the same order. Row arrays are Int32 where the row count allows. The result does not depend
on row order or thread count: rows tied on (key, time) may come out in any order, and the facts, hence the
counts, are the same for every order of ties; chunks are independent and merged in a fixed order.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import polars as pl

from forensics.codes import run_starts, xxh64
from forensics.errors import BadInputError, InternalError, MissingColumnError
from forensics.radix import sort_u64

# Facts expanded at once (give or take one account): bounds the memory of step 4. With Int32 rows and UInt32
# pairs its arrays stay under 32 MiB, which the C allocator recycles rather than mapping fresh pages per chunk.
_FACTS_PER_CHUNK = 6 << 20
_MIN_FACTS_PER_CHUNK = 1 << 18
_UNITS_PER_SECOND = {"ns": 1_000_000_000, "us": 1_000_000, "ms": 1_000}
_U64 = np.uint64
_SEARCH_BLOCK = 1 << 14  # sorted needles per binary-search call (see _search)
_CODES_SCHEMA = {"src": pl.UInt32, "dst": pl.UInt32, "count": pl.UInt32}


@dataclass(frozen=True)
class CoactionResult:
    """Directed co-action edges and the accounting the report quotes.

    `accounts` holds the account names in sorted order; `codes` the edges as indices into it (UInt32 `src`,
    `dst` and `count`, sorted by (src, dst): counts are run lengths, which polars keeps as UInt32). `edges` is the
    same table with the names, decoded on first use.
    """

    accounts: pl.Series
    codes: pl.DataFrame
    fingerprints_total: int
    fingerprints_skipped: int
    rows_considered: int

    @cached_property
    def edges(self) -> pl.DataFrame:
        """String `src`, `dst` and Int64 `count`, sorted by (src, dst): account codes follow the name order."""
        src, dst = _in_threads(lambda end: self.accounts.gather(self.codes[end]).rename(end), [("src",), ("dst",)])
        return pl.DataFrame([src, dst, self.codes["count"].cast(pl.Int64)])


def coaction_edges(
    events: pl.LazyFrame,
    *,
    window_s: int,
    min_count: int,
    max_accounts: int,
    account_col: str = "account_pseudonym",
    key_col: str = "prompt_fingerprint",
    time_col: str = "timestamp",
    id_col: str | None = "request_id",
    include_self_loops: bool = False,
) -> CoactionResult:
    """Co-action edges between accounts.

    `edges` has String `src`, `dst` and Int64 `count`, sorted by (src, dst), with both directions and,
    unless `include_self_loops`, no src == dst rows; `codes` is the same table over indices into `accounts`.
    `rows_considered` counts rows with an account, a key and a time; `fingerprints_total` the distinct keys
    among them; `fingerprints_skipped` the keys used by more than `max_accounts` distinct accounts (0 = no cap),
    which contribute no edges. Rows are requests: duplicated rows (same account, key, time and request ID)
    count once. `id_col=None` declares the rows distinct requests already, as in a case, where ingest
    quarantines repeated request IDs: the check is skipped.
    """
    if window_s < 0:
        raise BadInputError(f"co-action window must be >= 0 seconds, got {window_s}")
    if min_count < 1:
        raise BadInputError(f"minimum co-action count must be >= 1, got {min_count}")
    if max_accounts < 0:
        raise BadInputError(f"co-action max accounts must be >= 0 (0 = no cap), got {max_accounts}")

    schema = events.collect_schema()
    missing = [c for c in (account_col, key_col, time_col, id_col) if c is not None and c not in schema]
    if missing:
        raise MissingColumnError(f"co-action needs column(s) {', '.join(missing)}")
    time_type = schema[time_col]
    if not isinstance(time_type, pl.Datetime):
        raise BadInputError(f"co-action time column {time_col!r} must be a Datetime, found {time_type}")
    window = window_s * _UNITS_PER_SECOND[time_type.time_unit or "us"]

    # Keys and accounts become integer codes (fresh, private categories), so that every later step works on
    # integers. Codes follow first appearance; only equality of key codes is used, and account codes are
    # renumbered in name order below. The key codes, the costliest column, come from a second query that
    # polars runs beside the first; both number their rows, so that the two results are known to line up.
    key_codes, account_codes = pl.Categories.random(), pl.Categories.random()
    numbered = events.with_row_index("_row")
    keys, rows = pl.collect_all(
        [
            numbered.select(
                "_row", pl.col(key_col).cast(pl.String).cast(pl.Categorical(key_codes)).to_physical().alias("k")
            ),
            numbered.select(
                "_row",
                pl.col(account_col).cast(pl.String).cast(pl.Categorical(account_codes)).alias("a"),
                pl.col(time_col).dt.timestamp(time_type.time_unit or "us").alias("t"),
                # XXH64 of the ID's text; rows without an ID all hash to 0, so that they are alike as `unique`
                # holds two nulls alike.
                *([] if id_col is None else [xxh64(pl.col(id_col)).fill_null(0).alias("id_hash")]),
            ),
        ],
        engine="streaming",
    )
    if not keys["_row"].equals(rows["_row"]):
        raise InternalError("co-action key and account columns came back in different row orders")
    rows = rows.drop("_row").hstack([keys["k"]]).drop_nulls(["k", "a", "t"])
    del keys, key_codes
    # The categories live as long as a column uses them: read the names before taking the codes.
    names = account_codes.to_series()  # name of each code, in code order
    rows = rows.with_columns(pl.col("a").to_physical())
    del account_codes
    by_name = names.arg_sort().to_numpy()
    accounts = names.gather(by_name).rename("account")
    code_of = np.empty(len(by_name), dtype=_index_type(max(rows.height, len(by_name))))
    code_of[by_name] = np.arange(len(by_name), dtype=code_of.dtype)

    rows_considered = rows.height
    rows_k = rows["k"].to_numpy()
    rows_a = code_of[rows["a"].to_numpy()]
    rows_t = rows["t"].to_numpy()
    hashes = None if id_col is None else rows["id_hash"].to_numpy()
    del rows, code_of
    # Identical rows (same key, account, time and request ID hash) must not count twice. The check, one sort of
    # the hashes, runs beside the table build; only when a hash repeats are the rows made unique and the table
    # built again.
    with ThreadPoolExecutor(max_workers=1) as pool:
        repeated = None if hashes is None else pool.submit(_has_repeats, hashes)
        table = _Table.build(rows_k, rows_a, rows_t, window, len(by_name))
        if repeated is not None and repeated.result():
            del table
            rows = pl.DataFrame({"k": rows_k, "a": rows_a, "t": rows_t, "id_hash": hashes}).unique()
            table = _Table.build(*(rows[c].to_numpy() for c in "kat"), window, len(by_name))
            del rows
    del rows_k, rows_a, rows_t, hashes
    fingerprints_total = table.key_count
    capped = table.key_accounts > max_accounts if max_accounts > 0 else np.zeros(table.key_count, dtype=bool)
    fingerprints_skipped = int(capped.sum())
    useful = table.key_accounts >= 2
    if include_self_loops:
        useful |= table.key_requests >= 2
    table = table.keep_keys(useful & ~capped)

    src, dst, counts = _count_facts(table, include_self_loops, min_count)
    del table
    codes = pl.DataFrame({"src": src, "dst": dst, "count": counts}, schema=_CODES_SCHEMA)
    return CoactionResult(
        accounts=accounts,
        codes=codes,
        fingerprints_total=fingerprints_total,
        fingerprints_skipped=fingerprints_skipped,
        rows_considered=rows_considered,
    )


def _has_repeats(values: np.ndarray) -> bool:
    """Whether any value occurs twice."""
    ordered = np.sort(values)
    return bool((ordered[1:] == ordered[:-1]).any())


def _bits(top: int) -> int:
    """Bits needed for the non-negative integers 0..top."""
    return max(0, int(top)).bit_length()


def _index_type(top: int) -> type:
    """Integer type for row positions and codes up to `top`: Int32 halves the memory of every row array."""
    return np.int32 if top < 1 << 31 else np.int64


def _unsigned(values: np.ndarray) -> np.ndarray:
    """The same non-negative integers viewed as unsigned, for bit operations with UInt64."""
    return values.view(np.uint32 if values.itemsize == 4 else _U64)


def _workers() -> int:
    """Threads for numpy work (sorts, gathers, scatters release the GIL): as many as polars may use."""
    return max(1, min(pl.thread_pool_size(), os.cpu_count() or 1))


def _in_threads(fn, argument_tuples: list[tuple]) -> list:
    """[fn(*args) for args in argument_tuples], in order, on up to _workers() threads."""
    workers = min(_workers(), len(argument_tuples))
    if workers <= 1:
        return [fn(*args) for args in argument_tuples]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda args: fn(*args), argument_tuples))


def _search(values: np.ndarray, offset: int, side: str, dtype: type) -> np.ndarray:
    """np.searchsorted(values, values + offset, side), block by block into a `dtype` array.

    `values` is sorted, so a block's answers lie between those of its first and last needle: each block
    searches only that slice of `values`, which stays in cache.
    """
    n = len(values)
    out = np.empty(n, dtype=dtype)
    for i in range(0, n, _SEARCH_BLOCK):
        j = min(i + _SEARCH_BLOCK, n)
        block = values[i:j] + offset
        start, stop = np.searchsorted(values, block[[0, -1]], side=side)
        found = np.searchsorted(values[start:stop], block, side=side)
        found += start
        out[i:j] = found
    return out


@dataclass
class _Table:
    """Rows sorted by (key, time), with the (account, position) order beside them.

    `key` is a key index (non-decreasing), `account` the account code, `time` the time in units of a common
    step from the earliest row, `window` the window in those units. `owner` lists row positions sorted by
    (account, position), so each (key, account)'s rows are consecutive and in time order; `owner_account` is
    the account of each entry and `same[i]` tells whether entries i and i + 1 belong to one (key, account).
    `key_accounts` and `key_requests` count distinct accounts and rows per key. `active` marks the rows that
    may give facts (None: all of them).
    """

    key: np.ndarray
    account: np.ndarray
    time: np.ndarray
    window: int
    owner: np.ndarray
    owner_account: np.ndarray
    same: np.ndarray
    key_accounts: np.ndarray
    key_requests: np.ndarray
    account_count: int
    active: np.ndarray | None = None

    @property
    def key_count(self) -> int:
        return len(self.key_accounts)

    @classmethod
    def build(cls, k: np.ndarray, a: np.ndarray, t: np.ndarray, window: int, account_count: int) -> _Table:
        """`k` key codes, `a` account codes (in the index type for n rows), `t` times, in any row order."""
        n = len(k)
        index = a.dtype
        if n == 0:
            empty = np.zeros(0, dtype=index)
            return cls(empty, empty, empty, window, empty, empty, np.zeros(0, dtype=bool), empty, empty, account_count)
        t_min, t_max = int(t.min()), int(t.max())
        if t_max - t_min >= 1 << 62:
            raise BadInputError("co-action times span too wide a range")
        time = t - t_min
        # Divide times by their common step (e.g. whole seconds stored in microseconds): |t1 - t2| <= window
        # exactly when |t1 - t2| / step <= window // step. Fewer bits make the packed sort below fit.
        step = int(np.gcd.reduce(time)) or 1
        if step > 1:
            time //= step
        window //= step
        key_bits, time_bits, account_bits = _bits(k.max()), _bits((t_max - t_min) // step), _bits(account_count - 1)
        time_type = np.int32 if time_bits < 32 else np.int64
        if key_bits + time_bits + account_bits <= 64:
            # Rows are (key, time, account) triples: sorting them packed into one integer is the whole sort.
            packed = k.astype(_U64)
            packed <<= _U64(time_bits)
            packed |= _unsigned(time)
            del time
            packed <<= _U64(account_bits)
            packed |= _unsigned(a)
            sort_u64(packed, in_place=True)
            a = np.empty(n, dtype=index)
            np.bitwise_and(packed, (_U64(1) << _U64(account_bits)) - _U64(1), out=a, casting="unsafe")
            k = np.empty(n, dtype=np.uint32)  # key codes are UInt32
            np.right_shift(packed, _U64(time_bits + account_bits), out=k, casting="unsafe")
            packed &= (_U64(1) << _U64(time_bits + account_bits)) - _U64(1)
            time = np.empty(n, dtype=time_type)
            np.right_shift(packed, _U64(account_bits), out=time, casting="unsafe")
            del packed
        else:
            # polars' sort on both columns, on every thread: numpy's lexsort took 1.6 s on half-scale events in
            # time order but 4.1 s on the same rows in account order (their order in the case), polars 1.5-1.6 s.
            order = pl.DataFrame({"k": k, "t": time}).select(pl.arg_sort_by("k", "t"))["k"].to_numpy()
            k, a, time = k[order], a[order], time[order].astype(time_type)
            del order
        # (account, position) order: positions are in (key, time) order, so within one account the rows of a
        # key are consecutive and in time order. Its sort runs beside the key numbering.
        with ThreadPoolExecutor(max_workers=1) as pool:
            by_account = pool.submit(_order_by_account, a, account_bits)
            new_key = np.empty(n, dtype=bool)
            new_key[0] = True
            np.not_equal(k[1:], k[:-1], out=new_key[1:])
            del k
            key = np.cumsum(new_key, dtype=index)
            key -= 1
            key_requests = np.diff(np.append(np.flatnonzero(new_key), n))
            del new_key
            owner, owner_account = by_account.result()
        key_of_owner = key[owner]
        same = _same_group(owner_account, key_of_owner)
        key_accounts = np.bincount(key_of_owner[np.concatenate(([True], ~same))], minlength=len(key_requests))
        del key_of_owner
        return cls(key, a, time, window, owner, owner_account, same, key_accounts, key_requests, account_count)

    def keep_keys(self, keep: np.ndarray) -> _Table:
        """The table with only the rows of the kept keys giving facts (the key accounting stays as it is).

        The rows of the other keys are dropped when that saves much work, else only marked inactive: windows
        never reach across keys, so inactive rows meet no active row.
        """
        if bool(keep.all()):
            return self
        row_keep = keep[self.key]
        kept = int(np.count_nonzero(row_keep))
        if kept * 4 > len(row_keep) * 3:
            return replace(self, active=row_keep)
        new_index = np.cumsum(row_keep, dtype=self.owner.dtype)
        new_index -= 1
        owner_keep = row_keep[self.owner]
        key = self.key[row_keep]
        owner = new_index[self.owner[owner_keep]]
        owner_account = self.owner_account[owner_keep]
        return replace(
            self,
            key=key,
            account=self.account[row_keep],
            time=self.time[row_keep],
            owner=owner,
            owner_account=owner_account,
            same=_same_group(owner_account, key[owner]),
        )


def _same_group(owner_account: np.ndarray, key_of_owner: np.ndarray) -> np.ndarray:
    """same[i]: owner-order entries i and i + 1 belong to one (key, account)."""
    return (owner_account[1:] == owner_account[:-1]) & (key_of_owner[1:] == key_of_owner[:-1])


def _order_by_account(a: np.ndarray, account_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions sorted by (account, position), and the account of each (both in the type of `a`)."""
    n = len(a)
    index_bits = _bits(n - 1)
    if account_bits + index_bits <= 64:
        packed = a.astype(_U64)
        packed <<= _U64(index_bits)
        packed |= _unsigned(np.arange(n, dtype=a.dtype))
        sort_u64(packed, in_place=True)
        order = np.empty(n, dtype=a.dtype)
        np.bitwise_and(packed, (_U64(1) << _U64(index_bits)) - _U64(1), out=order, casting="unsafe")
        owner_account = np.empty(n, dtype=a.dtype)
        np.right_shift(packed, _U64(index_bits), out=owner_account, casting="unsafe")
        return order, owner_account
    order = np.argsort(a, kind="stable").astype(a.dtype)
    return order, a[order]


def _no_pairs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint32)


def _count_facts(
    table: _Table, include_self_loops: bool, min_count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Account code pairs (A, B), sorted, and per pair the count of requests of A with a different request of B
    on the key within the window, all UInt32; pairs below `min_count` left out."""
    if len(table.key) == 0:
        return _no_pairs()
    first, last, self_loops = _windows(table, include_self_loops)
    # Row s stands for its account in the windows of rows first..last. Expand in owner order, which is
    # account order: chunks of whole accounts of s are contiguous, and no (A, B) pair is split across chunks.
    span_first, width = _in_threads(lambda column: column[table.owner], [(first,), (last,)])
    del first, last
    width -= span_first
    width += 1
    np.maximum(width, 0, out=width)
    if table.active is not None:
        width[~table.active[table.owner]] = 0
    pieces, low, pair_type = _count_pieces(table, span_first, width, self_loops, min_count)
    del span_first, width
    return _merge_pieces(pieces, table.account_count, low, pair_type)


def _windows(table: _Table, include_self_loops: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """For each row s, the rows first[s]..last[s] in whose windows s is the first row of its account (none when
    first > last); and each account's self-loop count when `include_self_loops`, else None."""
    n = len(table.key)
    window = table.window
    gap = window + 1
    # The shared axis `c` grows by at most window + 1 per row; refuse what would overflow Int64.
    if n * gap >= 1 << 62:
        raise BadInputError(f"co-action window of {window} time units is too large for {n:,} rows")
    # Int32 where it fits (coarse timestamps, e.g. whole seconds): half the bytes for the searches below.
    narrow = table.time.dtype == np.int32 and (n + 1) * gap < 1 << 31
    c = np.empty(n, dtype=np.int32 if narrow else np.int64)
    c[0] = gap
    np.subtract(table.time[1:], table.time[:-1], out=c[1:])
    np.minimum(c[1:], gap, out=c[1:])
    c[1:][table.key[1:] != table.key[:-1]] = gap
    np.cumsum(c, out=c)

    # Previous (and, for self-loops, next) row of the same (key, account), from the owner order.
    owner, same = table.owner, table.same
    index = owner.dtype
    prev = np.full(n, -1, dtype=index)
    prev[owner[1:][same]] = owner[:-1][same]

    lo, hi = _in_threads(lambda offset, side: _search(c, offset, side, index), [(-window, "left"), (window, "right")])
    hi -= 1  # the last row of each window, not the first one past it
    # Windows are symmetric (s is in the window of r exactly when r is in the window of s), so lo[r] <= s
    # <=> r <= hi[s], and s <= hi[r] <=> r >= lo[s]: row s is the first of its account in the window of r
    # exactly when lo[s] <= r <= hi[s] and r > hi[prev[s]].
    first, last = lo, hi
    with_prev = np.flatnonzero(prev >= 0)
    first[with_prev] = np.maximum(first[with_prev], hi[prev[with_prev]] + 1)
    del with_prev

    self_loops = None
    if include_self_loops:
        # (A, A) counts the requests of A with another request of A on the key in the window: its neighbours in
        # the owner order are the nearest such requests.
        nxt = np.full(n, -1, dtype=np.int64)
        nxt[owner[:-1][same]] = owner[1:][same]
        near_own = (prev >= 0) & (c - c[np.maximum(prev, 0)] <= window)
        near_own |= (nxt >= 0) & (c[np.maximum(nxt, 0)] - c <= window)
        del nxt
        if table.active is not None:
            near_own &= table.active
        self_loops = np.bincount(table.account[near_own], minlength=table.account_count)
        del near_own
    return first, last, self_loops


def _count_pieces(
    table: _Table, span_first: np.ndarray, width: np.ndarray, self_loops: np.ndarray | None, min_count: int
) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray, int]], np.integer, type]:
    """The facts of the spans (owner order: row s stands for its account in the windows of rows span_first ..
    span_first + width - 1), counted in chunks of whole accounts B on all threads. Per chunk with pairs: packed
    pairs (A above B - B0) sorted, their counts, the sources A and B0; then the mask of B - B0 and the pair type."""
    index = table.owner.dtype
    span_account = table.owner_account
    facts_before = np.zeros(len(width) + 1, dtype=np.int64)
    np.cumsum(width, out=facts_before[1:])
    account_starts = run_starts(span_account)
    # Small inputs still split into a few chunks, so that every thread gets a share.
    per_chunk = min(_FACTS_PER_CHUNK, max(_MIN_FACTS_PER_CHUNK, int(facts_before[-1]) // 4))
    chunk_of_account = facts_before[account_starts] // per_chunk
    cuts = account_starts[run_starts(chunk_of_account)]
    bounds = np.append(cuts, len(width))
    chunks = [(start, stop) for start, stop in zip(bounds[:-1], bounds[1:]) if facts_before[stop] > facts_before[start]]
    # A pair packs A above B - B0, B0 the chunk's first account B: a chunk covers few accounts B, so the pair
    # mostly fits one UInt32, half the bytes to sort.
    b_bits = max((_bits(span_account[stop - 1] - span_account[start]) for start, stop in chunks), default=0)
    pair_type = np.uint32 if _bits(table.account_count - 1) + b_bits <= 32 else _U64
    shift = pair_type(b_bits)
    low = (pair_type(1) << shift) - pair_type(1)
    shifted_account_of_row = table.account.astype(pair_type) << shift

    def count_chunk(start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Counted pairs of the spans start..stop, sorted: packed pairs, counts, the sources A, and B0."""
        w = width[start:stop]
        total = int(facts_before[stop] - facts_before[start])
        b0 = int(span_account[start])
        # Spans laid end to end: within a span r steps by 1, and at a span's start it jumps to the span's first
        # row, so one cumulative sum builds r. The spans of one account B are consecutive.
        nonempty = w > 0
        span_start = (facts_before[start:stop] - facts_before[start])[nonempty]
        f, ww = span_first[start:stop][nonempty], w[nonempty]
        r = np.ones(total, dtype=index)
        r[span_start[1:]] = f[1:] - (f[:-1] + ww[:-1] - 1)
        r[0] = f[0]
        np.cumsum(r, out=r)
        pair = shifted_account_of_row[r]
        chunk_accounts = span_account[start:stop][nonempty]
        new_account = run_starts(chunk_accounts)
        own = chunk_accounts[new_account]  # the chunk's accounts, sorted (owner order is account order)
        del r
        account_facts = np.diff(span_start[new_account], append=total)
        pair |= np.repeat((own - b0).astype(pair_type), account_facts)
        del nonempty, span_start, f, ww, chunk_accounts, new_account, account_facts
        # Sorting and run-length counting beats hashing millions of mostly distinct pairs.
        if pair.dtype == _U64:
            sort_u64(pair, in_place=True)
        else:
            pair.sort()
        runs = pl.Series(pair).rle().struct.unnest()
        del pair
        value, count = runs["value"].to_numpy(), runs["len"].to_numpy()
        del runs
        # Every row r meets its own account, so there is one (A, A) run per account A with active rows in the
        # chunk. It counts A's rows, not a co-action: drop it, or put the self-loop count in its place.
        own_pair = (own.astype(pair_type) << shift) | (own - b0).astype(pair_type)
        at = np.minimum(np.searchsorted(value, own_pair), len(value) - 1)
        found = value[at] == own_pair  # not for an account whose rows here are all inactive
        own, at = own[found], at[found]
        keep = count >= min_count if min_count > 1 else np.ones(len(value), dtype=bool)
        if self_loops is None:
            keep[at] = False
            value, count = value[keep], count[keep]
        else:
            loops = self_loops[own]
            keep[at] = loops >= min_count
            value, count = value[keep], count[keep]
            count[np.cumsum(keep)[at[loops >= min_count]] - 1] = loops[loops >= min_count]
        source = np.empty(len(value), dtype=np.uint32)
        np.right_shift(value, shift, out=source, casting="unsafe")
        return value, count, source, b0

    pieces = [piece for piece in _in_threads(count_chunk, chunks) if len(piece[0])]
    return pieces, low, pair_type


def _merge_pieces(
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]], account_count: int, low: np.integer, pair_type: type
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pieces of `_count_pieces` as one (src, dst, count) table sorted by (src, dst)."""
    total = sum(len(piece[0]) for piece in pieces)
    if total == 0:
        return _no_pairs()
    dst = np.empty(total, dtype=np.uint32)
    if len(pieces) == 1:
        pairs, piece_counts, src, b0 = pieces[0]
        np.bitwise_and(pairs, low, out=dst, casting="unsafe")
        dst += b0
        return src, dst, piece_counts
    counts = np.empty(total, dtype=pieces[0][1].dtype)
    # The pieces (chunks of increasing accounts B) are disjoint and each is sorted by (A, B), so in the result a
    # source A lists its pairs from each piece in piece order: a stable counting sort on A places every pair
    # directly, with no comparison sort.
    runs = []  # per piece: its sources A and where each one's run of pairs starts
    position_type = _index_type(total)
    placed = np.zeros(account_count + 1, dtype=position_type)
    for pairs, _, source, _ in pieces:
        starts = run_starts(source)
        runs.append((source[starts], starts, np.diff(np.append(starts, len(pairs)))))
        placed[runs[-1][0] + 1] += runs[-1][2]
    src = np.repeat(np.arange(account_count, dtype=np.uint32), placed[1:])  # the result is sorted by A
    np.cumsum(placed, out=placed)  # where each source A starts in the result
    moves = []
    for sources, starts, lengths in runs:
        # Position in the result = start of A + pairs of A already placed + rank of the pair in A's run here.
        moves.append(((placed[sources] - starts).astype(position_type), lengths))
        placed[sources] += lengths
    del runs

    def place(piece: tuple, move: tuple[np.ndarray, np.ndarray]) -> None:
        pairs, piece_counts, _, b0 = piece
        position = np.repeat(*move)
        position += np.arange(len(pairs), dtype=position_type)
        local = pairs & low
        local += pair_type(b0)
        dst[position] = local
        counts[position] = piece_counts

    _in_threads(place, list(zip(pieces, moves)))  # the pieces fill disjoint positions
    return src, dst, counts
