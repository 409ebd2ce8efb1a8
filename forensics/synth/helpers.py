"""Vectorised hashing and text helpers: a splitmix64 bijection, ID encodings, and string Series built from tables
and numbers.
"""

from __future__ import annotations

import functools

import numpy as np
import polars as pl


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def splitmix(x: np.ndarray | int, salt: int = 0) -> np.ndarray:
    """splitmix64 finaliser: a bijection on uint64, so distinct inputs give distinct outputs."""
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64) + np.uint64(salt % (1 << 64)) * _GOLD + _GOLD
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def _encode(values: np.ndarray, alphabet: bytes, bits: int, chars: int) -> pl.Series:
    """Fixed-width text of uint64 values in base 2**bits (hex or base32), most significant first."""
    v = np.asarray(values, dtype=np.uint64)
    lut = np.frombuffer(alphabet, dtype=np.uint8)
    mask = np.uint64((1 << bits) - 1)
    cols = [lut[((v >> np.uint64(bits * (chars - 1 - k))) & mask).astype(np.intp)] for k in range(chars)]
    raw = np.ascontiguousarray(np.stack(cols, axis=1)).view(f"S{chars}").ravel()
    return pl.Series(raw).cast(pl.String)


_HEX = b"0123456789abcdef"
_B32 = b"abcdefghijklmnopqrstuvwxyz234567"


def hex_ids(values: np.ndarray, prefix: str, chars: int = 16) -> pl.Series:
    return (prefix + pl.DataFrame({"x": _encode(values, _HEX, 4, chars)})["x"]).rename("id")


def b32_ids(values: np.ndarray, prefix: str, chars: int = 13) -> pl.Series:
    return (prefix + pl.DataFrame({"x": _encode(values, _B32, 5, chars)})["x"]).rename("id")


@functools.lru_cache(maxsize=None)
def lookup(table: tuple) -> pl.Series:
    return pl.Series(list(table), dtype=pl.String)


def pick_text(table: tuple, idx: np.ndarray) -> pl.Series:
    return lookup(table).gather(np.asarray(idx, dtype=np.int64) % len(table))


def num(values: np.ndarray) -> pl.Series:
    return pl.Series(np.asarray(values, dtype=np.int64)).cast(pl.String)


def concat_text(parts: list[pl.Series | str]) -> pl.Series:
    """Join equal-length string Series (and literal strings) row-wise."""
    series = [p for p in parts if isinstance(p, pl.Series)]
    frame = pl.DataFrame({f"c{i}": s for i, s in enumerate(series)})
    exprs, k = [], 0
    for part in parts:
        if isinstance(part, pl.Series):
            exprs.append(pl.col(f"c{k}"))
            k += 1
        else:
            exprs.append(pl.lit(part))
    return frame.select(pl.concat_str(exprs).alias("s"))["s"]


def assemble(n: int, pieces: list[tuple[np.ndarray, pl.Series]]) -> pl.Series:
    """Place per-subset Series back at their row positions."""
    frames = [pl.DataFrame({"pos": np.asarray(pos, dtype=np.int64), "s": s}) for pos, s in pieces if len(pos)]
    if not frames:
        return pl.Series("s", [], dtype=pl.String)
    out = pl.concat(frames).sort("pos")
    assert out.height == n
    return out["s"]


def sample_pmf(rng: np.random.Generator, pmf: np.ndarray, n: int) -> np.ndarray:
    cdf = np.cumsum(pmf / pmf.sum())
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(pmf) - 1)
