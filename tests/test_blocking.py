"""Blocking on shared keys and the Poisson surprise of each pair's overlap: brute-force references written here,
independently of forensics.detect.blocking, over itertools pairs and hypothesis-generated facts."""

from __future__ import annotations

import itertools
import math
import statistics
from collections import defaultdict

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special
from scipy.stats import poisson

import forensics.detect.blocking as blocking_module
from forensics.codes import sorted_unique
from forensics.detect.blocking import NULLS, Blocking, evidence_from_surprise, key_anomaly, poisson_surprise, shared_key_pairs

LN10 = math.log(10.0)


# ------------------------------------------------------------------------------------------ references


def frame(rows: list[tuple[int, int, int]]) -> pl.DataFrame:
    """(code, key, stratum) facts as shared_key_pairs takes them."""
    return pl.DataFrame(
        rows, schema={"code": pl.UInt32, "key": pl.UInt64, "stratum": pl.UInt32}, orient="row"
    )


def reference_surprise(x: int, lam: float) -> float:
    """-log10 P(Poisson(lam) >= x): scipy's survival function where it does not underflow, else a log-sum-exp
    of the pmf terms from x on (enough of them that the rest is negligible)."""
    if x <= 0:
        return 0.0
    sf = poisson.sf(x - 1, lam)
    if sf > 1e-250:
        return max(-math.log10(sf), 0.0)
    k = np.arange(x, x + 40_000, dtype=np.float64)
    log_pmf = k * math.log(lam) - lam - special.gammaln(k + 1.0)
    top = log_pmf.max()
    return -(top + math.log(np.exp(log_pmf - top).sum())) / LN10


def holders_of(rows) -> dict[int, set[int]]:
    holders: dict[int, set[int]] = defaultdict(set)
    for code, key, _ in rows:
        holders[key].add(code)
    return holders


def linking_keys(rows, cap: int) -> dict[int, set[int]]:
    """Keys that link accounts: 2+ holders and not above the cap (0 = no cap)."""
    return {k: h for k, h in holders_of(rows).items() if len(h) >= 2 and not (cap and len(h) > cap)}


def kept_keys(rows, cap: int) -> dict[int, set[int]]:
    """Keys that make the background: all but those above the cap."""
    return {k: h for k, h in holders_of(rows).items() if not (cap and len(h) > cap)}


def brute_pairs(rows, full_max: int, partners: int, cap: int, order) -> dict[tuple[int, int], list[int]]:
    """(a, b) -> the keys that link them. A key with up to full_max holders links every pair; a larger one
    puts its holders on a ring by `order` and links those at most `partners // 2` places apart (cyclically)."""
    out: dict[tuple[int, int], list[int]] = defaultdict(list)
    for key, holders in linking_keys(rows, cap).items():
        d = len(holders)
        if d <= full_max:
            for a, b in itertools.combinations(sorted(holders), 2):
                out[(a, b)].append(key)
            continue
        ring = sorted(holders, key=lambda c: order[c])
        reach = max(1, partners // 2)
        for i, j in itertools.combinations(range(d), 2):
            if min(j - i, d - (j - i)) <= reach:
                a, b = sorted((ring[i], ring[j]))
                out[(a, b)].append(key)
    return dict(out)


def result_map(pairs: pl.DataFrame) -> dict[tuple[int, int], dict]:
    return {(r["src"], r["dst"]): r for r in pairs.iter_rows(named=True)}


# ------------------------------------------------------------------------------------------ poisson_surprise


GRID_LAMBDA = [1e-12, 1e-6, 1e-3, 0.05, 0.5, 1.0, 3.0, 17.0, 250.0, 1e4, 1e6]
GRID_X = [0, 1, 2, 3, 5, 10, 30, 100, 400, 1000, 5000]


def test_poisson_surprise_matches_scipy_over_a_grid() -> None:
    lam, x = np.meshgrid(GRID_LAMBDA, GRID_X)
    got = poisson_surprise(x.ravel(), lam.ravel())
    for xi, li, g in zip(x.ravel(), lam.ravel(), got):
        want = reference_surprise(int(xi), float(li))
        assert math.isfinite(g), (xi, li)
        assert g == pytest.approx(want, rel=1e-6, abs=1e-9), (xi, li, g, want)


def test_poisson_surprise_beyond_float_range_near_a_huge_mean() -> None:
    # 20 standard deviations above a mean of a million: the tail is ~1e-89; 30 sd: ~1e-199; 50 sd: ~1e-545.
    lam = np.full(3, 1e6)
    x = np.array([1e6 + 20_000, 1e6 + 30_000, 1e6 + 50_000])
    got = poisson_surprise(x, lam)
    for xi, g in zip(x, got):
        assert g == pytest.approx(reference_surprise(int(xi), 1e6), rel=1e-4)


def test_poisson_surprise_is_zero_where_nothing_is_observed() -> None:
    lam = np.array([0.0, 1e-9, 1.0, 1e9])
    assert poisson_surprise(np.zeros(4), lam).tolist() == [0.0] * 4


def test_poisson_surprise_is_finite_and_increasing_where_the_gamma_function_underflows() -> None:
    x = np.arange(1, 5001, dtype=np.float64)
    for lam in (1e-9, 1e-3, 0.7, 5.0):
        s = poisson_surprise(x, np.full(len(x), lam))
        assert np.all(np.isfinite(s))
        assert np.all(np.diff(s) > 0), lam
        # Far into the underflow, one more shared key is worth about log10(x / lam) more.
        assert s[-1] - s[-2] == pytest.approx(math.log10(5000 / lam), rel=1e-3)
    # A mean of zero is no division by zero: any overlap is (finitely) beyond surprising.
    s0 = poisson_surprise(np.array([1.0, 2.0]), np.array([0.0, 0.0]))
    assert np.all(np.isfinite(s0)) and s0[1] > s0[0] > 250


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=3000), st.floats(min_value=1e-8, max_value=2000.0))
def test_poisson_surprise_property(x: int, lam: float) -> None:
    got = float(poisson_surprise(np.array([x]), np.array([lam]))[0])
    assert got == pytest.approx(reference_surprise(x, lam), rel=1e-6, abs=1e-9)


def test_key_anomaly_is_the_tail_of_co_holders() -> None:
    # A key with d holders has d - 1 co-holders; keys of its stratum have c co-holders on average.
    d = np.array([2, 5, 40, 1])
    c = np.array([0.5, 0.5, 2.0, 0.5])
    want = [reference_surprise(1, 0.5), reference_surprise(4, 0.5), reference_surprise(39, 2.0), 0.0]
    assert key_anomaly(d, c) == pytest.approx(want, rel=1e-9)
    # A stratum where keys are never shared (c = 0) is floored at 0.001 co-holders, not infinitely surprised.
    assert key_anomaly(np.array([3]), np.array([0.0]))[0] == pytest.approx(reference_surprise(2, 1e-3), rel=1e-9)


# ------------------------------------------------------------------------------------------ blocking: all pairs


fact_rows = st.lists(
    st.tuples(st.integers(0, 7), st.integers(0, 9)), min_size=0, max_size=45
)


@settings(max_examples=60, deadline=None)
@given(fact_rows, st.integers(min_value=0, max_value=6))
def test_small_keys_link_every_pair_with_the_exact_shared_count(raw, cap) -> None:
    # Keys 0-4 in stratum 1, 5-9 in stratum 2 (a key belongs to one stratum); repeats allowed.
    rows = [(c, k, 1 + k // 5) for c, k in raw]
    order = np.arange(8)[::-1].copy()
    pairs, stats = shared_key_pairs(frame(rows), Blocking(50, 4, cap, order), null="typical")
    want = brute_pairs(rows, 50, 4, cap, order)
    got = result_map(pairs)
    assert set(got) == set(want)
    for pair, keys in want.items():
        assert got[pair]["count"] == len(keys)
    assert pairs.select("src", "dst").rows() == sorted(got)
    holders = holders_of(rows)
    assert stats.pairs == len(want)
    assert stats.keys_used == len(linking_keys(rows, cap))
    assert stats.keys_dropped == sum(1 for h in holders.values() if cap and len(h) > cap)
    assert stats.keys_salted == 0
    assert stats.accounts == len({c for c, _, _ in rows})


@settings(max_examples=60, deadline=None)
@given(fact_rows, st.integers(min_value=0, max_value=6), st.sampled_from(["typical", "observed"]))
def test_expected_overlap_and_surprise_in_one_stratum(raw, cap, null) -> None:
    """lambda = n_a * n_b * mu / S (typical: mu the median key degree) or, with the keys' own degrees
    (observed), the larger of n_a * D_b / S and n_b * D_a / S (D an account's summed key degrees); the
    surprise is -log10 P(Poisson(lambda) >= shared keys). Ubiquitous keys are out of the background too."""
    rows = [(c, k, 0) for c, k in raw]
    pairs, _ = shared_key_pairs(frame(rows), Blocking(50, 4, cap, np.arange(8)), null=null)
    kept = kept_keys(rows, cap)
    degree = {k: len(h) for k, h in kept.items()}
    total = sum(degree.values())
    mu = statistics.median(degree.values()) if degree else 0.0
    n = defaultdict(int)
    big_d = defaultdict(int)
    for k, h in kept.items():
        for c in h:
            n[c] += 1
            big_d[c] += degree[k]
    for (a, b), row in result_map(pairs).items():
        if null == "typical":
            lam = n[a] * n[b] * mu / total
        else:
            lam = max(n[a] * big_d[b], n[b] * big_d[a]) / total
        assert row["expected"] == pytest.approx(lam, rel=1e-9)
        assert row["surprise"] == pytest.approx(reference_surprise(row["count"], lam), abs=2e-6)


@settings(max_examples=40, deadline=None)
@given(fact_rows, st.integers(min_value=0, max_value=6))
def test_anomaly_null_is_the_largest_key_anomaly_of_the_pair(raw, cap) -> None:
    rows = [(c, k, 1 + k // 5) for c, k in raw]
    pairs, _ = shared_key_pairs(frame(rows), Blocking(50, 4, cap, np.arange(8)), null="anomaly")
    kept = kept_keys(rows, cap)
    stratum_of = {k: s for _, k, s in rows}
    excess: dict[int, list[int]] = defaultdict(list)
    for k, h in kept.items():
        excess[stratum_of[k]].append(len(h) - 1)
    for (a, b), keys in brute_pairs(rows, 50, 4, cap, np.arange(8)).items():
        row = result_map(pairs)[(a, b)]
        scores = [
            reference_surprise(len(kept[k]) - 1, max(statistics.mean(excess[stratum_of[k]]), 1e-3)) for k in keys
        ]
        assert row["expected"] is None
        assert row["count"] == len(keys)
        assert row["surprise"] == pytest.approx(max(scores), abs=2e-6)


def test_unknown_null_model_is_refused() -> None:
    with pytest.raises(ValueError):
        shared_key_pairs(frame([(0, 1, 0), (1, 1, 0)]), Blocking(50, 4, 0, np.arange(2)), null="uniform")


# ------------------------------------------------------------------------------------------ blocking: salting


def test_salted_key_links_each_holder_to_its_nearest_on_the_ring() -> None:
    # One key held by 11 accounts (above full_pairs_max = 4); the ring follows `order`, not the codes.
    order = np.array([7, 3, 10, 0, 9, 1, 5, 8, 2, 6, 4])  # order[code]
    rows = [(c, 42, 0) for c in range(11)]
    pairs, stats = shared_key_pairs(frame(rows), Blocking(4, 6, 0, order))
    ring = sorted(range(11), key=lambda c: order[c])  # [3, 5, 8, 1, 10, 6, 9, 0, 7, 4, 2]
    assert ring == [3, 5, 8, 1, 10, 6, 9, 0, 7, 4, 2]
    neighbours = defaultdict(set)
    for a, b in pairs.select("src", "dst").rows():
        neighbours[a].add(b)
        neighbours[b].add(a)
    for i, c in enumerate(ring):
        want = {ring[(i + o) % 11] for o in (-3, -2, -1, 1, 2, 3)}
        assert neighbours[c] == want, c
    # e.g. account 3, first on the ring, meets 5, 8, 1 after it and 2, 4, 7 before it (cyclically).
    assert neighbours[3] == {5, 8, 1, 2, 4, 7}
    assert pairs.height == 11 * 3
    assert pairs["count"].to_list() == [1] * 33
    assert (stats.keys_used, stats.keys_salted, stats.keys_dropped) == (1, 1, 0)


def test_salted_key_costs_d_times_partners() -> None:
    d = 3000
    rng = np.random.default_rng(3)
    order = rng.permutation(d)
    rows = [(c, 5, 0) for c in range(d)]
    for partners in (2, 8, 13):
        pairs, stats = shared_key_pairs(frame(rows), Blocking(50, partners, 0, order))
        assert pairs.height == d * max(1, partners // 2)
        assert stats.keys_salted == 1
    # Up to full_pairs_max the same key would cost d^2 / 2; the small version of that, checked exactly:
    small = [(c, 5, 0) for c in range(60)]
    pairs, stats = shared_key_pairs(frame(small), Blocking(60, 4, 0, np.arange(60)))
    assert pairs.height == 60 * 59 // 2 and stats.keys_salted == 0


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.sets(st.integers(0, 24), max_size=25), min_size=1, max_size=6),
    st.integers(min_value=2, max_value=6),
    st.integers(min_value=2, max_value=7),
    st.integers(min_value=0, max_value=30),
    st.randoms(use_true_random=False),
)
def test_salted_blocking_matches_the_ring_brute_force(holders, full_max, partners, cap, rnd) -> None:
    order = np.array(rnd.sample(range(25), 25))
    rows = [(c, k, 0) for k, hs in enumerate(holders) for c in hs]
    rows += rows[: len(rows) // 3]  # repeated facts count once
    rnd.shuffle(rows)
    pairs, stats = shared_key_pairs(frame(rows), Blocking(full_max, partners, cap, order))
    want = brute_pairs(rows, full_max, partners, cap, order)
    got = {pair: r["count"] for pair, r in result_map(pairs).items()}
    assert got == {pair: len(keys) for pair, keys in want.items()}
    linking = linking_keys(rows, cap)
    assert stats.keys_salted == sum(1 for h in linking.values() if len(h) > full_max)


def test_accounts_adjacent_in_the_order_meet_in_every_large_key() -> None:
    """Salting is per key but the order is global: two accounts with nothing between them in the order are
    neighbours on every ring they are both on, so their overlap is counted whole."""
    n = 300
    rng = np.random.default_rng(7)
    order = rng.permutation(n)
    rows = []
    for key in range(12):
        holders = np.flatnonzero(rng.random(n) < 0.5)
        rows += [(int(c), key, 0) for c in holders]
    pairs, stats = shared_key_pairs(frame(rows), Blocking(20, 4, 0, order))
    assert stats.keys_salted == 12
    got = {pair: r["count"] for pair, r in result_map(pairs).items()}
    holders = holders_of(rows)
    by_order = np.argsort(order)
    checked = 0
    for a, b in zip(by_order[:-1], by_order[1:]):
        shared = sum(1 for h in holders.values() if a in h and b in h)
        if shared:
            assert got[tuple(sorted((int(a), int(b))))] == shared
            checked += 1
    assert checked > 250
    # Pairs far apart in the order meet in few of the keys they share: salting does drop pairs.
    lo, hi = int(by_order[0]), int(by_order[n // 2])
    both = sum(1 for h in holders.values() if lo in h and hi in h)
    assert both >= 1 and got.get(tuple(sorted((lo, hi))), 0) < both


def test_ubiquitous_keys_are_dropped_and_counted() -> None:
    rows = [(c, 1, 0) for c in range(6)]  # 6 holders: above the cap of 5
    rows += [(c, 2, 0) for c in range(5)]  # 5 holders: at the cap, kept (salted: above full_pairs_max = 3)
    rows += [(0, 3, 0), (1, 3, 0)]  # 2 holders
    rows += [(4, 4, 0)]  # 1 holder: in the background, links nobody
    pairs, stats = shared_key_pairs(frame(rows), Blocking(3, 2, 5, np.arange(6)))
    assert (stats.keys_used, stats.keys_salted, stats.keys_dropped) == (2, 1, 1)
    assert 5 not in set(pairs["src"]) | set(pairs["dst"])  # account 5 only holds the dropped key
    # Key 2's ring 0-1-2-3-4-0 (one partner each side), plus key 3 for (0, 1).
    assert {p: r["count"] for p, r in result_map(pairs).items()} == {(0, 1): 2, (1, 2): 1, (2, 3): 1, (3, 4): 1, (0, 4): 1}
    # Without a cap nothing is dropped.
    _, uncapped = shared_key_pairs(frame(rows), Blocking(3, 2, 0, np.arange(6)))
    assert uncapped.keys_dropped == 0 and uncapped.keys_used == 3


def test_slices_of_keys_give_the_same_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(11)
    rows = [(int(rng.integers(0, 40)), int(rng.integers(0, 50)), int(rng.integers(0, 3))) for _ in range(600)]
    # A key is in one stratum: take the first stratum seen for it.
    first: dict[int, int] = {}
    rows = [(c, k, first.setdefault(k, s)) for c, k, s in rows]
    order = rng.permutation(40)
    results = {}
    for null in ("typical", "observed", "anomaly"):
        results[null] = shared_key_pairs(frame(rows), Blocking(8, 4, 30, order), null=null)
    monkeypatch.setattr(blocking_module, "_FACTS_PER_SLICE", 16)
    for null, (whole, stats) in results.items():
        sliced, sliced_stats = shared_key_pairs(frame(rows), Blocking(8, 4, 30, order), null=null)
        assert whole.height > 100
        assert sliced.equals(whole), null
        assert sliced_stats == stats


# ------------------------------------------------------------------------------------------ null models


def hand_case() -> list[tuple[int, int, int]]:
    """One stratum. Keys and holders:
        k1 {0, 1, 2}   k2 {0, 1}   k3 {0}   k4 {1}   k5 {2}   k6 {2}   k7 {2}   k8 {3}
    degrees 3, 2, 1, 1, 1, 1, 1, 1: S = 11, median mu = 1.
    n_0 = 3 (k1 k2 k3), D_0 = 3 + 2 + 1 = 6;  n_1 = 3, D_1 = 6;  n_2 = 4 (k1 k5 k6 k7), D_2 = 3 + 1 + 1 + 1 = 6."""
    keys = {1: [0, 1, 2], 2: [0, 1], 3: [0], 4: [1], 5: [2], 6: [2], 7: [2], 8: [3]}
    return [(c, k, 0) for k, hs in keys.items() for c in hs]


def test_typical_null_by_hand() -> None:
    pairs, _ = shared_key_pairs(frame(hand_case()), Blocking(50, 4, 0, np.arange(4)), null="typical")
    got = result_map(pairs)
    assert set(got) == {(0, 1), (0, 2), (1, 2)}
    # (0, 1): 2 shared keys, lambda = 3 * 3 * 1 / 11;  (0, 2): 1, lambda = 3 * 4 * 1 / 11.
    assert got[(0, 1)]["count"] == 2 and got[(0, 1)]["expected"] == pytest.approx(9 / 11)
    assert got[(0, 2)]["count"] == 1 and got[(0, 2)]["expected"] == pytest.approx(12 / 11)
    assert got[(1, 2)]["expected"] == pytest.approx(12 / 11)
    assert got[(0, 1)]["surprise"] == pytest.approx(-math.log10(poisson.sf(1, 9 / 11)), abs=1e-6)


def test_observed_null_by_hand() -> None:
    pairs, _ = shared_key_pairs(frame(hand_case()), Blocking(50, 4, 0, np.arange(4)), null="observed")
    got = result_map(pairs)
    # (0, 1): max(n_0 D_1, n_1 D_0) / S = max(18, 18) / 11;  (0, 2): max(3 * 6, 4 * 6) / 11 = 24 / 11.
    assert got[(0, 1)]["expected"] == pytest.approx(18 / 11)
    assert got[(0, 2)]["expected"] == pytest.approx(24 / 11)
    assert got[(1, 2)]["expected"] == pytest.approx(24 / 11)
    assert got[(0, 2)]["surprise"] == pytest.approx(-math.log10(poisson.sf(0, 24 / 11)), abs=1e-6)


def test_anomaly_null_by_hand() -> None:
    pairs, _ = shared_key_pairs(frame(hand_case()), Blocking(50, 4, 0, np.arange(4)), null="anomaly")
    got = result_map(pairs)
    # Co-holders per key: 2, 1, 0 x 6: mean 3 / 8. (0, 1) share k1 (2 co-holders) and k2 (1): the larger.
    c = 3 / 8
    assert got[(0, 1)]["surprise"] == pytest.approx(-math.log10(poisson.sf(1, c)), abs=1e-6)
    assert got[(0, 2)]["surprise"] == pytest.approx(-math.log10(poisson.sf(1, c)), abs=1e-6)
    assert got[(0, 1)]["count"] == 2
    assert got[(0, 1)]["expected"] is None


def test_typical_null_keeps_an_inflated_key_surprising_where_observed_does_not() -> None:
    """A campaign inflates one key (40 holders among keys that otherwise have one): the typical null (median
    degree 1) still finds its holders' overlap unlikely; the observed null takes the key's own popularity and
    does not."""
    rows = [(c, 0, 0) for c in range(40)]  # the inflated key
    rows += [(c, 100 + c, 0) for c in range(40)]  # one private key each
    rows += [(100 + i, 200 + i, 0) for i in range(200)]  # 200 bystanders, one private key each
    order = np.arange(300)
    typical, _ = shared_key_pairs(frame(rows), Blocking(50, 4, 0, order), null="typical")
    observed, _ = shared_key_pairs(frame(rows), Blocking(50, 4, 0, order), null="observed")
    assert typical.height == observed.height == 40 * 39 // 2
    # S = 40 + 40 + 200 = 280, mu = 1: lambda = 2 * 2 / 280; observed: D = 41, lambda = 2 * 41 / 280.
    assert typical["expected"].to_list() == pytest.approx([4 / 280] * typical.height)
    assert observed["expected"].to_list() == pytest.approx([82 / 280] * observed.height)
    assert typical["surprise"].min() > 1.8 > 0.7 > observed["surprise"].max()


def test_strata_are_kept_apart() -> None:
    """The same shared address means little behind a carrier NAT (ASN 1: its addresses have many holders) and
    much on a residential ISP (ASN 2: its addresses have one): each stratum is its own background."""
    rows = []
    # ASN 1: 10 addresses, each held by 8 of 80 accounts (codes 0-79).
    for k in range(10):
        rows += [(c, 1000 + k, 1) for c in range(8 * k, 8 * k + 8)]
    # ASN 2: 80 accounts (codes 80-159), one address each, and codes 80 and 81 also share address 2999.
    rows += [(c, 2000 + c, 2) for c in range(80, 160)]
    rows += [(80, 2999, 2), (81, 2999, 2)]
    pairs, _ = shared_key_pairs(frame(rows), Blocking(50, 4, 0, np.arange(160)), null="typical")
    got = result_map(pairs)
    # ASN 1: S = 80, mu = 8, n = 1 each: lambda = 8 / 80.  ASN 2: S = 82, mu = 1, n = 2: lambda = 4 / 82.
    assert got[(0, 1)]["expected"] == pytest.approx(8 / 80)
    assert got[(80, 81)]["expected"] == pytest.approx(4 / 82)
    assert got[(80, 81)]["surprise"] > got[(0, 1)]["surprise"]
    assert not any(a < 80 <= b for a, b in got)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 9), st.integers(0, 29), st.integers(0, 5)), min_size=1, max_size=120),
    st.integers(min_value=0, max_value=6),
    st.sampled_from(["typical", "observed"]),
)
def test_expected_overlap_over_several_strata(raw, cap, null) -> None:
    """With keys spread over strata, lambda is the sum over the strata where both accounts hold kept keys
    (shared or not) of that stratum's term, with n, D, S and mu counted within the stratum. A key's stratum is the
    least its facts name. Pairs below the evidence floor are left out, so every returned pair is checked, and with
    no floor every linked pair is returned."""
    stratum_of: dict[int, int] = {}
    for _, key, stratum in raw:
        stratum_of[key] = min(stratum, stratum_of.get(key, stratum))
    rows = [(c, k, s) for c, k, s in raw]
    pairs, _ = shared_key_pairs(frame(rows), Blocking(50, 4, cap, np.arange(10)), null=null)
    kept = kept_keys(rows, cap)
    by_stratum: dict[int, dict[int, set[int]]] = defaultdict(dict)
    for k, h in kept.items():
        by_stratum[stratum_of[k]][k] = h
    got = result_map(pairs)
    assert set(got) == set(brute_pairs(rows, 50, 4, cap, np.arange(10)))
    for (a, b), row in got.items():
        lam = 0.0
        for keys in by_stratum.values():
            degree = {k: len(h) for k, h in keys.items()}
            total = sum(degree.values())
            mu = statistics.median(degree.values())
            n = {c: sum(1 for h in keys.values() if c in h) for c in (a, b)}
            big_d = {c: sum(degree[k] for k, h in keys.items() if c in h) for c in (a, b)}
            if not (n[a] and n[b]):
                continue
            if null == "typical":
                lam += n[a] * n[b] * mu / total
            else:
                lam += max(n[a] * big_d[b], n[b] * big_d[a]) / total
        assert row["expected"] == pytest.approx(lam, rel=1e-9)
        assert row["surprise"] == pytest.approx(reference_surprise(row["count"], lam), abs=2e-6)


def test_expected_overlap_sums_over_every_stratum_both_accounts_use() -> None:
    """Accounts 0 and 1 share an address in ASN 1 and each use two unshared addresses in ASN 2.
    ASN 1: keys 10 {0, 1}, 11 {2, 3}: S = 4, mu = 2, n_0 = n_1 = 1 -> 1 * 1 * 2 / 4 = 0.5.
    ASN 2: keys 20 {0, 2}, 21 {1, 3}, 22 {0}, 23 {1}: S = 6, mu = 1.5, n_0 = n_1 = 2 -> 2 * 2 * 1.5 / 6 = 1.0.
    lambda = 1.5 and the surprise -log10 P(Poisson(1.5) >= 1)."""
    rows = [(0, 10, 1), (1, 10, 1), (2, 11, 1), (3, 11, 1)]
    rows += [(0, 20, 2), (2, 20, 2), (1, 21, 2), (3, 21, 2), (0, 22, 2), (1, 23, 2)]
    pairs, _ = shared_key_pairs(frame(rows), Blocking(50, 4, 0, np.arange(4)), null="typical")
    row = result_map(pairs)[(0, 1)]
    assert row["count"] == 1
    assert row["expected"] == pytest.approx(1.5)
    assert row["surprise"] == pytest.approx(-math.log10(poisson.sf(0, 1.5)), abs=1e-6)


# ------------------------------------------------------------------------------------------ invariances


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 19), st.integers(0, 7)), min_size=1, max_size=90),
    st.sampled_from(["typical", "observed", "anomaly"]),
    st.randoms(use_true_random=False),
)
def test_results_do_not_depend_on_fact_order_or_code_numbering(raw, null, rnd) -> None:
    rows = [(c, k, k % 3) for c, k in raw]
    order = np.array(rnd.sample(range(20), 20))
    blocking = Blocking(3, 4, 12, order)  # keys above 3 holders are salted, so the ring order matters
    base, base_stats = shared_key_pairs(frame(rows), blocking, null=null)

    shuffled = rows[:]
    rnd.shuffle(shuffled)
    again, again_stats = shared_key_pairs(frame(shuffled), blocking, null=null)
    assert again.equals(base)
    assert again_stats == base_stats

    # Relabel the accounts (code c becomes perm[c]) and keep each account's place in the order.
    perm = rnd.sample(range(20), 20)
    new_order = np.empty(20, dtype=np.int64)
    new_order[perm] = order
    relabelled, relabelled_stats = shared_key_pairs(frame([(perm[c], k, s) for c, k, s in rows]), Blocking(3, 4, 12, new_order), null=null)
    want = {}
    for (a, b), r in result_map(base).items():
        pa, pb = sorted((perm[a], perm[b]))
        want[(pa, pb)] = (r["count"], r["expected"], r["surprise"])
    got = {pair: (r["count"], r["expected"], r["surprise"]) for pair, r in result_map(relabelled).items()}
    assert set(got) == set(want)
    for pair, (count, expected, surprise) in want.items():
        assert got[pair][0] == count
        assert got[pair][1] == pytest.approx(expected, rel=1e-12) if expected is not None else got[pair][1] is None
        assert got[pair][2] == pytest.approx(surprise, abs=1e-6)
    assert relabelled_stats == base_stats


# ------------------------------------------------------------------------------------------ evidence


def test_evidence_subtracts_log10_accounts_and_floors_at_zero() -> None:
    surprise = pl.DataFrame({"s": [0.0, 1.0, 2.5, 3.0, 10.0]})
    got = surprise.select(evidence_from_surprise(pl.col("s"), 1000).alias("e"))["e"].to_list()
    assert got == pytest.approx([0.0, 0.0, 0.0, 0.0, 7.0])
    got = surprise.select(evidence_from_surprise(pl.col("s"), 50).alias("e"))["e"].to_list()
    assert got == pytest.approx([0.0, 0.0, 2.5 - math.log10(50), 3.0 - math.log10(50), 10.0 - math.log10(50)], abs=1e-6)
    # Fewer than two accounts: the bound is log10(2), never a negative or zero correction.
    for accounts in (0, 1):
        got = surprise.select(evidence_from_surprise(pl.col("s"), accounts).alias("e"))["e"].to_list()
        assert got == pytest.approx([0.0, 1.0 - math.log10(2), 2.5 - math.log10(2), 3.0 - math.log10(2), 10.0 - math.log10(2)], abs=1e-6)


@pytest.mark.parametrize("null", ["typical", "observed", "anomaly"])
def test_a_threshold_keeps_exactly_the_pairs_that_reach_it(null: str) -> None:
    """The stratum bound and the one-key shortcut only skip work: with a threshold, the pairs kept are those
    that reach it when every pair is computed, with the same figures."""
    rng = np.random.default_rng(5)
    first: dict[int, int] = {}
    rows = []
    for _ in range(2000):
        key = int(rng.integers(0, 900))
        rows.append((int(rng.integers(0, 120)), key, first.setdefault(key, int(rng.integers(0, 4)))))
    rows += [(c, 1000 + k, k % 2) for c in range(10) for k in range(6)]  # a block of ten accounts on six keys
    order = rng.permutation(120)
    everything, _ = shared_key_pairs(frame(rows), Blocking(8, 4, 60, order), null=null)
    for threshold in (0.5, 1.5, 3.0):
        kept, _ = shared_key_pairs(frame(rows), Blocking(8, 4, 60, order), null=null, min_surprise=threshold)
        expected = everything.filter(pl.col("surprise") >= threshold)
        assert expected.height > 0
        assert kept.equals(expected), threshold


def test_sorted_unique_matches_numpy() -> None:
    values = np.random.default_rng(3).integers(0, 50, 1000).astype(np.uint64) << np.uint64(40)
    assert np.array_equal(sorted_unique(values), np.unique(values))
    assert len(sorted_unique(np.zeros(0, dtype=np.uint64))) == 0


_EDGE_KEYS = [0, 1, 2, (1 << 32) - 1, 1 << 32, (1 << 63) - 1, 1 << 63, (1 << 64) - 2, (1 << 64) - 1]


@settings(max_examples=150, deadline=None)
@given(
    facts=st.lists(
        st.tuples(st.integers(0, 12), st.one_of(st.sampled_from(_EDGE_KEYS), st.integers(0, (1 << 64) - 1)),
                  st.integers(0, 5), st.integers(0, 1 << 24), st.integers(0, 3)),
        max_size=120,
    ),
    repeat=st.integers(1, 3),
    per_sort=st.sampled_from([1, 2, 5, 16, 1 << 16]),
)
def test_unique_facts_sum_each_account_and_key_whatever_the_ranges(facts, repeat, per_sort) -> None:
    """One fact per (key, code), sorted, requests summed, each key in its least stratum, against a plain
    dictionary; keys at the ends of the 64-bit range and ranges down to one fact each."""
    rows = facts * repeat
    table = pl.DataFrame(rows, schema={"code": pl.UInt32, "key": pl.UInt64, "stratum": pl.UInt32, "rows": pl.UInt32,
                                      "reasoning": pl.UInt32}, orient="row")
    sums: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    least: dict[int, int] = {}
    for code, key, stratum, n, r in rows:
        sums[key, code][0] += n
        sums[key, code][1] += r
        least[key] = min(least.get(key, stratum), stratum)
    expected = [(code, key, least[key], n, r) for (key, code), (n, r) in sorted(sums.items())]
    got = blocking_module.unique_facts(table, per_sort=per_sort)
    assert got.schema == pl.Schema(blocking_module.FACT_SCHEMA)
    assert got.rows() == expected


@settings(max_examples=100, deadline=None)
@given(
    keys=st.lists(st.one_of(st.sampled_from(_EDGE_KEYS), st.integers(0, (1 << 64) - 1),
                            st.integers(0, 3).map(lambda top: (top << 48) | 7), st.integers(0, 1 << 20)),
                  min_size=1, max_size=200),
    picks=st.lists(st.integers(0, 199), max_size=12),
)
def test_facts_go_to_the_range_their_key_is_in(keys, picks) -> None:
    """Range r holds the keys in [splitters[r - 1], splitters[r]), as a binary search over every splitter says,
    with splitters and keys sharing their top 16 bits (which the search looks up first) or not."""
    key = np.array(keys, dtype=np.uint64)
    splitters = np.unique(key[[p % len(key) for p in picks]]) if picks else np.zeros(0, dtype=np.uint64)
    small = np.arange(len(key), dtype=np.uint32)
    out_key, who, _, ends = blocking_module._by_key_range(key, small, small, small, small, splitters)
    expected = np.searchsorted(splitters, key, side="right")
    assert np.array_equal(ends, np.searchsorted(np.sort(expected), np.arange(len(splitters) + 2)))
    for r in range(len(splitters) + 1):
        got = np.sort((who[ends[r]:ends[r + 1]] >> np.uint64(32)).astype(np.int64))
        assert np.array_equal(got, np.flatnonzero(expected == r)), r
    assert np.array_equal(np.sort(out_key), np.sort(key))


def test_unique_facts_refuse_sums_beyond_32_bits() -> None:
    table = pl.DataFrame({"code": [1, 1], "key": [5, 5], "stratum": [0, 0], "rows": [1 << 31, 1 << 31],
                          "reasoning": [0, 0]})
    with pytest.raises(OverflowError):
        blocking_module.unique_facts(table)


def test_a_key_logged_in_two_strata_by_its_holders_is_one_key_of_the_least_stratum() -> None:
    """An address seen under ASN 7 by one account and ASN 3 by another is one key, counted in stratum 3 for
    both: each holder is then found in the stratum the pair's expectation is looked up in (before, the key took
    its lowest code's stratum, and the other holder, with no keys there, was looked up out of range)."""
    rows = [(0, 1, 7), (1, 1, 3), (0, 2, 7), (1, 3, 3), (2, 3, 3), (2, 4, 7), (3, 4, 7), (3, 5, 3)]
    unique = blocking_module.unique_facts(frame(rows))
    assert unique.filter(pl.col("key") == 1)["stratum"].to_list() == [3, 3]
    assert unique.filter(pl.col("key") == 2)["stratum"].to_list() == [7]
    pairs, _ = shared_key_pairs(frame(rows), Blocking(50, 4, 0, np.arange(4)), null="typical")
    same = shared_key_pairs(frame([(c, k, 3 if k == 1 else s) for c, k, s in rows]), Blocking(50, 4, 0, np.arange(4)),
                            null="typical")[0]
    assert pairs.equals(same) and pairs.filter((pl.col("src") == 0) & (pl.col("dst") == 1)).height == 1


# ------------------------------------------------------------------------------------------ pair counting


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(0, 40), max_size=300),
    cuts=st.lists(st.integers(0, 300), max_size=6),
    count_bits=st.sampled_from([1, 2, 3, 8]),
)
def test_pair_counts_count_every_value_however_few_bits_an_entry_has(values, cuts, count_bits) -> None:
    counter = blocking_module._PairCounts(count_bits)
    bounds = sorted({0, len(values), *(c for c in cuts if c <= len(values))})
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        counter.add(np.array(values[lo:hi], dtype=np.uint64))
        counter._merge()  # a merge after every slice, as the merges of a large case
    got_values, got_counts = counter.result()
    assert np.all(np.diff(got_values.astype(np.int64)) >= 0)
    assert np.all((got_counts >= 1) & (got_counts <= (1 << count_bits) - 1))
    totals: dict[int, int] = defaultdict(int)
    for v, c in zip(got_values.tolist(), got_counts.tolist()):
        totals[v] += c
    expected: dict[int, int] = defaultdict(int)
    for v in values:
        expected[v] += 1
    assert totals == expected


def test_pairs_whose_counts_take_several_entries_are_counted_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    # Accounts 0-5 share 40 keys of two strata; a one-bit entry counts to 1, so every pair takes 40 entries.
    rows = [(c, k, k % 2) for k in range(40) for c in range(6)] + [(c, 100 + c, 0) for c in range(6, 30)]
    order = np.arange(30)
    whole = {null: shared_key_pairs(frame(rows), Blocking(8, 4, 0, order), null=null) for null in NULLS}
    monkeypatch.setattr(blocking_module._Packing, "count_bits", property(lambda self: 1))
    for null, (pairs, stats) in whole.items():
        assert pairs.filter(pl.col("count") == 40).height == 15, null
        split, split_stats = shared_key_pairs(frame(rows), Blocking(8, 4, 0, order), null=null)
        assert split.equals(pairs) and split_stats == stats, null
