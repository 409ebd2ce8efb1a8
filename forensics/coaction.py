"""Co-action edges: accounts that send the same prompt fingerprint within a time window of each other.

Definition (QUT coordination-network-toolkit's `co_retweet`, see ../shared/peer-data/README.md): for the
directed pair (A, B), `count` is the number of distinct requests of A that have a *different* request of B
with the same key at most `window_s` seconds apart, inclusive. Pairs below `min_count` are dropped; both
directions are written. For A != B this equals the toolkit's `co_retweet_network` edge for edge (checked in
tests/test_peer.py on real data). Self-loops differ on purpose: the toolkit also matches a message with itself,
so every account gets a self-loop; here (A, A) needs a second request of A in the window.

How it stays near-linear (no loop over account pairs, no self-join on the key):

1. One pass turns keys and accounts into integer codes. Keep candidate rows only: keys used by at least two
   accounts (or two requests, for self-loops) and by at most `max_accounts` accounts.
2. Sort by (key, time) and lay every key on one integer axis `c`: within a key, consecutive gaps are
   capped at window+1 and consecutive keys are window+1 apart. Two rows are within the window of each
   other on `c` exactly when they share the key and are within the window in time, so each row's window is
   the index range [lo, hi] found by a binary search on `c`.
3. For row s, let p be the previous row of the same (key, account). s is the *first* row of its account
   inside the window of row r exactly when lo[r] <= s <= hi[r] and p < lo[r]. Since lo and hi are
   non-decreasing, those r form one contiguous range, read off cumulative counts of lo and hi. Expanding
   these ranges yields every (request r, account B with a request in r's window) fact exactly once, so the
   work is proportional to the evidence itself, not to the rows of the busiest account in a window.
4. Count facts per (account of r, B) in chunks of whole accounts (bounded memory, disjoint pieces): pack
   both account codes into one UInt64, sort and run-length count.

All of this is polars column work over the rows (the row-level side of the design); only the edge table is
account-level. The result does not depend on row order or thread count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from forensics.errors import BadInputError, MissingColumnError

# Facts expanded at once; bounds peak memory of step 4 to a few hundred MB.
_FACTS_PER_CHUNK = 1 << 24
_SHIFT = 1 << 32  # packs two account codes into one UInt64 group key
_UNITS_PER_SECOND = {"ns": 1_000_000_000, "us": 1_000_000, "ms": 1_000}


@dataclass(frozen=True)
class CoactionResult:
    """Directed co-action edges and the accounting the report quotes."""

    edges: pl.DataFrame
    fingerprints_total: int
    fingerprints_skipped: int
    rows_considered: int


def coaction_edges(
    events: pl.LazyFrame,
    *,
    window_s: int,
    min_count: int,
    max_accounts: int,
    account_col: str = "account_pseudonym",
    key_col: str = "prompt_fingerprint",
    time_col: str = "timestamp",
    id_col: str = "request_id",
    include_self_loops: bool = False,
) -> CoactionResult:
    """Co-action edges between accounts.

    `edges` has String `src`, `dst` and Int64 `count`, sorted by (src, dst), with both directions and,
    unless `include_self_loops`, no src == dst rows. `rows_considered` counts rows with an account, a key
    and a time; `fingerprints_total` the distinct keys among them; `fingerprints_skipped` the keys used by
    more than `max_accounts` distinct accounts (0 = no cap), which contribute no edges. Rows are requests:
    request IDs are unique in a case; duplicated rows (same account, key, time and request ID) count once.
    """
    if window_s < 0:
        raise BadInputError(f"co-action window must be >= 0 seconds, got {window_s}")
    if min_count < 1:
        raise BadInputError(f"minimum co-action count must be >= 1, got {min_count}")
    if max_accounts < 0:
        raise BadInputError(f"co-action max accounts must be >= 0 (0 = no cap), got {max_accounts}")

    schema = events.collect_schema()
    missing = [c for c in (account_col, key_col, time_col, id_col) if c not in schema]
    if missing:
        raise MissingColumnError(f"co-action needs column(s) {', '.join(missing)}")
    time_type = schema[time_col]
    if not isinstance(time_type, pl.Datetime):
        raise BadInputError(f"co-action time column {time_col!r} must be a Datetime, found {time_type}")
    window = window_s * _UNITS_PER_SECOND[time_type.time_unit or "us"]

    # One pass over the rows turns keys and accounts into integer codes (fresh, private categories), so that
    # every later step works on integers. Codes follow first appearance; only equality of key codes is
    # used, and account codes are renumbered in name order below.
    key_codes, account_codes = pl.Categories.random(), pl.Categories.random()
    rows = (
        events.select(
            pl.col(key_col).cast(pl.String).cast(pl.Categorical(key_codes)).to_physical().alias("k"),
            pl.col(account_col).cast(pl.String).cast(pl.Categorical(account_codes)).alias("account"),
            pl.col(time_col).dt.timestamp(time_type.time_unit or "us").alias("t"),
            pl.col(id_col).cast(pl.String).hash(seed=0).alias("id_hash"),
        )
        .drop_nulls(["k", "account", "t"])
        .collect()
    )
    del key_codes
    names = account_codes.to_series()  # name of each code, in code order
    rank_of_code = names.rank("ordinal").cast(pl.UInt64) - 1
    rows = rows.with_columns(a=rank_of_code.gather(rows["account"].to_physical())).drop("account")
    accounts = names.sort()
    del account_codes

    per_key = rows.group_by("k").agg(accounts=pl.col("a").n_unique(), requests=pl.len())
    rows_considered = rows.height
    fingerprints_total = per_key.height
    capped = pl.col("accounts") > max_accounts if max_accounts > 0 else pl.lit(False)
    fingerprints_skipped = int(per_key.select(capped.sum()).item() or 0) if per_key.height else 0
    useful = pl.col("accounts") >= 2
    if include_self_loops:
        useful = useful | (pl.col("requests") >= 2)
    keep_keys = per_key.filter(useful & ~capped)["k"]
    coded = rows.filter(pl.col("k").is_in(keep_keys.implode()))
    del rows
    # Request IDs are unique in a case; elsewhere, identical rows (same key, account, time and request ID
    # hash) must not count twice.
    if coded["id_hash"].n_unique() < coded.height:
        coded = coded.unique(["k", "a", "t", "id_hash"])
    coded = coded.select("k", "a", "t")
    counts = _count_facts(coded, window, include_self_loops)
    # Account codes follow the sorted account names, so sorting codes sorts names.
    kept = counts.filter(pl.col("count") >= min_count)
    edges = pl.DataFrame(
        {
            "src": accounts.gather(kept["pair"] // _SHIFT),
            "dst": accounts.gather(kept["pair"] % _SHIFT),
            "count": kept["count"].cast(pl.Int64),
        }
    )
    return CoactionResult(
        edges=edges,
        fingerprints_total=fingerprints_total,
        fingerprints_skipped=fingerprints_skipped,
        rows_considered=rows_considered,
    )


def _count_facts(coded: pl.DataFrame, window: int, include_self_loops: bool) -> pl.DataFrame:
    """Per packed (A, B) code pair, sorted: requests of A with a different request of B on the key within `window`.

    `coded` has the key code `k`, the account code `a` (UInt64) and the time `t` of each candidate row.
    """
    n = coded.height
    if n == 0:
        return pl.DataFrame(schema={"pair": pl.UInt64, "count": pl.UInt64})
    # The shared axis `c` grows by at most window + 1 per row; refuse what would overflow Int64.
    if n * (window + 1) >= 1 << 62:
        raise BadInputError(f"co-action window of {window} time units is too large for {n:,} rows")

    gap = window + 1
    new_key = (pl.col("k") != pl.col("k").shift(1)).fill_null(True)
    axis = (
        _sort_by_key_then_time(coded)
        .lazy()
        .select(
            "a",
            # One integer per (key, account), for finding each row's previous and next own request.
            owner=pl.col("k").cast(pl.UInt64) * _SHIFT + pl.col("a"),
            c=pl.when(new_key)
            .then(gap)
            .otherwise(pl.min_horizontal(pl.col("t").diff(), pl.lit(gap)))
            .cum_sum(),
        )
        .with_row_index("s")
        .with_columns(pl.col("s").cast(pl.Int64))
        .collect()
    )
    # Previous (and, for self-loops, next) row of the same (key, account): a stable sort by owner puts each
    # owner's rows side by side in s order; neighbours are scattered back to s positions.
    by_owner = axis.select("s", "owner").sort("owner", maintain_order=True)
    order = by_owner["s"].to_numpy()
    owners = by_owner["owner"].to_numpy()
    del by_owner
    same = owners[1:] == owners[:-1]  # same[i]: rows order[i] and order[i + 1] share an owner
    prev = np.full(n, -1, dtype=np.int64)
    prev[order[1:][same]] = order[:-1][same]
    nxt = np.full(n, -1, dtype=np.int64)
    nxt[order[:-1][same]] = order[1:][same]
    del order, owners, same

    c = axis["c"].to_numpy()
    lo = axis["c"].search_sorted(axis["c"] - window, side="left").to_numpy().astype(np.int64)
    hi = axis["c"].search_sorted(axis["c"] + window, side="right").to_numpy().astype(np.int64) - 1
    # lo and hi are non-decreasing, so "how many r have lo[r] <= x" is a cumulative count, not a search.
    lo_at_most = np.cumsum(np.bincount(lo, minlength=n))
    hi_at_most = np.cumsum(np.bincount(hi, minlength=n))
    s_idx = np.arange(n, dtype=np.int64)
    first_after_prev = np.where(prev >= 0, lo_at_most[np.maximum(prev, 0)], 0)  # first r with lo[r] > prev
    first_reaching = np.where(s_idx > 0, hi_at_most[np.maximum(s_idx - 1, 0)], 0)  # first r with hi[r] >= s
    axis = axis.drop("owner").with_columns(
        first=pl.Series(np.maximum(first_after_prev, first_reaching)),
        last=pl.Series(lo_at_most - 1),  # last r with lo[r] <= s
    )
    if include_self_loops:
        near_prev = (prev >= 0) & (c - c[np.maximum(prev, 0)] <= window)
        near_next = (nxt >= 0) & (c[np.maximum(nxt, 0)] - c <= window)
        axis = axis.with_columns(near_own=pl.Series(near_prev | near_next))
    del c, lo, hi, lo_at_most, hi_at_most, s_idx, first_after_prev, first_reaching, prev, nxt

    pieces: list[pl.DataFrame] = []
    if include_self_loops:
        pieces.append(
            axis.lazy()
            .filter(pl.col("near_own"))
            .group_by(pair=pl.col("a") * _SHIFT + pl.col("a"))
            .agg(count=pl.len().cast(pl.UInt64))
            .sort("pair")
            .collect()
        )

    # Row s stands for its account in the windows of rows first..last. Expand in chunks of whole accounts
    # of s, so that no (A, B) pair is split across chunks and the pieces need no merging.
    spans = axis.select("a", "first", "last").filter(pl.col("last") >= pl.col("first"))
    width = (spans["last"] - spans["first"] + 1).to_numpy()
    codes = spans["a"].to_numpy().astype(np.int64)
    per_account = np.bincount(codes, weights=width) if len(codes) else np.zeros(0)
    chunk_of_account = ((np.cumsum(per_account) - per_account) // _FACTS_PER_CHUNK).astype(np.int64)
    chunk_of_span = chunk_of_account[codes] if len(codes) else np.zeros(0, dtype=np.int64)
    chunks = np.unique(chunk_of_span)
    del width, codes, per_account, chunk_of_account
    account_of_row = axis["a"].to_numpy()
    for chunk_id in chunks:
        chunk = spans if len(chunks) == 1 else spans.filter(pl.Series(chunk_of_span == chunk_id))
        first = chunk["first"].to_numpy()
        width = chunk["last"].to_numpy() - first + 1
        r = np.arange(int(width.sum()), dtype=np.int64) + np.repeat(first - (np.cumsum(width) - width), width)
        ra = account_of_row[r]
        sa = np.repeat(chunk["a"].to_numpy(), width)
        del r
        keep = ra != sa
        # Sorting and run-length counting beats hashing millions of mostly distinct pairs.
        runs = pl.Series("pair", ra[keep] * np.uint64(_SHIFT) + sa[keep]).sort().rle().struct.unnest()
        del ra, sa, keep
        pieces.append(runs.select(pair=pl.col("value"), count=pl.col("len").cast(pl.UInt64)))

    if not pieces:
        return pl.DataFrame(schema={"pair": pl.UInt64, "count": pl.UInt64})
    if len(pieces) == 1:
        return pieces[0].set_sorted("pair")  # every piece is built sorted
    # Self-loop pairs (A, A) never occur in the expansion, and chunks hold whole accounts: pieces are disjoint.
    return pl.concat(pieces).sort("pair")


def _sort_by_key_then_time(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows ordered by (k, t): one packed integer sort when it fits in 63 bits, else two stable sorts."""
    if frame.height == 0:
        return frame
    t_min, t_max, k_max = frame.select(pl.col("t").min().alias("lo"), pl.col("t").max().alias("hi"), pl.col("k").max()).row(0)
    span = t_max - t_min + 1
    if (k_max + 1) * span < 1 << 63:
        packed = pl.col("k").cast(pl.UInt64) * span + (pl.col("t") - t_min).cast(pl.UInt64)
        return frame.sort(packed)
    return frame.sort("t").sort("k", maintain_order=True)
