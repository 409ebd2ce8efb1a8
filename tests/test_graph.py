"""Evidence families to pair similarity, sparsification with key-independent tie-breaks, and HDBSCAN with an
activity order: hand-computed cases, brute-force references and relabelling invariances."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics.casefiles import EDGE_KINDS, KIND
from forensics.codes import AccountOrder
from forensics.detect.graph import build_graph, cluster_graph, sparsify, split_levels
from forensics.params import GraphParams

ALL = GraphParams(min_similarity=0.0, top_k=10_000)  # keep every pair, to read similarities off the graph
FAMILY = {
    "ip": "network", "net": "network", "slot": "time", "slot_asn": "time", "template": "prompt", "skeleton": "prompt",
    "opening": "prompt", "closing": "prompt", "payment": "account", "signup": "account",
    "coaction": "coaction", "behaviour": "behaviour",
}


def edge_table(rows: list[tuple[int, int, str, float]]) -> pl.DataFrame:
    """(src, dst, kind, value) -> the coded edge table: value is the weight, or for co-action the count of
    the directed edge src -> dst."""
    return pl.DataFrame(
        {
            "src": pl.Series([r[0] for r in rows], dtype=pl.UInt32),
            "dst": pl.Series([r[1] for r in rows], dtype=pl.UInt32),
            "kind": pl.Series([r[2] for r in rows], dtype=KIND),
            "count": pl.Series([int(r[3]) if r[2] == "coaction" else 1 for r in rows], dtype=pl.Int64),
            "expected": pl.Series([None] * len(rows), dtype=pl.Float64),
            "surprise": pl.Series([None] * len(rows), dtype=pl.Float64),
            "weight": pl.Series([float(r[3]) for r in rows], dtype=pl.Float64),
        }
    )


def order_of(n: int, seed: int = 0) -> AccountOrder:
    rng = np.random.default_rng(seed)
    return AccountOrder.from_digests(rng.integers(0, 2**63, size=n, dtype=np.int64).astype(np.uint64))


def similarities(graph: pl.DataFrame) -> dict[tuple[int, int], float]:
    return {(a, b): s for a, b, s in graph.select("a", "b", "similarity").rows()}


def reference_similarity(rows: list[tuple[int, int, str, float]], params: GraphParams) -> dict[tuple[int, int], float]:
    """E = sum over families of the family's strongest kind (co-action: 3 per count of the stronger
    direction, at most 30), network and time capped; similarity E / (E + scale)."""
    per_kind: dict[tuple[int, int], dict[str, float]] = defaultdict(dict)
    for a, b, kind, value in rows:
        ev = min(value * params.coaction_evidence, params.coaction_evidence_max) if kind == "coaction" else value
        pair = (min(a, b), max(a, b))
        per_kind[pair][kind] = max(per_kind[pair].get(kind, 0.0), ev)
    caps = {"network": params.network_evidence_max, "time": params.time_evidence_max}
    out = {}
    for pair, kinds in per_kind.items():
        family: dict[str, float] = defaultdict(float)
        for kind, ev in kinds.items():
            family[FAMILY[kind]] = max(family[FAMILY[kind]], ev)
        total = sum(min(ev, caps.get(f, float("inf"))) for f, ev in family.items())
        out[pair] = total / (total + params.evidence_scale)
    return out


# ------------------------------------------------------------------------------------------ evidence families


def test_families_by_hand() -> None:
    rows = [
        (0, 1, "ip", 2.0), (0, 1, "net", 3.0),  # one family: max 3
        (0, 2, "ip", 10.0),  # network capped at 3.5
        (0, 3, "slot", 10.0),  # time capped at 3.5
        (0, 4, "ip", 2.0), (0, 4, "slot", 1.0), (0, 4, "template", 2.0), (0, 4, "skeleton", 5.0), (0, 4, "payment", 4.0),
        (1, 2, "coaction", 2), (2, 1, "coaction", 5),  # the stronger direction: 5 x 3 = 15
        (1, 3, "coaction", 20), (3, 1, "coaction", 20),  # 60, capped at 30
        (1, 4, "behaviour", 4.5),
        (2, 3, "signup", 2.0), (2, 3, "payment", 7.0),  # one family: max 7
        (2, 4, "opening", 1.0), (2, 4, "closing", 2.0),
    ]
    graph = build_graph(edge_table(rows), order_of(5), ALL)
    got = similarities(graph)
    want = {
        (0, 1): 3 / 9, (0, 2): 3.5 / 9.5, (0, 3): 3.5 / 9.5, (0, 4): (2 + 1 + 5 + 4) / 18,
        (1, 2): 15 / 21, (1, 3): 30 / 36, (1, 4): 4.5 / 10.5, (2, 3): 7 / 13, (2, 4): 2 / 8,
    }
    assert got.keys() == want.keys()
    for pair, s in want.items():
        assert got[pair] == pytest.approx(s, rel=1e-12), pair
    # One evidence column per kind present, holding the kind's own evidence (co-action in evidence units).
    assert set(graph.columns) == {"a", "b", "similarity"} | {r[2] for r in rows}
    row = graph.filter((pl.col("a") == 0) & (pl.col("b") == 4)).row(0, named=True)
    assert (row["ip"], row["slot"], row["template"], row["skeleton"], row["payment"], row["net"]) == (2.0, 1.0, 2.0, 5.0, 4.0, None)
    assert graph.filter((pl.col("a") == 1) & (pl.col("b") == 2))["coaction"].item() == 15.0
    assert graph.filter((pl.col("a") == 1) & (pl.col("b") == 3))["coaction"].item() == 30.0


def test_caps_and_scale_are_parameters() -> None:
    rows = [(0, 1, "ip", 10.0), (0, 1, "slot", 10.0), (0, 1, "template", 1.0)]
    params = GraphParams(min_similarity=0.0, network_evidence_max=1.0, time_evidence_max=2.0, evidence_scale=4.0)
    got = similarities(build_graph(edge_table(rows), order_of(2), params))
    assert got[(0, 1)] == pytest.approx(4.0 / 8.0)
    params = GraphParams(min_similarity=0.0, coaction_evidence=0.5, coaction_evidence_max=2.0)
    got = similarities(build_graph(edge_table([(0, 1, "coaction", 3), (1, 0, "coaction", 9)]), order_of(2), params))
    assert got[(0, 1)] == pytest.approx(2.0 / 8.0)


def test_network_or_time_alone_never_reaches_min_similarity() -> None:
    rows = [(0, 1, "ip", 50.0), (0, 1, "net", 60.0), (2, 3, "slot", 80.0), (4, 5, "ip", 50.0), (4, 5, "slot", 50.0)]
    graph = build_graph(edge_table(rows), order_of(6), GraphParams())
    # A proxy pool alone or a busy clock alone stays below 0.4; the two together (7 / 13) pass.
    assert similarities(graph) == {(4, 5): pytest.approx(7 / 13)}


kinds = st.sampled_from([k for k in EDGE_KINDS])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 5), kinds, st.floats(0.01, 40.0, allow_nan=False)),
        min_size=1,
        max_size=40,
    ).map(lambda rows: [r for r in rows if r[0] != r[1]]).filter(bool)
)
def test_similarity_matches_the_reference(rows) -> None:
    rows = [(a, b, k, float(int(v)) + 1.0 if k == "coaction" else v) for a, b, k, v in rows]
    got = similarities(build_graph(edge_table(rows), order_of(6), ALL))
    want = reference_similarity(rows, ALL)
    assert got.keys() == want.keys()
    for pair, s in want.items():
        assert got[pair] == pytest.approx(s, rel=1e-9)


# ------------------------------------------------------------------------------------------ sparsify


def pair_frame(pairs: dict[tuple[int, int], float]) -> pl.DataFrame:
    rows = sorted(pairs.items())
    return pl.DataFrame(
        {
            "a": pl.Series([p[0] for p, _ in rows], dtype=pl.UInt32),
            "b": pl.Series([p[1] for p, _ in rows], dtype=pl.UInt32),
            "similarity": pl.Series([s for _, s in rows], dtype=pl.Float64),
        }
    )


def brute_sparsify(pairs: dict[tuple[int, int], float], params: GraphParams, order: AccountOrder) -> set[tuple[int, int]]:
    """Each account's top_k neighbours by similarity, ties by the XOR of the two activity digests, then by the
    neighbour's activity rank; the union of those choices among pairs at min_similarity or more."""
    neighbours: dict[int, list[tuple[float, int, int, int]]] = defaultdict(list)
    for (a, b), s in pairs.items():
        if s < params.min_similarity:
            continue
        for u, v in ((a, b), (b, a)):
            neighbours[u].append((-s, int(order.digest[u] ^ order.digest[v]), int(order.rank[v]), v))
    kept = set()
    for u, cands in neighbours.items():
        for *_, v in sorted(cands)[: params.top_k]:
            kept.add((min(u, v), max(u, v)))
    return kept


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.tuples(st.integers(0, 11), st.integers(0, 11)).filter(lambda p: p[0] < p[1]),
        st.sampled_from([0.3, 0.45, 0.5, 0.5, 0.5, 0.8, 0.8]),  # few values: many ties
        min_size=1,
        max_size=60,
    ),
    st.integers(1, 5),
    st.integers(0, 2**32),
)
def test_sparsify_matches_the_brute_force(pairs, top_k, seed) -> None:
    order = order_of(12, seed)
    params = GraphParams(top_k=top_k)
    got = sparsify(pair_frame(pairs), params, order)
    assert set(got.select("a", "b").rows()) == brute_sparsify(pairs, params, order)
    assert got.select("a", "b").rows() == sorted(got.select("a", "b").rows())
    for a, b, s in got.rows():
        assert s == pairs[(a, b)]


def test_sparsify_spreads_the_choices_of_a_uniform_clique() -> None:
    """Every pair of 60 accounts at the same similarity: each keeps 5 neighbours chosen by digest XOR, so no
    few hubs collect everybody's links."""
    n, k = 60, 5
    pairs = {p: 0.7 for p in itertools.combinations(range(n), 2)}
    graph = sparsify(pair_frame(pairs), GraphParams(top_k=k), order_of(n, 3))
    degree = Counter(graph["a"].to_list() + graph["b"].to_list())
    assert len(degree) == n and min(degree.values()) >= k
    assert max(degree.values()) < 3 * k
    assert graph.height <= n * k


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sparsify_does_not_depend_on_code_numbering(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 40
    pairs = {p: float(rng.choice([0.45, 0.6, 0.6, 0.9])) for p in itertools.combinations(range(n), 2) if rng.random() < 0.4}
    digest = rng.integers(0, 2**63, size=n, dtype=np.int64).astype(np.uint64)
    params = GraphParams(top_k=4)
    base = sparsify(pair_frame(pairs), params, AccountOrder.from_digests(digest))
    perm = rng.permutation(n)  # account i gets code perm[i], and keeps its digest
    new_digest = np.empty_like(digest)
    new_digest[perm] = digest
    moved_pairs = {tuple(sorted((int(perm[a]), int(perm[b])))): s for (a, b), s in pairs.items()}
    again = sparsify(pair_frame(moved_pairs), params, AccountOrder.from_digests(new_digest))
    want = {tuple(sorted((int(perm[a]), int(perm[b])))): s for a, b, s in base.rows()}
    assert {(a, b): s for a, b, s in again.rows()} == want
    assert base.height < len([s for s in pairs.values() if s >= params.min_similarity])  # top_k did cut


# ------------------------------------------------------------------------------------------ HDBSCAN


def graph_frame(links: list[tuple[int, int, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(min(a, b), max(a, b), s) for a, b, s in links],
        schema={"a": pl.UInt32, "b": pl.UInt32, "similarity": pl.Float64},
        orient="row",
    ).sort("a", "b")


def names_for(n: int) -> pl.Series:
    return pl.Series([f"{i:032x}" for i in range(n)])


def peripheral_case() -> list[tuple[int, int, float]]:
    """12 core members (0.7 apart), 6 peripheral members with three 0.45 links each into the core, 3 loose
    accounts with three 0.35 links each (the boundary of the default epsilon)."""
    links = [(a, b, 0.7) for a, b in itertools.combinations(range(12), 2)]
    for i, p in enumerate(range(12, 18)):
        links += [(p, (i + j) % 12, 0.45) for j in range(3)]
    for i, p in enumerate(range(18, 21)):
        links += [(p, (2 * i + j) % 12, 0.35) for j in range(3)]
    return links


def three_components(rng: np.random.Generator) -> tuple[list[tuple[int, int, float]], int]:
    """The peripheral case (accounts 0-20), a group of 8 with assorted link strengths (21-28) and a
    component of 4 (29-32), too small to be a cluster."""
    links = peripheral_case()
    links += [(a, b, float(rng.uniform(0.45, 0.9))) for a, b in itertools.combinations(range(21, 29), 2)]
    links += [(a, b, 0.8) for a, b in itertools.combinations(range(29, 33), 2)]
    return links, 33


def test_clusters_do_not_depend_on_code_numbering() -> None:
    rng = np.random.default_rng(5)
    links, n = three_components(rng)
    order = order_of(n, 9)
    names = names_for(n)
    base = cluster_graph(graph_frame(links), names, GraphParams(), order)
    labels = dict(zip(base.nodes, base.cluster_id.tolist()))
    assert [labels[names[i]] for i in range(n)] == [0] * 18 + [-1] * 3 + [1] * 8 + [-1] * 4
    assert len(set(base.membership[base.cluster_id >= 0].round(9).tolist())) > 1  # not all members alike

    perm = rng.permutation(n)  # account i gets code perm[i]; names and digests travel with the accounts
    new_names = pl.Series([""] * n).scatter(perm, names)
    new_digest = np.empty_like(order.digest)
    new_digest[perm] = order.digest
    moved = [(int(perm[a]), int(perm[b]), s) for a, b, s in links]
    again = cluster_graph(graph_frame(moved), new_names, GraphParams(), AccountOrder.from_digests(new_digest))
    assert dict(zip(again.nodes, again.cluster_id.tolist())) == labels
    for attr in ("membership", "outlier_score"):
        mine = dict(zip(base.nodes, getattr(base, attr).tolist()))
        theirs = dict(zip(again.nodes, getattr(again, attr).tolist()))
        assert theirs == pytest.approx(mine, abs=1e-12)
    assert again.components == base.components == 3


def clique(members: range, s: float = 0.7) -> list[tuple[int, int, float]]:
    return [(a, b, s) for a, b in itertools.combinations(members, 2)]


def test_canonical_ids_order_by_size_then_activity_rank() -> None:
    links = clique(range(0, 6)) + clique(range(6, 14)) + clique(range(14, 20))
    names = names_for(20)
    # Ranks: make account 17 (third group) the first in activity order, then account 2 (first group).
    digest = np.arange(100, 120, dtype=np.uint64)
    digest[17], digest[2] = 0, 1
    c = cluster_graph(graph_frame(links), names, GraphParams(), AccountOrder.from_digests(digest))
    label = dict(zip(c.codes.tolist(), c.cluster_id.tolist()))
    # The 8-account group first; of the two 6-account groups, the one holding the earliest account.
    assert {label[i] for i in range(6, 14)} == {0}
    assert {label[i] for i in range(14, 20)} == {1}
    assert {label[i] for i in range(0, 6)} == {2}
    # Move the earliest account into the first group: the two equal groups swap ids, the codes do not matter.
    digest[17], digest[2] = 1, 0
    c = cluster_graph(graph_frame(links), names, GraphParams(), AccountOrder.from_digests(digest))
    label = dict(zip(c.codes.tolist(), c.cluster_id.tolist()))
    assert ({label[i] for i in range(6, 14)}, {label[i] for i in range(0, 6)}, {label[i] for i in range(14, 20)}) == ({0}, {1}, {2})


def test_small_components_are_not_clusters() -> None:
    links = clique(range(0, 6)) + clique(range(6, 10))  # 4 accounts: below min_cluster_size 5
    c = cluster_graph(graph_frame(links), names_for(10), GraphParams(), order_of(10))
    label = dict(zip(c.codes.tolist(), c.cluster_id.tolist()))
    assert [label[i] for i in range(10)] == [0] * 6 + [-1] * 4
    assert c.components == 2
    assert np.all(c.membership[c.cluster_id == -1] == 0.0)
    assert np.all(c.outlier_score[c.codes >= 6] == 1.0)
    empty = cluster_graph(graph_frame([]), names_for(0), GraphParams(), order_of(0))
    assert len(empty.nodes) == 0 and empty.components == 0


def test_peripheral_members_stay_with_their_group_and_weakly_linked_accounts_do_not() -> None:
    """A member whose third-strongest link has similarity 0.45 (distance 0.55) is kept in its group: at seed
    scale the campaigns' weakest members look like this (README, Detection quality). An account whose three
    links are 0.35 (distance 0.65, beyond the default epsilon of 0.6) stays ungrouped."""
    core = range(12)
    peripheral = range(12, 18)
    loose = range(18, 21)

    clustering = cluster_graph(graph_frame(peripheral_case()), names_for(21), GraphParams(), order_of(21))

    label = dict(zip(clustering.codes.tolist(), clustering.cluster_id.tolist()))
    assert {label[a] for a in core} == {0}
    assert [label[p] for p in peripheral] == [0] * 6
    assert [label[p] for p in loose] == [-1] * 3
    assert np.all(clustering.membership[[label[c] == -1 for c in clustering.codes.tolist()]] == 0.0)


def test_peripheral_members_from_evidence_at_the_default_parameters() -> None:
    """The same boundary in evidence units (similarity E / (E + 6)): core members share templates (E = 14,
    similarity 0.7); a peripheral member shares a template with three of them (E = 5, similarity 0.45, kept);
    an account that only shares proxy addresses with three of them, however many (network capped at 3.5,
    similarity 0.37), never enters the graph."""
    rows = [(a, b, "template", 14.0) for a, b in itertools.combinations(range(12), 2)]
    for i, p in enumerate(range(12, 18)):
        rows += [(p, (i + j) % 12, "template", 5.0) for j in range(3)]
    for i, p in enumerate(range(18, 21)):
        rows += [(p, (2 * i + j) % 12, "ip", 40.0) for j in range(3)]
        rows += [(p, (2 * i + j) % 12, "net", 40.0) for j in range(3)]
    order = order_of(21, 4)
    params = GraphParams()
    graph = build_graph(edge_table(rows), order, params)
    assert graph["similarity"].min() == pytest.approx(5 / 11)
    clustering = cluster_graph(graph, names_for(21), params, order)
    label = dict(zip(clustering.codes.tolist(), clustering.cluster_id.tolist()))
    assert [label.get(i) for i in range(18)] == [0] * 18
    assert all(i not in label for i in range(18, 21))


def test_a_cluster_is_split_into_its_sub_groups_level_by_level() -> None:
    """Two tight groups joined by a few links at similarity 0.5 (distance 0.5, within the default epsilon of 0.6)
    are one cluster; its first level of sub-groups is the two groups, numbered canonically (the larger first);
    each of them is then split no further: a clique has no clusters inside it that HDBSCAN would keep."""
    links = clique(range(0, 8), 0.9) + clique(range(8, 14), 0.9)
    links += [(a, b, 0.5) for a in range(0, 4) for b in range(8, 12)]
    c = cluster_graph(graph_frame(links), names_for(14), GraphParams(), order_of(14))
    assert c.cluster_id.tolist() == [0] * 14
    ids, member = c.levels[0]
    assert ids.tolist() == [0] * 8 + [1] * 6
    assert np.all((member > 0) & (member <= 1))
    assert c.frame().columns == ["account_pseudonym", "cluster_id", "membership", "outlier_score"] + [
        name for d in range(1, len(c.levels) + 1) for name in (f"cluster_id_{d}", f"membership_{d}")]
    # Every level refines the one above it: no sub-group spans two groups of the level above.
    above = c.cluster_id
    for ids, _ in c.levels:
        inside = ids >= 0
        pairs = set(zip(ids[inside].tolist(), above[inside].tolist()))
        assert len(pairs) == len({i for i, _ in pairs})
        above = ids


def test_a_group_whose_own_links_fall_apart_splits_into_its_components() -> None:
    """A group held together through accounts outside it splits first into the connected components of its own
    links (a component smaller than min_cluster_size is no sub-group); each component then splits no further."""
    from scipy.sparse import csr_matrix

    links = clique(range(0, 10), 0.9) + clique(range(10, 20), 0.9) + clique(range(20, 23), 0.9)
    a = np.array([x for x, _, _ in links] + [y for _, y, _ in links])
    b = np.array([y for _, y, _ in links] + [x for x, _, _ in links])
    full = csr_matrix((np.full(len(a), 0.1), (a, b)), shape=(23, 23))
    membership = np.where(np.arange(23) == 5, 0.3, 0.9)  # account 5 weakly attached to the group
    levels = split_levels(full, [np.arange(23)], membership, GraphParams())
    ids, member = levels[0]
    assert ids.tolist() == [0] * 10 + [1] * 10 + [-1] * 3
    # Members keep the membership they had: account 5 is still weakly attached in its component.
    assert member.tolist() == [0.9] * 5 + [0.3] + [0.9] * 14 + [0.0] * 3
    # A uniform clique holds no cluster HDBSCAN keeps when it may not keep the whole: the next level is empty.
    assert len(levels) == 2 and levels[1][0].tolist() == [-1] * 23


def test_a_group_too_small_to_split_keeps_its_members_membership_below() -> None:
    """A group under twice min_cluster_size is carried to the next level as it is, with the membership each member
    had: a weakly attached member must not become core because another group split beside it."""
    from scipy.sparse import csr_matrix

    links = clique(range(0, 10), 0.9) + clique(range(10, 20), 0.9) + clique(range(20, 27), 0.9)
    a = np.array([x for x, _, _ in links] + [y for _, y, _ in links])
    b = np.array([y for _, y, _ in links] + [x for x, _, _ in links])
    full = csr_matrix((np.full(len(a), 0.1), (a, b)), shape=(27, 27))
    membership = np.where(np.arange(27) == 22, 0.2, 0.8)
    levels = split_levels(full, [np.arange(20), np.arange(20, 27)], membership, GraphParams())
    ids, member = levels[0]
    assert ids.tolist() == [0] * 10 + [1] * 10 + [2] * 7
    assert member[20:].tolist() == [0.8, 0.8, 0.2, 0.8, 0.8, 0.8, 0.8]
