"""Integer account codes, so that joins, sorts and pair counting run on UInt32 instead of 32-character strings.

Codes follow pseudonym order (code i is the i-th pseudonym in sorted order), so sorting by code sorts by
pseudonym and outputs decoded at the end are in the same order as if the work had run on the strings.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from forensics.errors import InternalError

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


def run_starts(values: np.ndarray) -> np.ndarray:
    """Indices where a run of equal values begins in a sorted array."""
    return np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
