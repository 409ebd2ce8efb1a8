"""The account table: pseudonymised into CASE/accounts.parquet, and account IDs that differ only by Unicode
normalisation or surrounding white space (lookalikes).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import polars as pl
import pyarrow as pa

from forensics.casefiles import ACCOUNT_SCHEMA, PARQUET_WRITE, UTC_US
from forensics.errors import CorruptInputError, MissingColumnError, NoInputError, UncoercibleTypeError
from forensics.fsio import sha256_file
from forensics.ingest.discover import InputFile, open_parquet, short_error
from forensics.ingest.parse import as_text, column_kind, timestamp_expr
from forensics.ingest.pseudonymise import pseudonymise_series
from forensics.keys import CaseKey
from forensics.schema import ACCOUNT_COLUMNS


def ingest_accounts(path: Path, key: CaseKey, case: Path) -> dict:
    """Pseudonymise the account table; the first row of a repeated account_id wins, in file order."""
    inp = InputFile(path=Path(path), rel=Path(path).name)
    if not inp.path.is_file():
        raise NoInputError(f"{path}: account table not found")
    size = inp.path.stat().st_size
    parquet = open_parquet(inp, size)
    schema = parquet.schema_arrow
    if "account_id" not in schema.names:
        raise MissingColumnError(f"{inp.rel}: required column 'account_id' is missing from the account table")
    for column in ACCOUNT_COLUMNS:
        if column in schema.names:
            kind = column_kind(schema.field(column).type)
            allowed = {"timestamp", "date", "string", "binary", "int", "null"} if column == "created_at" else {
                "string", "binary", "int", "null"}
            if kind not in allowed:
                raise UncoercibleTypeError(
                    f"{inp.rel}: column {column!r} has type {schema.field(column).type}, which cannot be read as {column}"
                )
    try:
        table = pl.from_arrow(parquet.read())
    except (pa.ArrowException, OSError) as exc:
        raise CorruptInputError(f"{inp.rel}: corrupt Parquet data ({short_error(exc)})") from None
    assert isinstance(table, pl.DataFrame)
    kinds = {c: column_kind(schema.field(c).type) for c in schema.names}

    def text(column: str) -> pl.Expr:
        return as_text(column, kinds[column]) if column in kinds else pl.lit(None, dtype=pl.String)

    created = (
        timestamp_expr("created_at", kinds["created_at"], table.schema["created_at"], "s")
        if "created_at" in kinds
        else pl.lit(None, dtype=UTC_US)
    )
    frame = table.select(
        text("account_id").alias("_account"),
        created.alias("created_at"),
        text("email_domain").str.strip_chars().str.to_lowercase().alias("_email"),
        text("payment_fingerprint").alias("_payment"),
        text("billing_country").str.strip_chars().str.to_uppercase().alias("billing_country"),
        text("org_id").alias("_org"),
    )
    missing = frame["_account"].is_null() | (frame["_account"].str.strip_chars() == "")
    frame = frame.filter(~missing)
    deduped = frame.unique(subset="_account", keep="first", maintain_order=True)
    stem = deduped["_account"].str.to_lowercase().str.replace_all(r"\d+", "")
    out = deduped.select(
        pseudonymise_series(deduped["_account"], key, "account").alias("account_pseudonym"),
        pl.col("created_at"),
        pseudonymise_series(deduped["_email"], key, "email_domain").alias("email_domain_fingerprint"),
        pseudonymise_series(deduped["_payment"], key, "payment").alias("payment_pseudonym"),
        pl.col("billing_country"),
        pseudonymise_series(deduped["_org"], key, "org").alias("org_pseudonym"),
        pseudonymise_series(stem, key, "stem").alias("signup_stem_fingerprint"),
    ).sort("account_pseudonym")
    out.select([pl.col(c).cast(t) for c, t in ACCOUNT_SCHEMA.items()]).write_parquet(
        case / "accounts.parquet", **PARQUET_WRITE
    )
    return {
        "name": inp.rel,
        "size": size,
        "sha256": sha256_file(inp.path),
        "rows": table.height,
        "accounts": out.height,
        "duplicate_rows": frame.height - deduped.height,
        "missing_account_id": int(missing.sum()),
        "columns_present": sorted(c for c in ACCOUNT_COLUMNS if c in kinds),
    }


def lookalike_keys(raw_ids: pl.Series, key: CaseKey) -> pl.DataFrame:
    """(_account, _norm, account_pseudonym) of each distinct raw account ID, _norm keyed by the ID's
    NFKC-normalised, trimmed form: IDs with one _norm and several pseudonyms are lookalikes."""
    distinct = raw_ids.drop_nulls().unique()
    norms = pl.Series([unicodedata.normalize("NFKC", raw).strip() for raw in distinct.to_list()], dtype=pl.String)
    return pl.DataFrame(
        {
            "_account": distinct,
            "_norm": key.pseudonym_column("lookalike", norms),
            "account_pseudonym": key.pseudonym_column("account", distinct),
        },
        schema={"_account": pl.String, "_norm": pl.String, "account_pseudonym": pl.String},
    )


def lookalike_groups(keys: pl.DataFrame) -> list[list[str]]:
    """The sorted groups of pseudonyms that share a _norm (`lookalike_keys` rows, repeats allowed)."""
    groups = (
        keys.select("_norm", "account_pseudonym").unique().group_by("_norm").agg(pl.col("account_pseudonym").sort())
        .filter(pl.col("account_pseudonym").list.len() > 1)["account_pseudonym"].to_list()
    )
    return sorted(groups)


def account_lookalikes(raw_ids: pl.Series, key: CaseKey) -> list[list[str]]:
    """Pseudonyms of account IDs that are equal after NFKC normalisation and trimming.

    They stay separate accounts (IDs are taken byte for byte); the examiner is told, never silently merged.
    """
    return lookalike_groups(lookalike_keys(raw_ids, key))
