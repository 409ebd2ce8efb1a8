"""Compiled kernels: numba's `njit`, with the machine code kept on disk between runs where numba can write it.

numba looks for a writable cache directory beside the source, then in the user's cache directory. An install
that is read-only for its user, with no writable home either (a shared install; a Spark executor), has neither,
and `njit(cache=True)` then raises as the module is imported. Such a process compiles its kernels itself
instead, which costs time at the start and changes no result; `NUMBA_CACHE_DIR` names a directory to keep them in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numba import njit


def compiled(**options: Any) -> Callable[[Callable], Callable]:
    """`njit(cache=True, **options)`, or `njit(**options)` where numba has nowhere to write its cache."""

    def wrap(function: Callable) -> Callable:
        try:
            return njit(cache=True, **options)(function)
        except RuntimeError as exc:
            if "cannot cache" not in str(exc):
                raise
            return njit(**options)(function)

    return wrap
