"""Keyed pseudonyms: HMAC-SHA256 under a 32-byte case key that never leaves the key file.

pseudonym(kind, value) = first 32 hex chars of HMAC-SHA256(key, f"{kind}:{value}")
key fingerprint        = first 16 hex chars of HMAC-SHA256(key, "fingerprint")

Both can be re-derived with `openssl dgst -sha256 -mac HMAC -macopt hexkey:KEY`.

Pseudonyms are computed a column at a time (hmac_sha256_hex): by one compiled loop over OpenSSL's libcrypto
that starts each value from the key's SHA-256 midstates (forensics.libcrypto), or, where libcrypto cannot be
used, from two SHA-256 passes of polars-hash over binary columns. No value is hashed by a Python call, and the
work releases the GIL.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
import polars_hash  # noqa: F401  (registers the .chash namespace)
import pyarrow as pa

from forensics import libcrypto
from forensics.errors import ForensicsWarning, KeyFileError, OutputExistsError

KEY_HEX_LEN = 64
PSEUDONYM_HEX_LEN = 32
FINGERPRINT_HEX_LEN = 16
_HEX = re.compile(r"[0-9a-fA-F]{64}")
_BLOCK = 64  # SHA-256 block size: HMAC pads the key to one block
_DIGEST = 32


class PermissiveKeyFileWarning(ForensicsWarning):
    """The key file can be read by users other than its owner."""


def hmac_sha256_hex(
    inner_block: bytes, outer_block: bytes, prefix: bytes, values: pl.Series | pa.Array, hex_chars: int = 64
) -> pl.Series:
    """HMAC-SHA256 of `prefix + value` for every value of a string or binary column, as lower-case hex cut to
    `hex_chars`; null stays null. `inner_block` and `outer_block` are the key padded to 64 bytes and XORed with
    0x36 and 0x5C (RFC 2104), so HMAC = SHA256(outer_block ‖ SHA256(inner_block ‖ prefix ‖ value)).

    A pure function of its arguments, over one column: what a Spark executor's per-partition Arrow function
    calls. The key-derived bytes enter polars as column data, never as a literal of an expression, whose text
    (in an error message or a printed plan) would show them.
    """
    if len(inner_block) != _BLOCK or len(outer_block) != _BLOCK:
        raise ValueError("HMAC blocks must be 64 bytes")
    series = values if isinstance(values, pl.Series) else pl.Series(values)
    if series.dtype not in (pl.String, pl.Binary):
        raise TypeError(f"expected a string or binary column, got {series.dtype}")
    nulls = series.is_null()
    has_nulls = bool(nulls.any())
    data = series.drop_nulls().cast(pl.Binary) if has_nulls else series.cast(pl.Binary)
    if data.is_empty():
        return pl.Series(series.name, [None] * len(series), dtype=pl.String)
    hexes = libcrypto.hmac_hex(inner_block, outer_block, prefix, data, hex_chars)
    if hexes is None:
        hexes = _polars_hash_hmac_hex(inner_block, outer_block, prefix, data, hex_chars)
    hexes = hexes.alias(series.name)
    if has_nulls:
        return pl.Series(series.name, [None] * len(series), dtype=pl.String).scatter((~nulls).arg_true(), hexes)
    return hexes


def _polars_hash_hmac_hex(inner_block: bytes, outer_block: bytes, prefix: bytes, data: pl.Series, hex_chars: int) -> pl.Series:
    """hmac_sha256_hex's values where libcrypto cannot be used: two SHA-256 passes of polars-hash."""
    # One prefix value viewed by every row (a binary view column shares the bytes), joined to each value.
    keyed = pl.Series("_k", [inner_block + prefix], dtype=pl.Binary).new_from_index(0, len(data))
    inner_hex = pl.DataFrame([keyed, data.alias("_v")]).select((pl.col("_k") + pl.col("_v")).chash.sha2_256()).to_series()
    outer = _sha256_hex(_outer_messages(outer_block, inner_hex))
    return outer.str.head(hex_chars) if hex_chars < 64 else outer


def _sha256_hex(binary: pl.Series) -> pl.Series:
    return binary.to_frame("m").select(pl.col("m").chash.sha2_256()).to_series()


def _hex_pair_table() -> np.ndarray:
    """Byte value of every two-character lower-case hex text, indexed by the pair read as a little-endian uint16."""
    table = np.zeros(1 << 16, np.uint8)
    digits = b"0123456789abcdef"
    for hi, high in enumerate(digits):
        for lo, low in enumerate(digits):
            table[high | (low << 8)] = (hi << 4) | lo
    return table


_HEX_PAIRS = _hex_pair_table()


def _outer_messages(outer_block: bytes, inner_hex: pl.Series) -> pl.Series:
    """`outer_block ‖ digest` for each 64-character hex digest: fixed 96-byte rows built in numpy, each hex pair
    decoded by one table lookup."""
    arrow = inner_hex.to_arrow()
    n = len(arrow)
    offsets = np.frombuffer(arrow.buffers()[1], np.int64, count=n + 1, offset=arrow.offset * 8)
    pairs = np.frombuffer(arrow.buffers()[2], np.uint8)[offsets[0] : offsets[-1]].view("<u2").reshape(n, _DIGEST)
    rows = np.empty((n, _BLOCK + _DIGEST), np.uint8)
    rows[:, :_BLOCK] = np.frombuffer(outer_block, np.uint8)
    rows[:, _BLOCK:] = _HEX_PAIRS[pairs]
    array = pa.FixedSizeBinaryArray.from_buffers(pa.binary(_BLOCK + _DIGEST), n, [None, pa.py_buffer(rows)])
    return pl.Series(array)


class CaseKey:
    """A loaded key. Its repr never shows the key bytes."""

    __slots__ = ("_inner_block", "_outer_block", "fingerprint")

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise KeyFileError("key must be exactly 32 bytes")
        block = key.ljust(_BLOCK, b"\0")
        self._inner_block = bytes(b ^ 0x36 for b in block)
        self._outer_block = bytes(b ^ 0x5C for b in block)
        self.fingerprint = self.digest("fingerprint")[:FINGERPRINT_HEX_LEN]

    def __repr__(self) -> str:
        return f"CaseKey(fingerprint={self.fingerprint})"

    def digest(self, message: str) -> str:
        """Full HMAC-SHA256 hex of one message: for the few fixed labels (fingerprint, band seeds), not for data."""
        inner = hashlib.sha256(self._inner_block + message.encode("utf-8", "surrogatepass")).digest()
        return hashlib.sha256(self._outer_block + inner).hexdigest()

    def pseudonym_column(self, kind: str, values: pl.Series | pa.Array, hex_chars: int = PSEUDONYM_HEX_LEN) -> pl.Series:
        """The pseudonym of every value of a string or binary column (binary holding UTF-8 text); null stays null."""
        return hmac_sha256_hex(self._inner_block, self._outer_block, f"{kind}:".encode(), values, hex_chars)

    def pseudonyms(self, kind: str, values: Sequence[str]) -> list[str]:
        """Pseudonyms of Python strings, in order (strings with lone surrogates are hashed as Python's
        surrogatepass encodes them)."""
        encoded = pl.Series([v.encode("utf-8", "surrogatepass") for v in values], dtype=pl.Binary)
        return self.pseudonym_column(kind, encoded).to_list()

    def pseudonym(self, kind: str, value: str) -> str:
        return self.pseudonyms(kind, [value])[0]


def generate_key_file(path: Path) -> Path:
    """Write a fresh random key, readable only by its owner."""
    if path.exists():
        raise OutputExistsError(f"{path}: key file already exists; refusing to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return path


def load_key(path: Path) -> CaseKey:
    """Read a key file; errors describe the file, never its content."""
    try:
        mode = path.stat().st_mode
        raw = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: key file not found") from None
    except IsADirectoryError:
        raise KeyFileError(f"{path}: key file is a directory") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read key file ({exc.strerror})") from None
    text = raw.strip()
    if len(text) != KEY_HEX_LEN:
        raise KeyFileError(f"{path}: key file must hold exactly {KEY_HEX_LEN} hex characters, found {len(text)}")
    try:
        decoded = text.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError(f"{path}: key file holds non-hex characters") from None
    if not _HEX.fullmatch(decoded):
        raise KeyFileError(f"{path}: key file holds non-hex characters")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.warn(
            f"{path}: key file is accessible by group or others (mode {stat.S_IMODE(mode):o}); run chmod 600",
            PermissiveKeyFileWarning,
            stacklevel=2,
        )
    return CaseKey(bytes.fromhex(decoded))
