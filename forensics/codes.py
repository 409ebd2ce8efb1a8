"""Integer account codes, so that joins, sorts and pair counting run on UInt32 instead of 32-character strings.

Codes follow pseudonym order (code i is the i-th pseudonym in sorted order), so sorting by code sorts by
pseudonym and outputs decoded at the end are in the same order as if the work had run on the strings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import polars_hash  # noqa: F401  (registers the .nchash namespace: XXH64)

from forensics.errors import InternalError
from forensics.radix import sort_u64

ACCOUNT = "account_pseudonym"


def account_codes(events: pl.LazyFrame, accounts: pl.LazyFrame | None = None) -> pl.DataFrame:
    """Every account pseudonym (`account_pseudonym`) with its UInt32 `code`, sorted."""
    names = events.select(ACCOUNT)
    if accounts is not None:
        names = pl.concat([names, accounts.select(ACCOUNT)])
    return (
        names.unique()
        .drop_nulls()
        .sort(ACCOUNT)
        .with_row_index("code")
        .collect(engine="streaming")
    )


def collect_coded(frame: pl.LazyFrame, codes: pl.DataFrame, *cols: pl.Expr) -> pl.DataFrame:
    """Every row of `frame` as its account `code` plus `cols`, collected as compact columns.

    `codes` numbers its pseudonyms 0..n-1 (as `account_codes` does). The rows are streamed once; each
    pseudonym becomes its code on the way, as its index in an Enum of the names in code order (cheaper than
    a join of every row against `codes`). Rows whose account is missing from `codes` are dropped.
    """
    names = decode(codes)
    if codes.height and codes["code"].max() != codes.height - 1:
        raise InternalError("account codes must number the accounts 0..n-1")
    code = pl.col(ACCOUNT).cast(pl.String).cast(pl.Enum(names), strict=False).to_physical().cast(pl.UInt32)
    return frame.select(code.alias("code"), *cols).drop_nulls("code").collect(engine="streaming")


def codes_of(names: pl.Series, codes: pl.DataFrame) -> pl.Series:
    """The UInt32 code in `codes` of each pseudonym in `names`, in the same order; null where it has none."""
    local = pl.DataFrame({ACCOUNT: names.cast(pl.String)})
    return local.join(codes, on=ACCOUNT, how="left", maintain_order="left")["code"].cast(pl.UInt32)


def decode(codes: pl.DataFrame) -> pl.Series:
    """The pseudonym of each code, as a Series indexed by code."""
    return codes.sort("code")[ACCOUNT]


def xxh64(*fields: pl.Expr, seed: int = 0) -> pl.Expr:
    """XXH64 (xxHash's 64-bit algorithm, by polars-hash) of the UTF-8 text of `fields`, as UInt64: a hash defined
    by its algorithm, so another polars, or any xxHash implementation (a Spark executor's), gives the same value.

    The text of one field is its String cast (a string as it is, an integer in decimal); of several, those texts
    joined by ":", which tells the tuples apart as long as no field's text holds a ":" (integers, pseudonyms and
    hex fingerprints do not). Null when a field is null.
    """
    if not fields:
        raise ValueError("xxh64 needs at least one field")
    texts = [field.cast(pl.String) for field in fields]
    text = texts[0] if len(texts) == 1 else pl.concat_str(texts, separator=":")
    return text.nchash.xxhash64(seed=seed)


def run_starts(values: np.ndarray) -> np.ndarray:
    """Indices where a run of equal values begins in a sorted array."""
    return np.flatnonzero(np.r_[True, values[1:] != values[:-1]])


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted. By one sort: numpy's own `unique` hashes 64-bit values, far slower."""
    ordered = sort_u64(values) if values.dtype == np.uint64 else np.sort(values)
    return ordered[run_starts(ordered)] if len(ordered) else ordered


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def mix64(values: np.ndarray, state: np.ndarray | None = None) -> np.ndarray:
    """splitmix64 over uint64 `values`, chained onto `state`: a specified, library-independent 64-bit hash."""
    with np.errstate(over="ignore"):
        z = np.asarray(values).astype(np.uint64) + _GOLD
        if state is not None:
            z = z ^ (state * _GOLD)
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


@dataclass(frozen=True)
class AccountOrder:
    """A total order of the accounts that depends on their activity, never on their pseudonyms.

    Every choice that shapes the graph (salting rings, tie-breaks, HDBSCAN's node order, cluster numbering)
    follows it, so the same logs give the same groups under any key. `digest` is a hash of the account's own
    activity (see `features.activity_digest`); `rank` is each code's place in (digest, code) order, the code
    breaking only exact digest ties (accounts whose first and last request, volume and tokens all coincide).
    Both are indexed by account code.
    """

    digest: np.ndarray
    rank: np.ndarray

    @classmethod
    def from_digests(cls, digest: np.ndarray) -> "AccountOrder":
        digest = np.asarray(digest, dtype=np.uint64)
        by = np.lexsort((np.arange(len(digest)), digest))
        rank = np.empty(len(digest), dtype=np.int64)
        rank[by] = np.arange(len(digest))
        return cls(digest, rank)
