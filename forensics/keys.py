"""Keyed pseudonyms: HMAC-SHA256 under a 32-byte case key that never leaves the key file.

pseudonym(kind, value) = first 32 hex chars of HMAC-SHA256(key, f"{kind}:{value}")
key fingerprint        = first 16 hex chars of HMAC-SHA256(key, "fingerprint")

Both can be re-derived with `openssl dgst -sha256 -mac HMAC -macopt hexkey:KEY`.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import hashlib
import os
import re
import secrets
import signal
import stat
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
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

    __slots__ = ("_inner", "_outer", "_key", "_pool", "fingerprint")

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise KeyFileError("key must be exactly 32 bytes")
        # HMAC (RFC 2104) with its keyed inner and outer states precomputed: each pseudonym costs two copies.
        block = key.ljust(hashlib.sha256().block_size, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self._key = key
        self._pool: ProcessPoolExecutor | None = None
        self.fingerprint = self.digest("fingerprint")[:FINGERPRINT_HEX_LEN]

    def __repr__(self) -> str:
        return f"CaseKey(fingerprint={self.fingerprint})"

    def digest(self, message: str) -> str:
        inner = self._inner.copy()
        inner.update(message.encode("utf-8", "surrogatepass"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def pseudonym(self, kind: str, value: str) -> str:
        return self.digest(f"{kind}:{value}")[:PSEUDONYM_HEX_LEN]

    def pseudonyms(self, kind: str, values: Sequence[str]) -> list[str]:
        """Pseudonyms of many values; large lists are split with helper processes (hashing is CPU-bound).

        Workers are forked: they only hash, never touch polars, and need no re-import of the caller's
        main module (which spawn would run again).
        """
        workers = _helper_processes()
        if len(values) < PARALLEL_MIN_VALUES or workers == 0:
            return [self.pseudonym(kind, v) for v in values]
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=workers, mp_context=get_context("fork"), initializer=_init_worker, initargs=(self._key,)
            )
            atexit.register(self.close)
        step = -(-len(values) // (workers + 1))
        chunks = [values[i : i + step] for i in range(0, len(values), step)]
        futures = [self._pool.submit(_worker_pseudonyms, kind, chunk) for chunk in chunks[1:]]
        mine = [self.pseudonym(kind, v) for v in chunks[0]]
        for future in futures:
            mine.extend(future.result())
        return mine


    def close(self) -> None:
        """Stop the helper processes; forked while a case lock was held, they would otherwise keep it."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


PARALLEL_MIN_VALUES = 20_000
_PR_SET_PDEATHSIG = 1
_WORKER_KEY: CaseKey | None = None


def _helper_processes() -> int:
    return max(0, min(len(os.sched_getaffinity(0)), 8) - 1)


def _init_worker(key: bytes) -> None:
    global _WORKER_KEY
    _WORKER_KEY = CaseKey(key)
    try:  # Linux: die with the parent, so a killed run leaves no orphaned helper behind
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _worker_pseudonyms(kind: str, values: list[str]) -> list[str]:
    assert _WORKER_KEY is not None
    return [_WORKER_KEY.pseudonym(kind, v) for v in values]


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
