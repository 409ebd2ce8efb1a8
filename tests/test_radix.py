"""The radix sorts give exactly what numpy's sort and stable argsort give, over the shapes blocking feeds them:
random 64-bit keys, packed values whose high digits are all zero, keys sharing their top bits, few distinct
values (ties, where stability shows), sorted and reversed input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import forensics.radix as radix
from forensics.radix import argsort_u64, sort_u64

U64 = st.integers(min_value=0, max_value=(1 << 64) - 1)


def shapes(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(n)
    full = rng.integers(0, 1 << 63, n, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, n, dtype=np.uint64)
    return {
        "random 64-bit": full,
        "packed, high digits zero": full >> np.uint64(27),
        "one key range (shared top bits)": (full >> np.uint64(8)) | np.uint64(0xAB << 56),
        "few distinct": full % np.uint64(7),
        "all equal": np.full(n, 0xFFFF_FFFF_FFFF_FFFF, dtype=np.uint64),
        "low digit shared": full & ~np.uint64(0x7FF),
        "sorted": np.sort(full),
        "reversed": np.sort(full)[::-1].copy(),
    }


@pytest.mark.parametrize("n", [4096, 70_001])
def test_radix_sorts_match_numpy_on_the_shapes_blocking_sorts(n: int) -> None:
    for name, values in shapes(n).items():
        before = values.copy()
        assert np.array_equal(sort_u64(values), np.sort(before)), name
        assert np.array_equal(argsort_u64(values), np.argsort(before, kind="stable")), name
        assert np.array_equal(values, before), f"{name}: the input was changed"
        own = values.copy()
        assert sort_u64(own, in_place=True) is own
        assert np.array_equal(own, np.sort(before)), name


@settings(max_examples=200, deadline=None)
@given(st.lists(U64, max_size=300), st.booleans())
def test_radix_sorts_match_numpy_on_any_values(values: list[int], in_place: bool) -> None:
    array = np.array(values, dtype=np.uint64)
    expected, order = np.sort(array), np.argsort(array, kind="stable")
    saved = radix._SMALL
    radix._SMALL = 0  # every length takes the radix passes
    try:
        got = sort_u64(array.copy(), in_place=in_place)
        assert np.array_equal(got, expected)
        assert np.array_equal(argsort_u64(array), order)
    finally:
        radix._SMALL = saved


def test_sorting_in_place_refuses_what_it_cannot_sort_in_place() -> None:
    with pytest.raises(ValueError, match="in place"):
        sort_u64(np.arange(10, dtype=np.int64), in_place=True)
    with pytest.raises(ValueError, match="in place"):
        sort_u64(np.arange(20, dtype=np.uint64)[::2], in_place=True)
