"""Edge kinds by blocking on shared keys: exact against brute force, caps counted, offset grids."""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics import edges as edges_module
from forensics.edges import IDF_C, shared_key_edges, signup_facts, sync_edges, template_facts

T0 = datetime(2026, 4, 22, tzinfo=timezone.utc)


def facts(rows: list[tuple[str, str]]) -> pl.LazyFrame:
    return pl.DataFrame(rows, schema={"account_pseudonym": pl.String, "key": pl.String}, orient="row").lazy()


def brute_force(rows: list[tuple[str, str]], cap: int) -> dict[tuple[str, str], tuple[int, float]]:
    holders: dict[str, set[str]] = defaultdict(set)
    for account, key in rows:
        holders[key].add(account)
    out: dict[tuple[str, str], list] = defaultdict(lambda: [0, 0.0])
    for accounts in holders.values():
        d = len(accounts)
        if d < 2 or (cap and d > cap):
            continue
        for a, b in itertools.combinations(sorted(accounts), 2):
            out[(a, b)][0] += 1
            out[(a, b)][1] += 1.0 / math.log(d + IDF_C)
    return {k: (v[0], v[1]) for k, v in out.items()}


def test_shared_keys_counts_weights_and_cap() -> None:
    rows = [("a", "k1"), ("b", "k1"), ("c", "k1"), ("a", "k2"), ("b", "k2"), ("a", "k2")]
    rows += [(x, "busy") for x in "abcd"]  # 4 holders: above the cap of 3
    result = shared_key_edges(facts(rows), kind="ip_day", max_accounts=3)
    got = {(r["src"], r["dst"]): (r["count"], r["weight"]) for r in result.edges.iter_rows(named=True)}
    assert set(got) == {("a", "b"), ("a", "c"), ("b", "c")}
    assert got[("a", "b")][0] == 2
    assert got[("a", "b")][1] == pytest.approx(1 / math.log(3 + IDF_C) + 1 / math.log(2 + IDF_C))
    assert got[("b", "c")] == (1, pytest.approx(1 / math.log(3 + IDF_C)))
    stats = result.stats["ip_day"]
    assert (stats.pairs, stats.keys_used, stats.keys_skipped) == (3, 2, 1)
    assert set(result.edges["kind"]) == {"ip_day"}


def test_no_cap_keeps_busy_keys() -> None:
    rows = [(x, "busy") for x in "abcd"]
    result = shared_key_edges(facts(rows), kind="net", max_accounts=0)
    assert result.edges.height == 6
    assert result.stats["net"].keys_skipped == 0


def test_min_count_drops_single_shared_key() -> None:
    rows = [("a", "k1"), ("b", "k1"), ("a", "k2"), ("b", "k2"), ("c", "k2")]
    result = shared_key_edges(facts(rows), kind="template", max_accounts=10, min_count=2)
    assert result.edges.select("src", "dst").rows() == [("a", "b")]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcdefg"), st.sampled_from(["k1", "k2", "k3", "k4", "k5"])), max_size=40),
    st.integers(min_value=0, max_value=5),
)
def test_shared_keys_match_brute_force(rows: list[tuple[str, str]], cap: int) -> None:
    result = shared_key_edges(facts(rows), kind="x", max_accounts=cap)
    got = {(r["src"], r["dst"]): (r["count"], r["weight"]) for r in result.edges.iter_rows(named=True)}
    want = brute_force(rows, cap)
    assert set(got) == set(want)
    for pair, (count, weight) in want.items():
        assert got[pair][0] == count
        assert got[pair][1] == pytest.approx(weight)
    assert result.edges.select("src", "dst").rows() == sorted(got)


def test_key_slices_give_the_same_edges_and_stats(monkeypatch: pytest.MonkeyPatch) -> None:
    # Large inputs are deduplicated in slices of keys; a slice size of 4 facts forces many slices here.
    rng = random.Random(11)
    rows = [(f"a{rng.randint(0, 30)}", f"k{rng.randint(0, 40)}") for _ in range(400)]
    whole = shared_key_edges(facts(rows), kind="ip_day", max_accounts=6, normalize=True)
    monkeypatch.setattr(edges_module, "_FACTS_PER_SLICE", 4)
    sliced = shared_key_edges(facts(rows), kind="ip_day", max_accounts=6, normalize=True)
    assert whole.edges.height > 20
    assert sliced.edges.equals(whole.edges)
    assert sliced.stats == whole.stats


def events(rows: list[tuple[str, datetime, str]]) -> pl.LazyFrame:
    return pl.DataFrame(
        {
            "account_pseudonym": [r[0] for r in rows],
            "timestamp": pl.Series([r[1] for r in rows], dtype=pl.Datetime("us", "UTC")),
            "net_pseudonym": [r[2] for r in rows],
        }
    ).lazy()


def test_sync_jaccard_and_offset_grid() -> None:
    bucket = 600
    rows = []
    # a and b: five waves on the same net; each wave straddles a grid-a bucket edge (b is 2 minutes later).
    for w in range(5):
        start = T0 + timedelta(seconds=w * 7200 + bucket - 60)
        rows += [("a", start, "n1"), ("b", start + timedelta(seconds=120), "n1")]
    # c: same net, different times.
    rows += [("c", T0 + timedelta(seconds=w * 7200 + 3000), "n1") for w in range(5)]
    result = sync_edges(events(rows), bucket_s=bucket, key_col="net_pseudonym", max_accounts=10, min_shared=3, min_jaccard=0.5)
    assert result.edges.select("src", "dst", "count").rows() == [("a", "b", 5)]
    assert result.edges["weight"][0] == pytest.approx(1.0)


def test_sync_skips_busy_tokens() -> None:
    rows = [(x, T0 + timedelta(seconds=w * 3600), "n1") for x in "abcd" for w in range(4)]
    result = sync_edges(events(rows), bucket_s=600, key_col="net_pseudonym", max_accounts=3, min_shared=1, min_jaccard=0.0)
    assert result.edges.height == 0
    assert result.stats["sync"].keys_skipped > 0


def test_signup_burst_two_grids() -> None:
    day = 86400
    acc = pl.DataFrame(
        {
            "account_pseudonym": ["a", "b", "c", "d"],
            # a and b 2 h apart across a grid-a boundary; c same stem a week later; d another domain.
            "created_at": pl.Series(
                [T0 + timedelta(hours=23), T0 + timedelta(hours=25), T0 + timedelta(days=8), T0 + timedelta(hours=24)],
                dtype=pl.Datetime("us", "UTC"),
            ),
            "signup_stem_fingerprint": ["s", "s", "s", "s"],
            "email_domain_fingerprint": ["d1", "d1", "d1", "d2"],
        }
    ).lazy()
    result = shared_key_edges(signup_facts(acc, burst_s=day), kind="signup", max_accounts=50)
    assert result.edges.select("src", "dst").rows() == [("a", "b")]


def test_template_facts_band_keys_are_positional() -> None:
    ev = pl.DataFrame(
        {
            "account_pseudonym": ["a", "b", "c"],
            "prompt_template_fingerprint": ["t1", "t2", "t3"],
            "prompt_minhash": pl.Series([[1, 2], [1, 9], [2, 7]], dtype=pl.List(pl.UInt64)),
        }
    ).lazy()
    result = shared_key_edges(template_facts(ev), kind="template", max_accounts=50)
    # a/b share band 0 value 1; a/c share the value 2 but in different bands, which is no match.
    assert result.edges.select("src", "dst", "count").rows() == [("a", "b", 1)]


def test_normalized_weights_divide_by_key_counts() -> None:
    # a and b share k1 (degree 2); a holds 4 keys in all, b holds 1: weight = idf(2) / sqrt(4 * 1).
    rows = [("a", "k1"), ("b", "k1"), ("a", "x1"), ("a", "x2"), ("a", "x3")]
    result = shared_key_edges(facts(rows), kind="ip_day", max_accounts=50, normalize=True)
    assert result.edges.select("src", "dst", "count").rows() == [("a", "b", 1)]
    assert result.edges["weight"][0] == pytest.approx(1 / math.log(2 + IDF_C) / 2.0)
