"""Row validation: canonical IP addresses, the quarantine reason of every row (classify_frame) and the quarantine
records of rejected rows with their raw values as text.
"""

from __future__ import annotations

import ipaddress

import polars as pl

from forensics.casefiles import QUARANTINE_META, UTC_US
from forensics.ingest.discover import FileStats
from forensics.ingest.parse import INT64_MAX, FilePlan, Window, as_text, int_expr, plausible_int, timestamp_expr
from forensics.ingest.pseudonymise import pseudonymise_series
from forensics.keys import CaseKey
from forensics.schema import PLAUSIBLE_FROM, PLAUSIBLE_UNTIL


# Bound of the raw IP text -> parse result memo kept across batches: emptied when exceeded.
_CACHE_MAX = 1_000_000


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}$"
# IPv6 already in the text Python's ipaddress prints (RFC 5952): eight lower-case hextets without leading zeros
# and no run of two or more zero hextets (those would be written "::"). With its first three hextets non-zero, its
# /48 is those three and "::/48". Every other IPv6 form goes through ipaddress.
_HEXTET = r"(?:[1-9a-f][0-9a-f]{0,3}|0)"
_CANONICAL_IPV6 = rf"^{_HEXTET}(?::{_HEXTET}){{7}}$"
_ZERO_RUN = r"(?:^|:)0:0(?::|$)"
_NONZERO_48 = r"^([1-9a-f][0-9a-f]{0,3}:[1-9a-f][0-9a-f]{0,3}:[1-9a-f][0-9a-f]{0,3}):"


def _canonical_address(raw: str) -> tuple[str, str] | None:
    """(address, network) in canonical text, or None when `raw` is not an IP address."""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    bits = 24 if address.version == 4 else 48
    return str(address), str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


class IpCache:
    """Validates and pseudonymises the distinct IPs of a batch.

    Canonical dotted-quad IPv4 and canonical IPv6 (the bulk of real logs) are handled in polars; everything else
    (compressed or upper-case IPv6, IPv4-mapped IPv6, leading zeros, garbage) goes through Python's ipaddress,
    each raw text once per run. Addresses and networks are hashed once per batch.
    """

    def __init__(self, key: CaseKey) -> None:
        self.key = key
        self.parsed: dict[str, tuple[str, str] | None] = {}  # raw text of non-canonical IPv4 -> parse result

    def table(self, values: pl.Series) -> pl.DataFrame:
        uniq = pl.DataFrame({"_ip_raw": values.drop_nulls().unique()}, schema={"_ip_raw": pl.String})
        raw = pl.col("_ip_raw")
        is_v4 = raw.str.contains(_CANONICAL_IPV4)
        is_v6 = raw.str.contains(_CANONICAL_IPV6) & ~raw.str.contains(_ZERO_RUN) & raw.str.contains(_NONZERO_48)
        fast = uniq.filter(is_v4 | is_v6).select(
            "_ip_raw",
            raw.alias("_addr"),
            pl.when(is_v4)
            .then(raw.str.replace(r"\.[0-9]+$", ".0") + "/24")
            .otherwise(raw.str.extract(_NONZERO_48) + "::/48")
            .alias("_net"),
        )
        slow_raw = uniq.filter(~(is_v4 | is_v6))["_ip_raw"].to_list()
        _bounded(self.parsed)
        for raw in slow_raw:
            if raw not in self.parsed:
                self.parsed[raw] = _canonical_address(raw)
        parsed = [self.parsed[raw] for raw in slow_raw]
        slow = pl.DataFrame(
            {"_ip_raw": slow_raw, "_addr": [p[0] if p else None for p in parsed], "_net": [p[1] if p else None for p in parsed]},
            schema={"_ip_raw": pl.String, "_addr": pl.String, "_net": pl.String},
        )
        both = pl.concat([fast, slow])
        return both.select(
            "_ip_raw",
            pseudonymise_series(both["_addr"], self.key, "ip").alias("ip_pseudonym"),
            pseudonymise_series(both["_net"], self.key, "net").alias("net_pseudonym"),
            pl.col("_addr").is_not_null().alias("_ip_ok"),
        )


def _bounded(memo: dict) -> dict:
    """`memo`, emptied first when it holds more than _CACHE_MAX entries (a memo, not a record: losing it costs
    only recomputation)."""
    if len(memo) > _CACHE_MAX:
        memo.clear()
    return memo


def _reason_expr(flags: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """The first reason whose condition holds, or null: the precedence of QUARANTINE_REASONS."""
    (reason, condition), rest = flags[0], flags[1:]
    chain = pl.when(condition).then(pl.lit(reason))
    for reason, condition in rest:
        chain = chain.when(condition).then(pl.lit(reason))
    return chain.otherwise(pl.lit(None, dtype=pl.String))


def raw_strings(df: pl.DataFrame) -> pl.DataFrame:
    """Every raw column as text, so rows of differently typed files can share the quarantine file."""
    columns = []
    for name, dtype in df.schema.items():
        if dtype == pl.Binary:
            columns.append(as_text(name, "binary").alias(name))
        elif dtype.is_nested():
            columns.append(pl.col(name).map_elements(repr, return_dtype=pl.String).alias(name))
        else:
            columns.append(pl.col(name).cast(pl.String).alias(name))
    return df.select(columns)


# Columns of classify_frame that only decide the reason.
CLASSIFY_ONLY = ("_reason", "_ts_null", "_ts_int_out", "_asn_bad", "_tok_bad", "_ip_raw", "_ip_ok")


def classify_frame(batch: pl.DataFrame, plan: FilePlan, window: Window, epoch_unit: str, ip_cache: IpCache) -> pl.DataFrame:
    """The canonical columns of every row of a raw batch (with its _file and _row), and its quarantine reason or
    null. A pure function of each row: both engines run it, on whatever batches they read."""
    src = plan.sources
    kinds = plan.kinds

    def text(canonical: str) -> pl.Expr:
        if canonical not in src:
            return pl.lit(None, dtype=pl.String)
        return as_text(src[canonical], kinds[canonical])

    ts_dtype = batch.schema[src["timestamp"]]
    ts = timestamp_expr(src["timestamp"], kinds["timestamp"], ts_dtype, epoch_unit)
    if kinds["timestamp"] == "int":  # out-of-range integers never become datetimes (they could not be printed)
        int_out_of_range = pl.col(src["timestamp"]).is_not_null() & ~plausible_int(src["timestamp"], epoch_unit)
    else:
        int_out_of_range = pl.lit(False)
    asn, asn_bad = int_expr(src["asn"], kinds["asn"], lo=0, hi=2**32 - 1) if "asn" in src else (pl.lit(None, dtype=pl.Int64), pl.lit(False))
    tokens = {}
    token_bad = pl.lit(False)
    for column in ("input_tokens", "output_tokens"):
        if column in src:
            value, bad = int_expr(src[column], kinds[column], lo=0, hi=INT64_MAX)
            tokens[column] = value
            token_bad = token_bad | bad
        else:
            tokens[column] = pl.lit(None, dtype=pl.Int64)

    frame = batch.select(
        pl.col("_file"),
        pl.col("_row"),
        text("request_id").alias("request_id"),
        text("account_id").alias("_account"),
        ts.alias("timestamp"),
        (pl.col(src["timestamp"]).is_null() if kinds["timestamp"] != "null" else pl.lit(True)).alias("_ts_null"),
        int_out_of_range.alias("_ts_int_out"),
        text("ip").alias("_ip_raw"),
        asn.alias("asn"),
        asn_bad.alias("_asn_bad"),
        tokens["input_tokens"].alias("input_tokens"),
        tokens["output_tokens"].alias("output_tokens"),
        token_bad.alias("_tok_bad"),
        text("country").str.strip_chars().str.to_uppercase().alias("country"),
        text("user_agent").alias("_ua"),
        text("model").alias("model"),
        text("prompt").alias("_prompt"),
        text("system_prompt").alias("_system"),
    )
    frame = frame.join(ip_cache.table(frame["_ip_raw"]), on="_ip_raw", how="left", maintain_order="left")

    missing = lambda c: pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "")  # noqa: E731
    outside = pl.lit(False)
    if window.since is not None:
        outside = outside | (pl.col("timestamp") < pl.lit(window.since).cast(UTC_US))
    if window.until is not None:
        outside = outside | (pl.col("timestamp") >= pl.lit(window.until).cast(UTC_US))
    implausible = (pl.col("timestamp") < pl.lit(PLAUSIBLE_FROM).cast(UTC_US)) | (
        pl.col("timestamp") >= pl.lit(PLAUSIBLE_UNTIL).cast(UTC_US)
    )
    reason = _reason_expr(
        [
            ("missing_request_id", missing("request_id")),
            ("missing_account_id", missing("_account")),
            ("missing_timestamp", pl.col("_ts_null")),
            ("unparseable_timestamp", pl.col("timestamp").is_null() & ~pl.col("_ts_int_out")),
            ("implausible_timestamp", implausible | pl.col("_ts_int_out")),
            ("outside_window", outside),
            ("invalid_ip", pl.col("_ip_raw").is_not_null() & ~pl.col("_ip_ok").fill_null(False)),
            ("invalid_asn", pl.col("_asn_bad")),
            ("invalid_token_count", pl.col("_tok_bad")),
        ]
    )
    return frame.with_columns(reason.alias("_reason"))


def quarantine_rows(batch: pl.DataFrame, rejected: pl.DataFrame, file_stats: dict[int, FileStats]) -> pl.DataFrame:
    """The quarantine records of `rejected` (_file, _row, _reason), with their raw values from `batch` (the raw
    rows with _file and _row)."""
    raw = batch.join(rejected, on=["_file", "_row"], how="inner", maintain_order="left")
    return quarantine_records(raw.select("_file", "_row", "_reason"), raw_strings(raw.drop("_file", "_row", "_reason")), file_stats)


def quarantine_records(rejected: pl.DataFrame, raw_text: pl.DataFrame, file_stats: dict[int, FileStats]) -> pl.DataFrame:
    """Where each rejected row (_file, _row, _reason) came from, why, and its raw values as text (`raw_text`,
    row for row)."""
    files = pl.DataFrame(
        {
            "_file": list(file_stats),
            "source_file": [st.rel for st in file_stats.values()],
            "source_sha256": [st.sha256 for st in file_stats.values()],
        },
        schema={"_file": pl.Int32, "source_file": pl.String, "source_sha256": pl.String},
    )
    meta = rejected.join(files, on="_file", how="left", maintain_order="left").select(
        "source_file", "source_sha256", pl.col("_row").alias("source_row"),
        pl.col("_reason").alias("quarantine_reason"),
    )
    return meta.hstack(prefix_clashes(raw_text))


def prefix_clashes(raw: pl.DataFrame) -> pl.DataFrame:
    return raw.rename({c: f"raw.{c}" for c in raw.columns if c in QUARANTINE_META})
