"""Group-level evidence against the rest of the case: group-specific keys, expected distinct keys and the
Chernoff bound, on hand-built fact stores, checked against direct computations written here."""

from __future__ import annotations

import math
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.stats import poisson

from forensics.detect.groups import (
    SPECIFIC_SURPRISE,
    FactStore,
    attach_candidates,
    chernoff_surprise,
    expected_distinct,
    group_evidence,
)

LN10 = math.log(10.0)


def fact_frame(rows: list[tuple[int, int, int, int]]) -> pl.DataFrame:
    """(code, key, rows, reasoning) facts in one stratum."""
    return pl.DataFrame(
        [(c, k, 0, r, q) for c, k, r, q in rows],
        schema={"code": pl.UInt32, "key": pl.UInt64, "stratum": pl.UInt32, "rows": pl.UInt32, "reasoning": pl.UInt32},
        orient="row",
    )


def members_frame(clusters: dict[int, list[int]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(c, cid) for cid, codes in clusters.items() for c in codes],
        schema={"code": pl.UInt32, "cluster_id": pl.Int64},
        orient="row",
    )


def evidence(background, members: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
    """group_evidence's (groups, accounts) and, where it returns them too, the specific keys (cluster_id, key)."""
    out = group_evidence(background, members)
    return out[0], out[1], (out[2] if len(out) > 2 else None)


def specific_pairs(specific: pl.DataFrame | None) -> set[tuple[int, int]] | None:
    return None if specific is None else set(specific.select("cluster_id", "key").rows())


def surprise(m: int, lam: float) -> float:
    return -math.log10(poisson.sf(m - 1, lam)) if m > 0 else 0.0


class Reference:
    """Direct computations from the facts (one per distinct account and key) and a group's members."""

    def __init__(self, rows: list[tuple[int, int, int, int]]) -> None:
        self.holders: dict[int, set[int]] = defaultdict(set)
        self.rows: dict[tuple[int, int], int] = defaultdict(int)
        self.reasoning: dict[tuple[int, int], int] = defaultdict(int)
        for c, k, r, q in rows:
            self.holders[k].add(c)
            self.rows[(c, k)] += r
            self.reasoning[(c, k)] += q
        self.total = sum(len(h) for h in self.holders.values())

    def draws(self, members: set[int]) -> int:
        return sum(len(h & members) for h in self.holders.values())

    def expected_distinct(self, members: set[int]) -> float:
        """U_exp = sum_k (1 - exp(-N o_k / S_out)) + N f1, f1 the share of outsider facts on keys one outsider holds."""
        n = self.draws(members)
        s_out = max(self.total - n, 1)
        outsiders = [len(h - members) for h in self.holders.values()]
        f1 = sum(1 for o in outsiders if o == 1) / s_out
        return sum(1.0 - math.exp(-n * o / s_out) for o in outsiders) + n * f1

    def specific(self, members: set[int]) -> dict[int, tuple[int, float, float]]:
        """key -> (member holders, E_k, surprise) for the keys specific to the group."""
        n = self.draws(members)
        s_out = max(self.total - n, 1)
        held = {k: h for k, h in self.holders.items() if h & members}
        threshold = SPECIFIC_SURPRISE + math.log10(max(len(held), 1))
        out = {}
        for k, h in held.items():
            m = len(h & members)
            e = n * max(len(h - members), 1) / s_out
            s = surprise(m, e)
            if m >= 2 and s >= threshold:
                out[k] = (m, e, s)
        return out


# ------------------------------------------------------------------------------------------ a hand-built case


def campaign_case() -> tuple[list[tuple[int, int, int, int]], dict[int, list[int]]]:
    """Members 0-5 (cluster 0) each send 10 requests (4 asking for reasoning) on key 1, which no outsider
    holds, and 5 on a key of their own; members 0-2 also send 5 (1 reasoning) on key 2. Outsiders 6-55 hold
    four keys of their own (one request each), and half of them (6-30) key 2 as well: key 2 is as common
    among outsiders (25 of 50) as among members (3 of 6). Cluster 1 (40-44) is outsiders with nothing special."""
    rows = []
    for c in range(6):
        rows += [(c, 1, 10, 4), (c, 100 + c, 5, 0)]
        if c < 3:
            rows.append((c, 2, 5, 1))
    for c in range(6, 56):
        rows += [(c, 1000 + 4 * c + j, 1, 0) for j in range(4)]
        if c <= 30:
            rows.append((c, 2, 1, 0))
    return rows, {0: list(range(6)), 1: list(range(40, 45))}


def test_a_key_only_members_hold_is_specific_and_one_outsiders_share_as_much_is_not(tmp_path: Path) -> None:
    rows, clusters = campaign_case()
    store = FactStore(tmp_path / "facts")
    store.put("ip", fact_frame(rows))
    groups, accounts, specific = evidence(store.kinds["ip"], members_frame(clusters))
    g = {r["cluster_id"]: r for r in groups.iter_rows(named=True)}
    assert sorted(g) == [0, 1]
    g0 = g[0]
    # 6 own keys + key 1 + key 2; keys 1 and 2 are held by 2+ members; 6 + 6 + 3 facts; 60 + 30 + 15 requests.
    assert (g0["keys"], g0["shared_keys"], g0["facts"], g0["rows"]) == (8, 2, 15, 105)
    # Key 1 alone is specific: E = N * max(o, 1) / S_out = 15 * 1 / 225 with 6 members holding it.
    assert g0["specific_keys"] == 1
    assert g0["rows_on_specific"] == 60
    assert g0["reasoning_on_specific"] == 24
    s_out = 50 * 4 + 25  # outsiders' facts
    assert g0["top_members"] == 6
    assert g0["top_expected"] == pytest.approx(15 / s_out, abs=1e-6)
    assert g0["top_surprise"] == pytest.approx(surprise(6, 15 / s_out), abs=1e-3)
    # Key 2 for comparison: E = 15 * 25 / 225 = 1.67 for 3 members, a chance event.
    assert surprise(3, 15 * 25 / s_out) < 1.0
    if specific is not None:
        assert specific_pairs(specific) == {(0, 1)}
    # Cluster 1 holds only private keys.
    assert (g[1]["keys"], g[1]["shared_keys"], g[1]["specific_keys"], g[1]["rows_on_specific"]) == (20, 0, 0, 0)
    assert (g[1]["top_members"], g[1]["top_expected"], g[1]["top_surprise"]) == (0, 0.0, 0.0)

    share = {r["code"]: (r["cluster_id"], r["specific_row_share"], r["specific_reasoning_share"]) for r in accounts.iter_rows(named=True)}
    assert set(share) == set(range(6)) | set(range(40, 45))
    for c in range(6):
        total = 10 + 5 + (5 if c < 3 else 0)
        assert share[c] == (0, pytest.approx(10 / total), pytest.approx(4 / total))
    for c in range(40, 45):
        assert share[c] == (1, 0.0, 0.0)


def test_group_figures_match_the_direct_computation(tmp_path: Path) -> None:
    rows, clusters = campaign_case()
    store = FactStore(tmp_path / "facts")
    store.put("ip", fact_frame(rows))
    groups, _, _ = evidence(store.kinds["ip"], members_frame(clusters))
    ref = Reference(rows)
    for r in groups.iter_rows(named=True):
        members = set(clusters[r["cluster_id"]])
        want = ref.expected_distinct(members)
        assert r["expected_keys"] == pytest.approx(want, abs=1e-3)
        assert r["concentration"] == pytest.approx(want / r["keys"], abs=1e-4)
        delta = max(0.0, 1.0 - r["keys"] / want)
        assert r["surprise"] == pytest.approx(delta * delta * want / 2 / LN10, abs=1e-3)
    # The campaign concentrates: fewer distinct keys than its 15 draws would give ordinary accounts.
    g0 = groups.filter(pl.col("cluster_id") == 0).row(0, named=True)
    assert g0["expected_keys"] > g0["keys"] and g0["concentration"] > 1.0


def test_expected_distinct_by_hand() -> None:
    """Keys and holders (accounts 0-1 the group, 2-5 outsiders):
        k1 {0, 1}   k2 {0, 2}   k3 {2, 3, 4}   k4 {3}   k5 {4}   k6 {5}   k7 {1, 5}
    N = 4 member facts (k1 twice, k2, k7) of 12, S_out = 8. Outsiders per key: 0, 1, 3, 1, 1, 1, 1, so
    U_exp = 5 (1 - e^(-N/8)) + (1 - e^(-3N/8)) + N * 5/8 (five keys with one outsider)."""
    holders = {1: {0, 1}, 2: {0, 2}, 3: {2, 3, 4}, 4: {3}, 5: {4}, 6: {5}, 7: {1, 5}}
    n, s_out = 4, 8
    rate = n / s_out
    want = 5 * (1 - math.exp(-rate)) + (1 - math.exp(-3 * rate)) + n * 5 / s_out
    degree = {k: len(h) for k, h in holders.items()}
    hist = np.bincount(list(degree.values()), minlength=4)
    member_d = np.array([degree[1], degree[2], degree[7]])
    member_m = np.array([2, 1, 1])
    got = expected_distinct(hist, 12, np.array([n]), [member_d], [member_m])
    assert got[0] == pytest.approx(want, rel=1e-12)
    assert Reference([(c, k, 1, 0) for k, h in holders.items() for c in h]).expected_distinct({0, 1}) == pytest.approx(want)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 14), st.integers(0, 12), st.integers(1, 9), st.integers(0, 3)), min_size=1, max_size=60),
    st.lists(st.integers(-1, 2), min_size=15, max_size=15),
    st.booleans(),
    st.integers(0, 400),
)
def test_group_evidence_matches_the_reference(raw, assignment, planted, background) -> None:
    rows = [(c, k, r, min(q, r)) for c, k, r, q in raw]
    # Unclustered bystanders (codes 100+) with a private key each: the rest of the case.
    rows += [(100 + i, 1000 + i, 1, 0) for i in range(background)]
    clusters: dict[int, list[int]] = defaultdict(list)
    for code, cid in enumerate(assignment):
        if cid >= 0:
            clusters[cid].append(code)
    if planted:
        # A key every member of cluster 0 holds and nobody else: specific whenever the group is large enough.
        rows += [(c, 99, 3, 1) for c in clusters.get(0, [])]
    ref = Reference(rows)
    with tempfile.TemporaryDirectory() as tmp:
        store = FactStore(Path(tmp))
        store.put("template", fact_frame(rows))
        groups, accounts, specific_keys = evidence(store.kinds["template"], members_frame(clusters))
    got = {r["cluster_id"]: r for r in groups.iter_rows(named=True)}
    holding = {cid for cid, codes in clusters.items() if ref.draws(set(codes))}
    assert set(got) == holding
    for cid in holding:
        members = set(clusters[cid])
        r = got[cid]
        held = {k: h & members for k, h in ref.holders.items() if h & members}
        assert r["keys"] == len(held)
        assert r["shared_keys"] == sum(1 for h in held.values() if len(h) >= 2)
        assert r["facts"] == ref.draws(members)
        assert r["rows"] == sum(v for (c, _), v in ref.rows.items() if c in members)
        assert r["expected_keys"] == pytest.approx(ref.expected_distinct(members), abs=1.5e-3)
        specific = ref.specific(members)
        assert r["specific_keys"] == len(specific)
        assert r["rows_on_specific"] == sum(ref.rows[(c, k)] for k in specific for c in held[k])
        assert r["reasoning_on_specific"] == sum(ref.reasoning[(c, k)] for k in specific for c in held[k])
        if specific:
            assert r["top_surprise"] == pytest.approx(max(s for _, _, s in specific.values()), abs=1e-3)
    if specific_keys is not None:
        assert specific_pairs(specific_keys) == {(cid, k) for cid in holding for k in ref.specific(set(clusters[cid]))}
    for a in accounts.iter_rows(named=True):
        c = a["code"]
        own = {k: v for (cc, k), v in ref.rows.items() if cc == c}
        specific = ref.specific(set(clusters[a["cluster_id"]]))
        assert a["specific_row_share"] == pytest.approx(sum(v for k, v in own.items() if k in specific) / sum(own.values()))
        assert a["specific_reasoning_share"] == pytest.approx(
            sum(ref.reasoning[(c, k)] for k in own if k in specific) / sum(own.values())
        )


def test_groups_without_facts_of_the_kind(tmp_path: Path) -> None:
    store = FactStore(tmp_path)
    store.put("payment", fact_frame([(0, 1, 1, 0), (1, 1, 1, 0)]))
    groups, accounts, specific = evidence(store.kinds["payment"], members_frame({0: [5, 6, 7]}))
    assert groups.height == 0 and accounts.height == 0
    assert specific is None or specific.height == 0
    assert "specific_keys" in groups.columns and "specific_row_share" in accounts.columns


def test_fact_store_keeps_unique_facts_and_the_degree_histogram(tmp_path: Path) -> None:
    store = FactStore(tmp_path / "s")
    # (code, key, rows, reasoning) with a repeat of (0, 1): its rows add up.
    facts = store.put("net", fact_frame([(0, 1, 2, 1), (0, 1, 3, 0), (1, 1, 1, 1), (2, 1, 1, 0), (2, 5, 4, 4), (3, 9, 1, 0)]))
    assert facts.sort("key", "code").select("code", "key", "rows", "reasoning").rows() == [
        (0, 1, 5, 1), (1, 1, 1, 1), (2, 1, 1, 0), (2, 5, 4, 4), (3, 9, 1, 0)
    ]
    kb = store.kinds["net"]
    assert kb.total_facts == 5
    # Keys by holders: key 1 has 3, keys 5 and 9 one each.
    assert kb.hist.tolist()[:4] == [0, 2, 0, 1] and kb.hist[4:].sum() == 0
    on_disk = pl.read_parquet(kb.path)
    assert on_disk.select("code", "key", "degree").rows() == [(0, 1, 3), (1, 1, 3), (2, 1, 3), (2, 5, 1), (3, 9, 1)]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 20), st.integers(0, 15), st.integers(1, 9), st.integers(0, 3)), max_size=80),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 15)), max_size=12),
    st.sets(st.integers(0, 20), max_size=12),
)
# Account 0 holds group 0's specific key 1 and another key: all its requests count in `rows`.
@example(raw=[(0, 1, 2, 1), (0, 2, 5, 0), (1, 1, 1, 1), (3, 2, 4, 2), (3, 1, 1, 0)], specific=[(0, 1), (1, 3)], excluded={3})
def test_attach_candidates_count_each_outsiders_requests_on_each_groups_specific_keys(raw, specific, excluded) -> None:
    """For every account outside `excluded` holding a specific key of a group: its requests and reasoning
    requests on that group's specific keys, how many of those keys it holds, and all its requests of the kind."""
    rows = [(c, k, r, min(q, r)) for c, k, r, q in raw]
    spec = pl.DataFrame(sorted(set(specific)), schema={"cluster_id": pl.Int64, "key": pl.UInt64}, orient="row")
    with tempfile.TemporaryDirectory() as tmp:
        store = FactStore(Path(tmp))
        store.put("template", fact_frame(rows))
        got = attach_candidates(store.kinds["template"], spec, pl.DataFrame({"code": sorted(excluded)}, schema={"code": pl.UInt32}))
    summed: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for c, k, r, q in rows:
        summed[(c, k)][0] += r
        summed[(c, k)][1] += q
    expected = []
    for code in sorted({c for c, _ in summed} - excluded):
        own = {k: v for (c, k), v in summed.items() if c == code}
        for cid in sorted({cid for cid, _ in set(specific)}):
            keys = [k for k in own if (cid, k) in set(specific)]
            if keys:
                expected.append((code, cid, sum(own[k][0] for k in keys), sum(own[k][1] for k in keys), len(keys),
                                 sum(v[0] for v in own.values())))
    assert got.rows() == expected
    assert got.columns == ["code", "cluster_id", "rows_on_specific", "reasoning_on_specific", "specific_keys", "rows"]


# ------------------------------------------------------------------------------------------ Chernoff


def test_chernoff_surprise() -> None:
    expected = np.array([10.0, 10.0, 10.0, 10.0, 0.0, 3.0])
    observed = np.array([10.0, 12.0, 5.0, 0.0, 0.0, 2.0])
    got = chernoff_surprise(observed, expected)
    # P(U <= (1 - delta) mu) <= exp(-delta^2 mu / 2): none at or above the mean, so no surprise there.
    assert got[0] == 0.0 and got[1] == 0.0 and got[4] == 0.0
    assert got[2] == pytest.approx(-math.log10(math.exp(-0.25 * 10 / 2)))
    assert got[3] == pytest.approx(-math.log10(math.exp(-10 / 2)))
    assert got[5] == pytest.approx(-math.log10(math.exp(-(1 / 3) ** 2 * 3 / 2)))


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 1e4, allow_subnormal=False))
def test_chernoff_surprise_is_zero_at_or_above_the_mean_and_positive_below(obs: int, exp: float) -> None:
    s = float(chernoff_surprise(np.array([obs]), np.array([exp]))[0])
    assert s >= 0.0 and math.isfinite(s)
    if obs >= exp:
        assert s == 0.0
    elif exp > 0 and (1 - obs / exp) ** 2 * exp > 1e-9:
        assert s > 0.0
