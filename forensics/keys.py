"""Keyed pseudonyms: HMAC-SHA256 under a 32-byte case key that never leaves the key file.

pseudonym(kind, value) = first 32 hex chars of HMAC-SHA256(key, f"{kind}:{value}")
key fingerprint        = first 16 hex chars of HMAC-SHA256(key, "fingerprint")

Both can be re-derived with `openssl dgst -sha256 -mac HMAC -macopt hexkey:KEY`.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
import warnings
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from forensics.errors import ForensicsWarning, KeyFileError, OutputExistsError

KEY_HEX_LEN = 64
PSEUDONYM_HEX_LEN = 32
FINGERPRINT_HEX_LEN = 16
_HEX = re.compile(r"[0-9a-fA-F]{64}")


class PermissiveKeyFileWarning(ForensicsWarning):
    """The key file can be read by users other than its owner."""


class CaseKey:
    """A loaded key. Its repr never shows the key bytes."""

    __slots__ = ("_inner", "_outer", "_thread", "_kinds", "fingerprint")

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise KeyFileError("key must be exactly 32 bytes")
        # HMAC (RFC 2104) with its keyed inner and outer states precomputed: each pseudonym costs two copies.
        block = key.ljust(hashlib.sha256().block_size, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self._thread: ThreadPoolExecutor | None = None
        self._kinds: dict[str, object] = {}  # kind -> inner state after "kind:"
        self.fingerprint = self.digest("fingerprint")[:FINGERPRINT_HEX_LEN]

    def __repr__(self) -> str:
        return f"CaseKey(fingerprint={self.fingerprint})"

    def digest(self, message: str) -> str:
        inner = self._inner.copy()
        inner.update(message.encode("utf-8", "surrogatepass"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def _kind_state(self, kind: str):
        """The inner state after `kind:`, so each pseudonym hashes only its value (same bytes as f"{kind}:{value}")."""
        state = self._kinds.get(kind)
        if state is None:
            state = self._inner.copy()
            state.update(f"{kind}:".encode("utf-8", "surrogatepass"))
            self._kinds[kind] = state
        return state

    def pseudonym(self, kind: str, value: str) -> str:
        return self._serial(kind, (value,))[0]

    def _serial(self, kind: str, values: Sequence[str] | Sequence[bytes]) -> list[str]:
        """The hot loop of ingest: bound methods in locals, no per-value f-string. Values are all str, or
        all bytes holding UTF-8 text (as polars gives them), which saves encoding each one here."""
        inner_copy = self._kind_state(kind).copy
        outer_copy = self._outer.copy
        out: list[str] = []
        append = out.append
        if values and isinstance(values[0], bytes):
            for value in values:
                inner = inner_copy()
                inner.update(value)
                outer = outer_copy()
                outer.update(inner.digest())
                append(outer.hexdigest()[:PSEUDONYM_HEX_LEN])
            return out
        for value in values:
            inner = inner_copy()
            inner.update(value.encode("utf-8", "surrogatepass"))
            outer = outer_copy()
            outer.update(inner.digest())
            append(outer.hexdigest()[:PSEUDONYM_HEX_LEN])
        return out

    def pseudonyms(self, kind: str, values: Sequence[str]) -> list[str]:
        """Pseudonyms of many values, in order.

        Serial on purpose: splitting a list over forked helper processes cost more than it saved (pickling
        the values out and the pseudonyms back took about as much CPU as hashing them). To run hashing beside
        polars work, use pseudonyms_async.
        """
        return self._serial(kind, values)

    def pseudonyms_async(
        self, jobs: Sequence[tuple[str, Sequence[str] | Sequence[bytes]]]
    ) -> Future[list[list[str]]]:
        """Pseudonyms of several (kind, values) lists, hashed on one helper thread. The values of a list are
        all str, or all bytes holding UTF-8 text.

        The hashing holds the GIL, so it overlaps only with work that releases it (polars, pyarrow, I/O):
        meant for running beside such work, not for speeding up Python code.
        """
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pseudonyms")
        return self._thread.submit(lambda: [self._serial(kind, values) for kind, values in jobs])

    def close(self) -> None:
        """Stop the hashing helper thread, if one was started."""
        if self._thread is not None:
            self._thread.shutdown()
            self._thread = None


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
