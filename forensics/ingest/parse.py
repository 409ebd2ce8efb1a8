"""Reading raw log columns: each column's kind, a file's plan (which source column is which canonical one), and the
text, timestamp and integer parsing rules, with the epoch-unit count and check of integer timestamps.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timezone

import polars as pl
import pyarrow as pa

from forensics.casefiles import UTC_US
from forensics.errors import ImplausibleTimestampError, InvalidWindowError, MissingColumnError, UncoercibleTypeError
from forensics.ingest.discover import InputFile
from forensics.schema import EPOCH_UNITS, LOG_COLUMNS, PLAUSIBLE_FROM, PLAUSIBLE_UNTIL, REQUIRED_COLUMNS


INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class Window:
    since: datetime | None
    until: datetime | None

    def as_json(self) -> dict:
        return {"since": iso(self.since), "until": iso(self.until)}


def parse_utc(value: str | None, option: str) -> datetime | None:
    """An ISO-8601 date or datetime as an aware UTC datetime; naive means UTC."""
    if value is None:
        return None
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidWindowError(f"{option} {value!r}: expected an ISO-8601 date or datetime") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def parse_window(since: str | None, until: str | None) -> Window:
    window = Window(parse_utc(since, "--since"), parse_utc(until, "--until"))
    if window.since and window.until and window.since >= window.until:
        raise InvalidWindowError(f"--since {since} is not before --until {until}: the window is empty")
    return window


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def column_kind(dtype: pa.DataType) -> str:
    """The coarse kind of an Arrow type, which decides how a canonical column is read."""
    if pa.types.is_dictionary(dtype):
        return column_kind(dtype.value_type)
    if pa.types.is_null(dtype):
        return "null"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or getattr(pa.types, "is_string_view", None) and pa.types.is_string_view(dtype):
        return "string"
    if pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype) or pa.types.is_fixed_size_binary(dtype):
        return "binary"
    if pa.types.is_integer(dtype):
        return "int"
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "float"
    if pa.types.is_timestamp(dtype):
        return "timestamp"
    if pa.types.is_date(dtype):
        return "date"
    if pa.types.is_boolean(dtype):
        return "bool"
    return "other"


# canonical column -> kinds it can be read from
_ACCEPTED_KINDS = {
    "request_id": {"string", "binary", "int", "null"},
    "account_id": {"string", "binary", "int", "null"},
    "timestamp": {"timestamp", "date", "string", "binary", "int", "null"},
    "ip": {"string", "binary", "null"},
    "asn": {"int", "string", "binary", "null"},
    "country": {"string", "binary", "null"},
    "user_agent": {"string", "binary", "null"},
    "model": {"string", "binary", "null"},
    "input_tokens": {"int", "float", "string", "binary", "null"},
    "output_tokens": {"int", "float", "string", "binary", "null"},
    "prompt": {"string", "binary", "null"},
    "system_prompt": {"string", "binary", "null"},
}
_KIND_WORDS = {"float": "floating point", "bool": "boolean", "other": "nested or unsupported"}


@dataclass(frozen=True)
class FilePlan:
    sources: dict[str, str]  # canonical -> source column present in this file
    kinds: dict[str, str]
    ignored: list[str]


def plan_file(inp: InputFile, schema: pa.Schema, column_map: dict[str, str]) -> FilePlan:
    names = list(schema.names) + [k for k, _ in inp.partitions if k not in schema.names]
    types = {n: schema.field(n).type for n in schema.names}
    types.update({k: pa.string() for k, _ in inp.partitions if k not in types})
    sources: dict[str, str] = {}
    for canonical in LOG_COLUMNS:
        source = column_map.get(canonical, canonical)
        if source in types:
            sources[canonical] = source
        elif canonical in REQUIRED_COLUMNS:
            mapped = f" (mapped from {source!r})" if source != canonical else ""
            raise MissingColumnError(f"{inp.rel}: required column {canonical!r}{mapped} is missing")
    kinds = {}
    for canonical, source in sources.items():
        kind = column_kind(types[source])
        if kind not in _ACCEPTED_KINDS[canonical]:
            raise UncoercibleTypeError(
                f"{inp.rel}: column {source!r} has type {types[source]} ({_KIND_WORDS.get(kind, kind)}), "
                f"which cannot be read as {canonical}"
            )
        kinds[canonical] = kind
    used = set(sources.values())
    return FilePlan(sources=sources, kinds=kinds, ignored=sorted(n for n in names if n not in used))


def as_text(column: str, kind: str) -> pl.Expr:
    col = pl.col(column)
    if kind == "binary":
        # Bytes that are not UTF-8 become \xNN escapes, so IDs that differ only in invalid bytes stay distinct.
        return col.map_batches(
            lambda s: pl.Series(
                [None if v is None else v.decode("utf-8", "backslashreplace") for v in s.to_list()], dtype=pl.String
            ),
            return_dtype=pl.String,
        )
    if kind == "null":
        return pl.lit(None, dtype=pl.String)
    return col.cast(pl.String)


def timestamp_expr(column: str, kind: str, dtype: pl.DataType, epoch_unit: str) -> pl.Expr:
    col = pl.col(column)
    if kind == "timestamp":
        tz = getattr(dtype, "time_zone", None)
        aware = col.dt.convert_time_zone("UTC") if tz else col.dt.replace_time_zone("UTC")
        return aware.cast(UTC_US)
    if kind == "date":
        return col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if kind == "int":
        micros = pl.when(plausible_int(column, epoch_unit)).then(col.cast(pl.Int64) * EPOCH_UNITS[epoch_unit])
        return micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if kind == "null":
        return pl.lit(None, dtype=UTC_US)
    text = as_text(column, kind).str.strip_chars().str.replace(r"^(\d{4}-\d{2}-\d{2})[Tt ]", "$1 ")
    text = text.str.replace(r"[zZ]$", "+00:00")
    attempts = [
        text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f%z", strict=False, time_unit="us", time_zone="UTC"),
        text.str.to_datetime("%Y-%m-%d %H:%M%z", strict=False, time_unit="us", time_zone="UTC"),
        text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us").dt.replace_time_zone("UTC"),
        text.str.to_datetime("%Y-%m-%d %H:%M", strict=False, time_unit="us").dt.replace_time_zone("UTC"),
        text.str.to_datetime("%Y-%m-%d", strict=False, time_unit="us").dt.replace_time_zone("UTC"),
    ]
    return pl.coalesce(attempts)


def _plausible_int_bounds(epoch_unit: str) -> tuple[int, int]:
    scale = 1_000_000 // EPOCH_UNITS[epoch_unit]
    return int(PLAUSIBLE_FROM.timestamp()) * scale, int(PLAUSIBLE_UNTIL.timestamp()) * scale


def plausible_int(column: str, epoch_unit: str) -> pl.Expr:
    """Whether an integer timestamp falls in 2000-2100 when read as epoch `epoch_unit`."""
    lo, hi = _plausible_int_bounds(epoch_unit)
    return pl.col(column).is_between(lo, hi - 1)


def timestamp_units(column: str) -> pl.Expr:
    """For an integer timestamp column: bit i set when the value falls in 2000-2100 read as the i-th unit of
    EPOCH_UNITS; null where the value is null."""
    bits = []
    for i, unit in enumerate(EPOCH_UNITS):
        lo, hi = _plausible_int_bounds(unit)
        bits.append(pl.when(pl.col(column).is_between(lo, hi - 1)).then(pl.lit(1 << i, pl.UInt8)).otherwise(pl.lit(0, pl.UInt8)))
    return pl.when(pl.col(column).is_not_null()).then(pl.sum_horizontal(bits).cast(pl.UInt8))


def epoch_counts(units: pl.Series) -> Counter:
    """How many values of a `timestamp_units` column are not null ("rows"), and how many are plausible in each unit."""
    counts = Counter(rows=len(units) - units.null_count())
    for i, unit in enumerate(EPOCH_UNITS):
        counts[unit] += int(((units & (1 << i)) > 0).sum())
    return counts


def check_epoch_unit(rel: str, column: str, counts: Counter, epoch_unit: str) -> None:
    """Refuse a file whose integer timestamps (counted by `epoch_counts`) only make sense in another unit (say
    ms read as s): more than half implausible in the unit given and more than half plausible in another."""
    rows = counts["rows"]
    if (rows - counts[epoch_unit]) * 2 <= rows:
        return
    for other in EPOCH_UNITS:
        if other != epoch_unit and counts[other] * 2 > rows:
            raise ImplausibleTimestampError(
                f"{rel}: integer timestamps in column {column!r} give dates outside 2000-2100 when read as "
                f"epoch {epoch_unit}; they look like epoch {other}: pass --epoch-unit {other}"
            )


def int_expr(column: str, kind: str, *, lo: int, hi: int) -> tuple[pl.Expr, pl.Expr]:
    """(value as Int64 or null, invalid flag) for a count-like integer column."""
    col = pl.col(column)
    if kind == "null":
        return pl.lit(None, dtype=pl.Int64), pl.lit(False)
    if kind == "int":
        ok = col.is_between(lo, hi)
        return pl.when(ok).then(col).cast(pl.Int64), col.is_not_null() & ~ok
    if kind == "float":
        ok = col.is_finite() & (col == col.floor()) & col.is_between(lo, min(hi, 2**53))
        return pl.when(ok).then(col).cast(pl.Int64), col.is_not_null() & ~ok.fill_null(False)
    text = as_text(column, kind).str.strip_chars().str.replace(r"^(?i:as)", "")
    parsed = text.cast(pl.Int64, strict=False)
    ok = parsed.is_between(lo, hi)
    return pl.when(ok).then(parsed), text.is_not_null() & ~ok.fill_null(False)
