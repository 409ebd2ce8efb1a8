"""The account-level side: combine evidence edges into one weighted graph and cluster it with HDBSCAN.

Combination. Each edge kind gives a pair evidence E_k in log10 units (`forensics.detect.blocking`: how unlikely the
pair's overlap is by chance, beyond the per-account bound; co-action: a fixed amount per match; behaviour: its
cosine mapped onto [0, behaviour_evidence_max]). Kinds that measure the same thing form a family (an address and
its /24; a template, its skeleton and its opening and closing words) and a family gives its strongest kind's
evidence; network and time families are capped, since proxies, campus networks and office hours produce them
innocently. Families add up to E, and the pair's similarity is E / (E + evidence_scale). Pairs below
`min_similarity` are dropped, then each account keeps its `top_k` most similar neighbours (ties broken by the
two accounts' activity digests) and the union of those is the graph. That bounds the edges at top_k per account
however large a campaign is.

Clustering. HDBSCAN (the `hdbscan` package) runs on the sparse precomputed distance 1 - s, separately on
each connected component (it refuses a disconnected sparse matrix), with `max_dist` = 1 so accounts with
fewer than `min_samples` neighbours still get a finite reachability. Components smaller than
`min_cluster_size` are not clusters (their accounts get cluster_id -1). Within a component HDBSCAN may find
one cluster (`allow_single_cluster`) or split it. Nodes enter HDBSCAN in activity order (`AccountOrder`).

Sub-groups. HDBSCAN's clusters are merged up to `cluster_epsilon` so that a campaign stays one group. In a large
population a few chance links can join a campaign to thousands of ordinary accounts at that distance, and the
group's averages then hide it. So each cluster is also split, level by level (`split_levels`): into the connected
components of its own links where it has several, else into the clusters HDBSCAN finds inside it when it may not
keep it whole. Scoring judges a group that is not flagged again as its sub-groups (`forensics.detect.score`).

Canonical cluster IDs: clusters are ordered by size (descending), then by their member first in activity order,
and numbered 0, 1, 2, ...; they depend on no key, hash seed, thread count or input file order. Each level of
sub-groups is numbered the same way, on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from forensics.codes import ACCOUNT, AccountOrder, run_starts
from forensics.params import GraphParams

_SHIFT = 1 << 32  # an undirected pair as one UInt64: a << 32 | b


def _per_kind(edges: pl.DataFrame, params: GraphParams) -> pl.DataFrame:
    """One row per undirected pair and kind: `pair` (a << 32 | b, a < b), `kind` and its evidence `ev` (log10
    units), sorted by (pair, kind).

    `edges` holds account codes in src/dst and the edge kind as an Enum (see `forensics.casefiles.KIND`). Each
    kind is reduced on its own (co-action's two directions to their larger count), then one stable sort by
    the pair key lines up each pair's kinds in kind order.
    """
    blocks = []
    for kind in edges.schema["kind"].categories.to_list():
        block = edges.filter(pl.col("kind") == kind)
        if block.height == 0:
            continue
        if kind == "coaction":
            ev = (pl.col("count").cast(pl.Float64) * params.coaction_evidence).clip(upper_bound=params.coaction_evidence_max)
        else:
            ev = pl.col("weight")
        block = block.select(
            (pl.min_horizontal("src", "dst").cast(pl.UInt64) * _SHIFT + pl.max_horizontal("src", "dst")).alias("pair"),
            ev.alias("ev"),
        )
        pairs = block["pair"].to_numpy()
        if not bool(np.all(pairs[1:] > pairs[:-1])):
            block = block.group_by("pair").agg(pl.col("ev").max()).sort("pair")
        del pairs
        blocks.append(block.select("pair", pl.lit(kind, dtype=edges.schema["kind"]).alias("kind"), "ev"))
    return pl.concat(blocks).sort("pair", maintain_order=True)


# Kinds that measure the same thing are one family: within a family a pair's evidence is its strongest kind's
# (an address and its /24, a template and its skeleton are not independent), and families add up.
EVIDENCE_FAMILY = {
    "ip": "network", "net": "network", "slot": "time", "slot_asn": "time", "template": "prompt", "skeleton": "prompt",
    "opening": "prompt", "closing": "prompt",
    "payment": "account", "signup": "account", "coaction": "coaction", "behaviour": "behaviour",
}
FAMILIES = ("account", "behaviour", "coaction", "network", "prompt", "time")


def family_caps(params: GraphParams) -> dict[str, float]:
    """The most evidence a family can give a pair on its own (others: no limit)."""
    return {"network": params.network_evidence_max, "time": params.time_evidence_max}


def _similarity(per_kind: pl.DataFrame, params: GraphParams) -> pl.DataFrame:
    """`pair` and `similarity` = E / (E + evidence_scale).

    E sums the pair's evidence over families (see EVIDENCE_FAMILY): each family gives its strongest kind's
    evidence, capped for the families that innocent co-location also produces (network, time), so that
    sharing a proxy pool or a busy clock alone never makes a strong link (behaviour links are capped where
    they are made, `forensics.detect.behaviour`). Sums run in a fixed family order, so the last bit does not depend on
    thread count.
    """
    categories = per_kind.schema["kind"].categories.to_list()
    family_of_kind = np.array([FAMILIES.index(EVIDENCE_FAMILY[k]) for k in categories])
    pairs = per_kind["pair"].to_numpy()
    starts = run_starts(pairs)
    pair_index = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(pairs)]))
    family = family_of_kind[per_kind["kind"].to_physical().to_numpy()]
    by_family = np.zeros((len(starts), len(FAMILIES)))
    np.maximum.at(by_family, (pair_index, family), per_kind["ev"].to_numpy())
    caps = family_caps(params)
    for name, cap in caps.items():
        j = FAMILIES.index(name)
        by_family[:, j] = np.minimum(by_family[:, j], cap)
    total = np.zeros(len(starts))
    for j in range(len(FAMILIES)):
        total = total + by_family[:, j]
    return pl.DataFrame({"pair": pairs[starts], "similarity": total / (total + params.evidence_scale)})


def _unpack(pairs: pl.DataFrame) -> pl.DataFrame:
    return pairs.select(
        (pl.col("pair") // _SHIFT).cast(pl.UInt32).alias("a"), (pl.col("pair") % _SHIFT).cast(pl.UInt32).alias("b"), pl.exclude("pair")
    )


def _with_evidence(graph: pl.DataFrame, per_kind: pl.DataFrame) -> pl.DataFrame:
    keys = graph.select((pl.col("a").cast(pl.UInt64) * _SHIFT + pl.col("b")).alias("pair"))
    kept = _unpack(per_kind.join(keys, on="pair", how="semi").select("pair", "kind", "ev"))
    if kept.height == 0:
        return graph
    evidence = kept.with_columns(pl.col("kind").cast(pl.String)).pivot(on="kind", index=["a", "b"], values="ev", sort_columns=True)
    return graph.join(evidence, on=["a", "b"], how="left").sort("a", "b")


def sparsify(pairs: pl.DataFrame, params: GraphParams, order: AccountOrder) -> pl.DataFrame:
    """Drop weak pairs, keep each account's top_k neighbours; undirected rows a < b (account codes), sorted.

    Ties are broken by a per-pair pseudo-random key (XOR of the two accounts' activity digests), not by one
    global order: with a global order every account of a uniform clique would pick the same few hubs. Neither
    depends on the pseudonyms, so the graph is the same under any key.
    """
    tie = pl.Series(order.digest)
    rank = pl.Series(order.rank)
    strong = pairs.filter(pl.col("similarity") >= params.min_similarity)
    both = pl.concat(
        [
            strong.select(pl.col("a").alias("u"), pl.col("b").alias("v"), "similarity"),
            strong.select(pl.col("b").alias("u"), pl.col("a").alias("v"), "similarity"),
        ]
    )
    both = both.with_columns(
        pl.lit(tie).gather(pl.col("u")).xor(pl.lit(tie).gather(pl.col("v"))).alias("_tie"),
        pl.lit(rank).gather(pl.col("v")).alias("_rank"),
    )
    ranked = both.sort(["u", "similarity", "_tie", "_rank"], descending=[False, True, False, False])
    del both
    # Rank within each account's run of rows (the frame is sorted by u).
    u = ranked["u"].to_numpy()
    starts = run_starts(u)
    rank = np.arange(len(u)) - np.repeat(starts, np.diff(np.r_[starts, len(u)]))
    kept = ranked.filter(pl.Series(rank < params.top_k)).select(
        pl.min_horizontal("u", "v").alias("a"), pl.max_horizontal("u", "v").alias("b")
    ).unique()
    return strong.join(kept, on=["a", "b"], how="semi").sort("a", "b")


def build_graph(edges: pl.DataFrame, order: AccountOrder, params: GraphParams) -> pl.DataFrame:
    """Pair similarities, sparsified: rows a < b (account codes, indices into `names`), sorted, with
    `similarity` and one evidence column per kind present.

    Codes follow pseudonym order, so the result is the same as on pseudonym strings at a fraction of the
    memory.
    """
    if edges.height == 0:
        return pl.DataFrame(schema={"a": pl.UInt32, "b": pl.UInt32, "similarity": pl.Float64})
    per_kind = _per_kind(edges, params)
    similar = _unpack(_similarity(per_kind, params).filter(pl.col("similarity") >= params.min_similarity))
    return _with_evidence(sparsify(similar, params, order), per_kind)


# How many times a group may be split into sub-groups (`split_levels`).
SPLIT_DEPTH = 6


@dataclass
class Clustering:
    """Cluster assignment of the graph's nodes (`codes`, sorted; `nodes` their pseudonyms): the clusters
    (`cluster_id`, `membership`) and their sub-groups level by level (`levels`: for depth 1, 2, ... each node's
    group at that depth and its membership there; -1 and 0 for a node in none)."""

    codes: np.ndarray
    nodes: list[str]
    cluster_id: np.ndarray
    membership: np.ndarray
    outlier_score: np.ndarray
    components: int
    levels: list[tuple[np.ndarray, np.ndarray]]

    def frame(self) -> pl.DataFrame:
        """One row per node: its cluster, membership and outlier score, and `cluster_id_d` and `membership_d` for
        each depth d of `levels`."""
        columns = {
            ACCOUNT: pl.Series(self.nodes, dtype=pl.String),  # typed even with no node in the graph
            "cluster_id": self.cluster_id.astype(np.int64),
            "membership": self.membership.astype(np.float64),
            "outlier_score": self.outlier_score.astype(np.float64),
        }
        for depth, (ids, member) in enumerate(self.levels, 1):
            columns[f"cluster_id_{depth}"] = ids.astype(np.int64)
            columns[f"membership_{depth}"] = member.astype(np.float64)
        return pl.DataFrame(columns)


def _hdbscan_component(dist: csr_matrix, params: GraphParams, *, split: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HDBSCAN labels, membership and outlier scores of one connected component: its clusters merged up to
    `cluster_epsilon`, or with `split`, its clusters before any merge, never the whole component as one."""
    import hdbscan

    n = dist.shape[0]
    model = hdbscan.HDBSCAN(
        metric="precomputed",
        min_cluster_size=params.min_cluster_size,
        min_samples=min(params.min_samples, n - 1),
        allow_single_cluster=not split,
        max_dist=1.0,
        cluster_selection_epsilon=0.0 if split else params.cluster_epsilon,
        core_dist_n_jobs=1,
    )
    model.fit(dist)
    outliers = np.nan_to_num(np.asarray(model.outlier_scores_, dtype=np.float64), nan=0.0)
    return np.asarray(model.labels_), np.asarray(model.probabilities_, dtype=np.float64), outliers


def _components(matrix: csr_matrix) -> list[np.ndarray]:
    """The nodes of each connected component of `matrix`, each sorted, in order of their first node."""
    _, comp = connected_components(matrix, directed=False)
    order = np.argsort(comp, kind="stable")
    parts = np.split(order, np.flatnonzero(np.diff(comp[order])) + 1)
    return sorted((np.sort(p) for p in parts), key=lambda p: int(p[0]))


def _split(full: csr_matrix, members: np.ndarray, params: GraphParams) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """The sub-groups of one group (`members`, matrix positions): the connected components of its own links
    when it has several, else the clusters HDBSCAN finds inside it; each with its members' membership, or None
    for a component (cutting links it never had changes nothing in how its members hold together)."""
    sub = full[members][:, members].tocsr()
    parts = [p for p in _components(sub) if len(p) >= params.min_cluster_size]
    if len(parts) > 1 or (parts and len(parts[0]) < len(members)):
        return [(members[p], None) for p in parts]
    if not parts:
        return []
    labels, probs, _ = _hdbscan_component(sub, params, split=True)
    return [(members[labels == lab], probs[labels == lab]) for lab in sorted(set(labels.tolist()) - {-1})]


def split_levels(full: csr_matrix, groups: list[np.ndarray], membership: np.ndarray,
                 params: GraphParams) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each group split into sub-groups, and those again, up to SPLIT_DEPTH levels: per level, every node's
    sub-group (canonical ids, -1 for none) and membership. `membership` is the groups' own. A group of fewer
    than twice `min_cluster_size` members is not split, and a group that falls apart into the connected
    components of its links is split into them; both keep their members' membership from the level above,
    so a member weakly attached there is not counted as core below. The levels end where no group splits."""
    n = full.shape[0]
    levels = []
    current, above = groups, membership
    for _ in range(SPLIT_DEPTH):
        nxt: list[np.ndarray] = []
        member = np.zeros(n)
        changed = False
        for g in current:
            if len(g) < 2 * params.min_cluster_size:
                nxt.append(g)
                member[g] = above[g]
                continue
            parts = _split(full, g, params)
            changed |= not (len(parts) == 1 and len(parts[0][0]) == len(g))
            for nodes, probs in parts:
                nxt.append(nodes)
                member[nodes] = above[nodes] if probs is None else probs
        if not changed:
            break
        ids = _canonical(nxt, n)
        member[ids == -1] = 0.0
        levels.append((ids, member))
        current, above = nxt, member
    return levels


def cluster_graph(graph_edges: pl.DataFrame, names: pl.Series, params: GraphParams, order: AccountOrder) -> Clustering:
    """HDBSCAN per connected component of the sparsified graph, with canonical cluster IDs, and the clusters'
    sub-groups level by level (`split_levels`).

    The nodes enter HDBSCAN in activity order (`order`), never pseudonym order, so ties inside HDBSCAN resolve
    the same way under any key.
    """
    a, b = graph_edges["a"].to_numpy(), graph_edges["b"].to_numpy()
    codes = np.union1d(a, b)
    n = len(codes)
    if n == 0:
        empty = np.zeros(0)
        return Clustering(codes, [], empty.astype(np.int64), empty, empty, 0, [])
    # Node i of the matrix is the i-th graph account in activity order.
    by_rank = np.argsort(order.rank[codes], kind="stable")
    position = np.empty(n, dtype=np.int64)
    position[by_rank] = np.arange(n)
    ia, ib = position[np.searchsorted(codes, a)], position[np.searchsorted(codes, b)]
    dist = np.clip(1.0 - graph_edges["similarity"].to_numpy(), 1e-6, 1.0)
    rows, cols, vals = np.concatenate([ia, ib]), np.concatenate([ib, ia]), np.concatenate([dist, dist])
    full = csr_matrix((vals, (rows, cols)), shape=(n, n))
    components = _components(full)

    membership = np.zeros(n)
    outlier = np.zeros(n)
    groups: list[np.ndarray] = []
    for members in components:
        if len(members) < params.min_cluster_size:
            outlier[members] = 1.0
            continue
        labels, probs, outs = _hdbscan_component(full[members][:, members].tocsr(), params)
        outlier[members] = outs
        for lab in sorted(set(labels.tolist()) - {-1}):
            groups.append(members[labels == lab])
            membership[members[labels == lab]] = probs[labels == lab]
    raw_labels = _canonical(groups, n)
    membership[raw_labels == -1] = 0.0
    levels = split_levels(full, groups, membership, params)
    # Back from activity order to code order.
    back = position
    nodes = names.gather(pl.Series(codes)).to_list()
    return Clustering(codes, nodes, raw_labels[back], membership[back], outlier[back], len(components),
                      [(ids[back], member[back]) for ids, member in levels])


def _canonical(groups: list[np.ndarray], n: int) -> np.ndarray:
    """Each node's group number, -1 for none: size descending, then the member first in activity order (matrix
    positions follow it)."""
    labels = np.full(n, -1, dtype=np.int64)
    for cid, g in enumerate(sorted(groups, key=lambda g: (-len(g), int(g.min())))):
        labels[g] = cid
    return labels


def _fmt(col: str) -> pl.Expr:
    """A float attribute as GraphML text, rounded to 6 decimals (a missing kind is 0)."""
    return pl.col(col).fill_null(0.0).fill_nan(0.0).round(6).cast(pl.String)


def write_graphml(path, graph_edges: pl.DataFrame, names: pl.Series, accounts: pl.DataFrame) -> None:
    """Write the sparsified graph as GraphML (pseudonym node IDs only), streaming, in sorted order.

    Nodes are the graph's accounts (`accounts`: account_pseudonym, cluster_id, membership, flagged, role, for at
    least every graph node) and carry `label` (the first 8 characters of the pseudonym, as the report's drawings
    label them), cluster_id, membership, flagged (the account is counted as flagged) and role; edges carry
    `weight` (the combined similarity) and one evidence attribute per edge kind. Written directly rather than
    through networkx, which would hold every attribute of every edge as Python objects (gigabytes at the seed
    scale).
    """
    kinds = sorted(c for c in graph_edges.columns if c not in ("a", "b", "similarity"))
    head = [
        "<?xml version='1.0' encoding='utf-8'?>",
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns'
        ' http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">',
        '  <key id="label" for="node" attr.name="label" attr.type="string" />',
        '  <key id="cluster_id" for="node" attr.name="cluster_id" attr.type="long" />',
        '  <key id="membership" for="node" attr.name="membership" attr.type="double" />',
        '  <key id="flagged" for="node" attr.name="flagged" attr.type="boolean" />',
        '  <key id="role" for="node" attr.name="role" attr.type="string" />',
        '  <key id="weight" for="edge" attr.name="weight" attr.type="double" />',
        *[f'  <key id="{k}" for="edge" attr.name="{k}" attr.type="double" />' for k in kinds],
        '  <graph edgedefault="undirected">',
    ]
    in_graph = pl.concat([graph_edges.select(pl.col("a").alias("code")), graph_edges.select(pl.col("b").alias("code"))]).unique()
    nodes = (
        pl.DataFrame({ACCOUNT: names.gather(in_graph["code"].sort())})
        .join(accounts.select(ACCOUNT, "cluster_id", "membership", "flagged", "role"), on=ACCOUNT, how="left")
        .sort(ACCOUNT)
    )
    node_lines = nodes.select(
        pl.concat_str(
            pl.lit('    <node id="'), pl.col(ACCOUNT), pl.lit('">\n      <data key="label">'), pl.col(ACCOUNT).str.slice(0, 8),
            pl.lit('</data>\n      <data key="cluster_id">'), pl.col("cluster_id").fill_null(-1).cast(pl.String),
            pl.lit('</data>\n      <data key="membership">'), _fmt("membership"),
            pl.lit('</data>\n      <data key="flagged">'),
            pl.when(pl.col("flagged").fill_null(False)).then(pl.lit("true")).otherwise(pl.lit("false")),
            pl.lit('</data>\n      <data key="role">'), pl.col("role").fill_null("unclustered"),
            pl.lit("</data>\n    </node>"),
        ).alias("line")
    )["line"]
    parts = [
        pl.lit('    <edge source="'), pl.col("a"), pl.lit('" target="'), pl.col("b"),
        pl.lit('">\n      <data key="weight">'), _fmt("similarity"), pl.lit("</data>"),
    ]
    for k in kinds:
        parts += [pl.lit(f'\n      <data key="{k}">'), _fmt(k), pl.lit("</data>")]
    parts.append(pl.lit("\n    </edge>"))
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write("\n".join(head) + "\n")
        if node_lines.len():
            out.write("\n".join(node_lines.to_list()) + "\n")
        for start in range(0, graph_edges.height, 200_000):
            chunk = graph_edges.slice(start, 200_000)
            chunk = chunk.with_columns(names.gather(chunk["a"]).alias("a"), names.gather(chunk["b"]).alias("b"))
            lines = chunk.select(pl.concat_str(parts).alias("line"))["line"]
            out.write("\n".join(lines.to_list()) + "\n")
        out.write("  </graph>\n</graphml>\n")
