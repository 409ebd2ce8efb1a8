"""HMAC-SHA256 of a column through OpenSSL's libcrypto, the library CPython's own hashlib is built on, in one
compiled loop that starts every value from the key's precomputed SHA-256 states.

HMAC(K, m) = SHA256((K ⊕ opad) ‖ SHA256((K ⊕ ipad) ‖ m)). Each padded key is one SHA-256 block, so the state after
it (a midstate) is the same for every value: a value then costs the blocks of its own bytes and one block for the
outer hash, not two more for the keys, and no hex text between the two passes. polars-hash, which
keys.hmac_sha256_hex uses where this module is unavailable, can start from neither.

`hmac_hex` returns None where libcrypto or its SHA256_Init/Update/Final cannot be found, or where they fail a
known-answer check against hashlib: the caller then takes its polars-hash construction. Both are checked against
`openssl dgst -mac HMAC` by the tests.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import hmac
import threading
from collections.abc import Callable

import numpy as np
import polars as pl
import pyarrow as pa

from forensics.compiled import compiled

# sizeof(SHA256_CTX) is 112 bytes (openssl/sha.h: eight state words, two length words, a 16-word block, two
# counters); states are copied as 128 to leave room.
_CTX_BYTES = 128
_BLOCK = 64
_DIGEST = 32
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", np.uint8)
_NAMES = ("libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.3.dylib", "libcrypto.1.1.dylib")

_lock = threading.Lock()
_loaded: list = []  # [(init, update, final) or None] once loading has been tried


def _functions() -> tuple | None:
    """SHA256_Init, SHA256_Update and SHA256_Final of the process's libcrypto, typed; None where there are none."""
    try:
        import _hashlib  # noqa: F401  (loads the libcrypto CPython is linked against, where it is a shared library)
    except ImportError:  # a CPython built without OpenSSL
        return None

    def names():
        yield from _NAMES
        yield ctypes.util.find_library("crypto")  # asks the system's linker: only when the usual names fail

    for name in filter(None, names()):
        try:
            lib = ctypes.CDLL(name)
            init, update, final = lib.SHA256_Init, lib.SHA256_Update, lib.SHA256_Final
        except (OSError, AttributeError):
            continue
        init.argtypes, init.restype = [ctypes.c_void_p], ctypes.c_int
        update.argtypes, update.restype = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t], ctypes.c_int
        final.argtypes, final.restype = [ctypes.c_void_p, ctypes.c_void_p], ctypes.c_int
        return init, update, final
    return None


@compiled(nogil=True)
def _kernel(update, final, inner, outer, prefix, offsets, data, hex_chars, out):
    """HMAC of every value from the two midstates, through libcrypto's SHA256_Update and SHA256_Final (passed as
    arguments, so that their addresses are not part of the cached machine code)."""
    ctx = np.empty(_CTX_BYTES, np.uint8)
    digest = np.empty(_DIGEST, np.uint8)
    for t in range(len(offsets) - 1):
        ctx[:] = inner
        update(ctx.ctypes.data, prefix.ctypes.data, len(prefix))
        update(ctx.ctypes.data, data.ctypes.data + offsets[t], offsets[t + 1] - offsets[t])
        final(digest.ctypes.data, ctx.ctypes.data)
        ctx[:] = outer
        update(ctx.ctypes.data, digest.ctypes.data, _DIGEST)
        final(digest.ctypes.data, ctx.ctypes.data)
        at = t * hex_chars
        for k in range(hex_chars // 2):
            out[at + 2 * k] = _HEX_DIGITS[digest[k] >> 4]
            out[at + 2 * k + 1] = _HEX_DIGITS[digest[k] & 15]


def _midstate(init: Callable, update: Callable, block: bytes) -> np.ndarray:
    ctx = np.zeros(_CTX_BYTES, np.uint8)
    init(ctx.ctypes.data)
    update(ctx.ctypes.data, block, len(block))
    return ctx


def _native() -> tuple | None:
    """(init, update, final), loaded and checked once per process; None where libcrypto is unusable."""
    with _lock:
        if not _loaded:
            _loaded.append(_functions())
            if _loaded[0] is not None and not _known_answers_hold():
                _loaded[0] = None
        return _loaded[0]


def _run(native: tuple, inner_block: bytes, outer_block: bytes, prefix: bytes, values: pa.Array, hex_chars: int) -> pl.Series:
    init, update, final = native
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if array.type != pa.large_binary():
        array = array.cast(pa.large_binary())
    n = len(array)
    offsets = np.frombuffer(array.buffers()[1], np.int64, count=n + 1, offset=array.offset * 8)
    data = np.frombuffer(array.buffers()[2], np.uint8) if array.buffers()[2] is not None else np.zeros(1, np.uint8)
    out = np.empty(n * hex_chars, np.uint8)
    _kernel(update, final, _midstate(init, update, inner_block), _midstate(init, update, outer_block),
            np.frombuffer(prefix, np.uint8), offsets, data, hex_chars, out)
    texts = pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(np.arange(n + 1, dtype=np.int64) * hex_chars),
                                                         pa.py_buffer(out)])
    return pl.Series(texts)


def _known_answers_hold() -> bool:
    """The kernel against hashlib's HMAC on values of 0, 1, 55-56, 63-64 and 200 bytes (SHA-256's padding edges)."""
    key = bytes(range(1, 33)).ljust(_BLOCK, b"\0")
    inner, outer = bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)
    values = [bytes(range(n)) for n in (0, 1, 55, 56, 63, 64, 200)]
    got = _run(_loaded[0], inner, outer, b"kind:", pa.array(values, pa.large_binary()), 64).to_list()
    want = [hmac.new(key[:32], b"kind:" + v, hashlib.sha256).hexdigest() for v in values]
    return got == want


def hmac_hex(inner_block: bytes, outer_block: bytes, prefix: bytes, values: pl.Series, hex_chars: int) -> pl.Series | None:
    """HMAC-SHA256 of `prefix + value` for every value of a binary column without nulls, as lower-case hex cut to
    `hex_chars` (even, at most 64); None where libcrypto cannot be used."""
    if hex_chars % 2 or not 0 < hex_chars <= 2 * _DIGEST:
        raise ValueError(f"hex_chars must be even and at most {2 * _DIGEST}")
    native = _native()
    if native is None:
        return None
    return _run(native, inner_block, outer_block, prefix, values.to_arrow(), hex_chars)
