"""Co-action edges: hand-computed cases and a brute-force property check."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import forensics.detect.coaction as coaction
from forensics.detect.coaction import coaction_edges
from forensics.errors import BadInputError, MissingColumnError

T0 = datetime(2026, 4, 22, 12, 0, tzinfo=timezone.utc)
SCHEMA = {
    "request_id": pl.String,
    "account_pseudonym": pl.String,
    "prompt_fingerprint": pl.String,
    "timestamp": pl.Datetime("us", "UTC"),
}


def events(rows: list[tuple[str, str | None, float]]) -> pl.LazyFrame:
    """(account, fingerprint, seconds after T0) per request; request IDs are r0, r1, ..."""
    return pl.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(len(rows))],
            "account_pseudonym": [a for a, _, _ in rows],
            "prompt_fingerprint": [k for _, k, _ in rows],
            "timestamp": [T0 + timedelta(microseconds=round(s * 1_000_000)) for _, _, s in rows],
        },
        schema=SCHEMA,
    ).lazy()


def edges_of(rows, window_s=10, min_count=1, max_accounts=0, loops=False) -> list[tuple[str, str, int]]:
    result = coaction_edges(
        events(rows), window_s=window_s, min_count=min_count, max_accounts=max_accounts, include_self_loops=loops
    )
    return [tuple(r) for r in result.edges.iter_rows()]


def test_window_boundary_is_inclusive():
    rows = [("A", "k", 0), ("B", "k", 10)]
    assert edges_of(rows, window_s=10) == [("A", "B", 1), ("B", "A", 1)]
    assert edges_of(rows, window_s=9) == []


def test_sub_second_timestamps_are_compared_exactly():
    # 0.5 -> 1.5 is exactly 1 s apart; 0.0 -> 1.000001 is one microsecond too far.
    assert edges_of([("A", "k", 0.5), ("B", "k", 1.5)], window_s=1) == [("A", "B", 1), ("B", "A", 1)]
    assert edges_of([("A", "k", 0.0), ("B", "k", 1.000001)], window_s=1) == []
    assert edges_of([("A", "k", 0.25), ("B", "k", 0.75)], window_s=0) == []
    assert edges_of([("A", "k", 0.25), ("B", "k", 0.25)], window_s=0) == [("A", "B", 1), ("B", "A", 1)]


def test_counts_distinct_requests_of_the_source_account():
    # A's two requests at 0 and 1 both have B's request at 2 within 5 s: A->B = 2; B's one request: B->A = 1.
    rows = [("A", "k", 0), ("A", "k", 1), ("B", "k", 2)]
    assert edges_of(rows, window_s=5) == [("A", "B", 2), ("B", "A", 1)]
    # B's request at 2 has A within 1 s (A@1) but A@0 is 2 s from B: A->B = 1.
    assert edges_of(rows, window_s=1) == [("A", "B", 1), ("B", "A", 1)]


def test_both_directions_can_differ():
    # A@0 and A@5 both within 3 s of B@3; B@3 once: A->B = 2, B->A = 1. B@20 is alone.
    rows = [("A", "k", 0), ("A", "k", 5), ("B", "k", 3), ("B", "k", 20)]
    assert edges_of(rows, window_s=3) == [("A", "B", 2), ("B", "A", 1)]


def test_keys_do_not_mix_and_null_keys_are_ignored():
    rows = [("A", "k1", 0), ("B", "k2", 0), ("C", None, 0), ("D", None, 0)]
    result = coaction_edges(events(rows), window_s=60, min_count=1, max_accounts=0)
    assert result.edges.height == 0
    assert result.rows_considered == 2
    assert result.fingerprints_total == 2


def test_min_count_drops_weak_pairs_per_direction():
    rows = [("A", "k", 0), ("A", "k", 1), ("B", "k", 2)]
    assert edges_of(rows, window_s=5, min_count=2) == [("A", "B", 2)]
    assert edges_of(rows, window_s=5, min_count=3) == []


def test_self_loops_only_when_asked_and_only_for_a_different_request():
    rows = [("A", "k", 0), ("A", "k", 1), ("B", "k", 2), ("C", "k", 100)]
    assert edges_of(rows, window_s=5) == [("A", "B", 2), ("B", "A", 1)]
    # A@0 and A@1 see each other: A->A = 2. B and C have one request each, so no self-loop.
    assert edges_of(rows, window_s=5, loops=True) == [("A", "A", 2), ("A", "B", 2), ("B", "A", 1)]
    # A single repeated request far apart is no self-loop either.
    assert edges_of([("A", "k", 0), ("A", "k", 100)], window_s=5, loops=True) == []


def test_max_accounts_skips_popular_fingerprints_and_counts_them():
    rows = [
        ("A", "hi", 0), ("B", "hi", 1), ("C", "hi", 2),  # 3 accounts
        ("A", "x", 0), ("B", "x", 3),  # 2 accounts
        ("C", "y", 0),  # 1 account
    ]  # fmt: skip
    capped = coaction_edges(events(rows), window_s=5, min_count=1, max_accounts=2)
    assert capped.fingerprints_total == 3
    assert capped.fingerprints_skipped == 1
    assert capped.rows_considered == 6
    assert [tuple(r) for r in capped.edges.iter_rows()] == [("A", "B", 1), ("B", "A", 1)]

    uncapped = coaction_edges(events(rows), window_s=5, min_count=1, max_accounts=0)
    assert uncapped.fingerprints_skipped == 0
    # A: one request per key and a partner on both "hi" and "x" -> A->B = 2; A->C only on "hi".
    assert [tuple(r) for r in uncapped.edges.iter_rows()] == [
        ("A", "B", 2), ("A", "C", 1), ("B", "A", 2), ("B", "C", 1), ("C", "A", 1), ("C", "B", 1),
    ]  # fmt: skip
    # At exactly the cap a fingerprint is kept.
    assert coaction_edges(events(rows), window_s=5, min_count=1, max_accounts=3).fingerprints_skipped == 0


def test_output_schema_and_order_for_empty_and_nonempty_inputs():
    empty = coaction_edges(events([]), window_s=5, min_count=1, max_accounts=0)
    assert empty.edges.schema == pl.Schema({"src": pl.String, "dst": pl.String, "count": pl.Int64})
    assert (empty.fingerprints_total, empty.fingerprints_skipped, empty.rows_considered) == (0, 0, 0)
    rows = [("b", "k", 0), ("a", "k", 1), ("c", "k", 2), ("a", "j", 0), ("c", "j", 0)]
    result = coaction_edges(events(rows), window_s=5, min_count=1, max_accounts=0)
    assert result.edges.schema == empty.edges.schema
    assert result.edges.equals(result.edges.sort("src", "dst"))
    coded = pl.Schema({"src": pl.UInt32, "dst": pl.UInt32, "count": pl.UInt32})
    assert empty.codes.schema == coded and result.codes.schema == coded
    assert result.codes.height == result.edges.height > 0


def test_other_column_names_and_time_units():
    frame = events([("A", "k", 0.0), ("B", "k", 0.0005)]).collect()
    renamed = frame.rename({"account_pseudonym": "who", "prompt_fingerprint": "what", "timestamp": "when"})
    renamed = renamed.with_columns(pl.col("when").dt.cast_time_unit("ns"))
    result = coaction_edges(
        renamed.lazy(), window_s=0, min_count=1, max_accounts=0, account_col="who", key_col="what", time_col="when"
    )
    assert result.edges.height == 0  # 0.5 ms apart, window 0
    result = coaction_edges(
        renamed.lazy(), window_s=1, min_count=1, max_accounts=0, account_col="who", key_col="what", time_col="when"
    )
    assert [tuple(r) for r in result.edges.iter_rows()] == [("A", "B", 1), ("B", "A", 1)]


def test_bad_parameters_and_inputs_are_refused():
    lf = events([("A", "k", 0)])
    with pytest.raises(BadInputError, match="window"):
        coaction_edges(lf, window_s=-1, min_count=1, max_accounts=0)
    with pytest.raises(BadInputError, match="minimum"):
        coaction_edges(lf, window_s=1, min_count=0, max_accounts=0)
    with pytest.raises(BadInputError, match="max accounts"):
        coaction_edges(lf, window_s=1, min_count=1, max_accounts=-1)
    with pytest.raises(MissingColumnError, match="prompt_fingerprint"):
        coaction_edges(lf.drop("prompt_fingerprint"), window_s=1, min_count=1, max_accounts=0)
    with pytest.raises(BadInputError, match="Datetime"):
        coaction_edges(lf.with_columns(pl.col("timestamp").dt.epoch("s")), window_s=1, min_count=1, max_accounts=0)


def test_rows_declared_distinct_need_no_request_ids():
    rows = [("A", "k", 0), ("A", "k", 0), ("B", "k", 1)]
    declared = coaction_edges(events(rows).drop("request_id"), window_s=5, min_count=1, max_accounts=0, id_col=None)
    checked = coaction_edges(events(rows), window_s=5, min_count=1, max_accounts=0)
    assert declared.edges.equals(checked.edges)
    assert [tuple(r) for r in declared.edges.iter_rows()] == [("A", "B", 2), ("B", "A", 1)]


def test_duplicate_identical_rows_count_once():
    frame = events([("A", "k", 0), ("B", "k", 1)]).collect()
    doubled = pl.concat([frame, frame.head(1)]).lazy()
    result = coaction_edges(doubled, window_s=5, min_count=1, max_accounts=0)
    assert [tuple(r) for r in result.edges.iter_rows()] == [("A", "B", 1), ("B", "A", 1)]


# ---- property test against a brute-force reference written here ---------------------------------------


def brute_force(rows, window_s, min_count, max_accounts, loops):
    """O(n^2) reading of the definition: distinct requests of A with a different request of B in the window."""
    window_us = window_s * 1_000_000
    accounts_per_key: dict[str, set[str]] = {}
    for account, key, _ in rows:
        if key is not None:
            accounts_per_key.setdefault(key, set()).add(account)
    facts = set()
    for (i, (a, k, t)), (j, (b, k2, u)) in itertools.product(enumerate(rows), repeat=2):
        if i == j or k is None or k != k2:
            continue
        if max_accounts and len(accounts_per_key[k]) > max_accounts:
            continue
        if abs(round(t * 1_000_000) - round(u * 1_000_000)) <= window_us and (loops or a != b):
            facts.add((i, a, b))
    counts = Counter((a, b) for _, a, b in facts)
    return sorted((a, b, n) for (a, b), n in counts.items() if n >= min_count)


row_strategy = st.tuples(
    st.sampled_from(["a", "b", "c", "d", "e"]),
    st.one_of(st.none(), st.sampled_from(["k1", "k2", "k3"])),
    st.integers(0, 40).map(lambda q: q * 0.25),  # quarter-second grid: ties, exact boundaries, sub-second gaps
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    rows=st.lists(row_strategy, max_size=30),
    window_s=st.integers(0, 4),
    min_count=st.integers(1, 3),
    max_accounts=st.integers(0, 4),
    loops=st.booleans(),
)
def test_matches_brute_force(rows, window_s, min_count, max_accounts, loops):
    assert edges_of(rows, window_s, min_count, max_accounts, loops) == brute_force(
        rows, window_s, min_count, max_accounts, loops
    )


@settings(max_examples=40, deadline=None, derandomize=True)
@given(rows=st.lists(row_strategy, min_size=1, max_size=30), window_s=st.integers(0, 4), order=st.randoms())
def test_result_does_not_depend_on_row_order(rows, window_s, order):
    shuffled = list(rows)
    order.shuffle(shuffled)
    assert edges_of(shuffled, window_s, loops=True) == edges_of(rows, window_s, loops=True)


def test_many_small_chunks_give_the_same_counts(monkeypatch):
    rows = [(f"u{i % 7}", f"k{i % 3}", (i * 37) % 50 / 4) for i in range(120)]
    expected = brute_force(rows, 3, 1, 0, True)
    monkeypatch.setattr(coaction, "_FACTS_PER_CHUNK", 5)
    assert edges_of(rows, window_s=3, loops=True) == expected


def test_blocked_window_search_matches_numpy(monkeypatch):
    import numpy as np

    # Runs of ties that straddle block edges, searched on both sides at offsets that land on and between them.
    values = np.repeat(np.arange(0, 40, 2), 3)
    monkeypatch.setattr(coaction, "_SEARCH_BLOCK", 5)
    for offset in (-7, -2, 0, 1, 2, 6):
        for side in ("left", "right"):
            got = coaction._search(values, offset, side, np.int32)
            assert got.tolist() == np.searchsorted(values, values + offset, side=side).tolist()


def test_small_search_blocks_give_the_same_counts(monkeypatch):
    rows = [(f"u{i % 5}", f"k{i % 2}", (i * 7) % 30 // 3) for i in range(90)]  # many equal times
    expected = brute_force(rows, 2, 1, 0, True)
    monkeypatch.setattr(coaction, "_SEARCH_BLOCK", 4)
    assert edges_of(rows, window_s=2, loops=True) == expected


def test_self_loops_alone_come_out_sorted():
    # Only self-loops exist (one account per key), so the self-loop piece is the whole result.
    rows = [(f"u{i}", f"k{i}", 0) for i in (5, 3, 9, 1)] + [(f"u{i}", f"k{i}", 1) for i in (5, 3, 9, 1)]
    assert edges_of(rows, window_s=1, loops=True) == [(f"u{i}", f"u{i}", 2) for i in (1, 3, 5, 9)]


_RUN_IN_CHILD = """
import sys, random, datetime as dt
import polars as pl
from forensics.detect.coaction import coaction_edges
rng = random.Random(5)
n = 3000
t0 = dt.datetime(2026, 4, 22, tzinfo=dt.timezone.utc)
frame = pl.DataFrame({
    "request_id": [f"r{i}" for i in range(n)],
    "account_pseudonym": [f"acct{rng.randrange(60):02d}" for _ in range(n)],
    "prompt_fingerprint": [f"p{rng.randrange(100)}" for _ in range(n)],
    "timestamp": [t0 + dt.timedelta(milliseconds=rng.randrange(3_600_000)) for _ in range(n)],
}, schema_overrides={"timestamp": pl.Datetime("us", "UTC")})
result = coaction_edges(frame.lazy(), window_s=30, min_count=1, max_accounts=0, include_self_loops=True)
result.edges.write_csv(sys.stdout)
"""


def test_same_edges_with_one_or_two_threads(tmp_path):
    import os
    import subprocess
    import sys

    outputs = []
    for threads in ("1", "2"):
        env = {**os.environ, "POLARS_MAX_THREADS": threads}
        done = subprocess.run(
            [sys.executable, "-c", _RUN_IN_CHILD], capture_output=True, text=True, env=env, check=True, timeout=120
        )
        outputs.append(done.stdout)
    assert outputs[0].count("\n") > 100
    assert outputs[0] == outputs[1]
