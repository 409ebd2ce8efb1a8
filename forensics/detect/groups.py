"""Group-level evidence: how far a group's members concentrate on the same keys, against the rest of the case.

The accounts of a distributed campaign share a little with each other pairwise but a lot as a group. For each
kind of key (addresses, networks, clock slots, prompt templates, cards...) and each group, the question is:
if the members had picked their keys the way the other accounts of the case pick theirs, how many distinct
keys would they have used? A campaign's requests pile onto few keys (a proxy pool, a template set, one card per
twenty accounts); ordinary accounts' do not.

With N member facts (distinct account-key pairs) and outsiders' key popularity pi_k = o_k / S_out (o_k the key's
holders outside the group), the expected number of distinct keys is

    U_exp = sum_k (1 - exp(-N * pi_k)) + N * f1,

the last term (Good-Turing) counting draws of keys no outsider holds: f1 is the share of outsider facts on keys
only one outsider holds. The background is the other accounts only, so a campaign's own keys never make
themselves look ordinary. `concentration` = U_exp / U_obs, and the chance of so few distinct keys is bounded by
Chernoff's lower tail for a sum of independent indicators, P(U <= (1 - delta) U_exp) <= exp(-delta^2 U_exp / 2),
reported as `surprise` = -log10 of that bound.

This runs after clustering on facts the edge step already collected (`FactStore`), so the events are not read
again for the network and prompt kinds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from forensics.detect.blocking import key_degrees, poisson_surprise, unique_facts

_LN10 = math.log(10.0)
# Kinds measured for every group, in the order the evidence lists them.
GROUP_KINDS = (
    "ip", "net", "slot", "template", "skeleton", "opening", "closing", "payment", "created", "user_agent",
    "system_prompt",
)
PROMPT_KINDS = ("template", "skeleton", "opening", "closing")
# Exact prompts of the requests that ask for reasoning: how many distinct ones a group sent (`reasoning_novelty`).
NOVELTY_KIND = "prompt"
# A key is specific to a group at this surprise (-log10 p) plus log10 of the group's distinct keys.
SPECIFIC_SURPRISE = 3.0


@dataclass
class KindBackground:
    """One kind's facts with their key degrees (on disk, by code) and the histogram of key degrees."""

    kind: str
    path: Path
    hist: np.ndarray
    total_facts: int


@dataclass
class FactStore:
    """Where the edge step leaves each kind's facts for the group step (a scratch directory of the case)."""

    root: Path
    kinds: dict[str, KindBackground] = field(default_factory=dict)

    def put(self, kind: str, facts: pl.DataFrame) -> pl.DataFrame:
        """Keep `facts` (any (code, key, stratum[, rows]) table, repeats summed here) for the group step; returns
        them as `unique_facts` gives them, for the caller to block on."""
        facts = unique_facts(facts)
        degree = key_degrees(facts)
        sizes = np.bincount(degree, minlength=2) if len(degree) else np.zeros(2, dtype=np.int64)
        # hist[d] = keys with d holders: each such key has d facts of degree d.
        hist = np.zeros(len(sizes), dtype=np.int64)
        nz = np.flatnonzero(sizes)
        hist[nz] = sizes[nz] // np.maximum(nz, 1)
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"{kind}.parquet"
        facts.select("code", "key", "rows", "reasoning").with_columns(
            pl.Series("degree", degree, dtype=pl.UInt32)
        ).write_parquet(path, compression="lz4", statistics=True)
        self.kinds[kind] = KindBackground(kind, path, hist, int(len(degree)))
        return facts


def expected_distinct(hist: np.ndarray, total: int, draws: np.ndarray, member_d: list[np.ndarray], member_m: list[np.ndarray]) -> np.ndarray:
    """U_exp for each group (see module docstring): `draws` its member facts N, `member_d`/`member_m` the degree
    and member holders of each key its members hold."""
    degrees = np.arange(len(hist), dtype=np.float64)
    out = np.zeros(len(draws))
    for g, n in enumerate(draws):
        s_out = max(total - n, 1)
        rate = n / s_out
        base = float(np.dot(hist, -np.expm1(-rate * degrees)))
        d = member_d[g].astype(np.float64)
        o = d - member_m[g]
        correction = float(np.sum(-np.expm1(-rate * d)) - np.sum(-np.expm1(-rate * o)))
        singles = (hist[1] if len(hist) > 1 else 0) - int(np.sum(d == 1)) + int(np.sum(o == 1))
        out[g] = base - correction + n * max(singles, 0) / s_out
    return out


def chernoff_surprise(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """-log10 of Chernoff's bound on P(U <= observed) for a sum of independent indicators with mean `expected`."""
    obs = np.asarray(observed, dtype=np.float64)
    exp = np.asarray(expected, dtype=np.float64)
    delta = np.where(exp > 0, np.clip(1.0 - obs / np.maximum(exp, 1e-300), 0.0, 1.0), 0.0)
    return delta * delta * exp / (2.0 * _LN10)


def group_evidence(background: KindBackground, members: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Per group and per member, for one kind.

    `members`: (code, cluster_id). Returns (groups, accounts, specific). groups has `cluster_id`; `keys` (distinct keys
    the members hold), `shared_keys` (held by 2+ members), `facts`, `rows` (member requests); the
    concentration figures `expected_keys`, `concentration` and `surprise` (module docstring); and the
    group-specific keys: `specific_keys`, `rows_on_specific`, `reasoning_on_specific` (those of them that ask
    for reasoning), and for the most surprising one `top_members`,
    `top_expected` and `top_surprise`. accounts has `code`, `cluster_id`, `specific_row_share` (the share of
    the account's own requests on its group's specific keys) and `specific_reasoning_share` (those of them that
    ask for reasoning). specific lists each group's specific keys (`cluster_id`, `key`).

    A key is specific to a group when more members hold it than the rest of the case makes plausible: with
    o_k outsiders among S_out outsider facts, members would hold it about E_k = N * max(o_k, 1) / S_out times,
    and it is specific when at least two members do and -log10 P(Poisson(E_k) >= m_k) is at least
    SPECIFIC_SURPRISE plus log10 of the group's distinct keys (a bound over the keys tested).
    """
    facts = (
        pl.scan_parquet(background.path)
        .join(members.lazy().select("code", "cluster_id"), on="code", how="inner")
        .collect()
    )
    group_schema = {
        "cluster_id": pl.Int64, "keys": pl.UInt32, "shared_keys": pl.UInt32, "facts": pl.UInt32, "rows": pl.Int64,
        "expected_keys": pl.Float64, "concentration": pl.Float64, "surprise": pl.Float64, "specific_keys": pl.UInt32,
        "rows_on_specific": pl.Int64, "reasoning_on_specific": pl.Int64, "top_members": pl.Int64, "top_expected": pl.Float64, "top_surprise": pl.Float64,
    }
    account_schema = {"code": pl.UInt32, "cluster_id": pl.Int64, "specific_row_share": pl.Float64,
                      "specific_reasoning_share": pl.Float64}
    specific_schema = {"cluster_id": pl.Int64, "key": pl.UInt64}
    if facts.height == 0:
        return pl.DataFrame(schema=group_schema), pl.DataFrame(schema=account_schema), pl.DataFrame(schema=specific_schema)
    held = facts.group_by("cluster_id", "key").agg(
        pl.len().cast(pl.Int64).alias("_m"), pl.col("degree").first().cast(pl.Int64).alias("_d"),
        pl.col("rows").sum().cast(pl.Int64).alias("_rows"), pl.col("reasoning").sum().cast(pl.Int64).alias("_reasoning"),
    )
    groups = (
        facts.group_by("cluster_id")
        .agg(pl.len().cast(pl.Int64).alias("facts"), pl.col("rows").sum().cast(pl.Int64).alias("rows"))
        .join(held.group_by("cluster_id").agg(pl.len().cast(pl.UInt32).alias("keys"),
                                              (pl.col("_m") >= 2).sum().cast(pl.UInt32).alias("shared_keys")),
              on="cluster_id")
        .sort("cluster_id")
    )
    total = background.total_facts
    held = held.join(groups.select("cluster_id", "facts", "keys"), on="cluster_id").sort("cluster_id", "key")
    n = held["facts"].to_numpy().astype(np.float64)
    m = held["_m"].to_numpy().astype(np.float64)
    outsiders = held["_d"].to_numpy() - held["_m"].to_numpy()
    s_out = np.maximum(total - n, 1.0)
    expected = n * np.maximum(outsiders, 1) / s_out
    key_surprise = poisson_surprise(m, expected)
    threshold = SPECIFIC_SURPRISE + np.log10(np.maximum(held["keys"].to_numpy().astype(np.float64), 1.0))
    specific = (m >= 2) & (key_surprise >= threshold)
    held = held.with_columns(
        pl.Series("_specific", specific), pl.Series("_surprise", np.round(key_surprise, 3)),
        pl.Series("_expected", np.round(expected, 6)),
    )
    top = (
        held.filter(pl.col("_specific"))
        .sort(["cluster_id", "_surprise", "_m", "key"], descending=[False, True, True, False])
        .group_by("cluster_id", maintain_order=True)
        .agg(pl.col("_m").first().alias("top_members"), pl.col("_expected").first().alias("top_expected"),
             pl.col("_surprise").first().alias("top_surprise"))
    )
    spec = held.group_by("cluster_id").agg(
        pl.col("_specific").sum().cast(pl.UInt32).alias("specific_keys"),
        pl.col("_rows").filter(pl.col("_specific")).sum().cast(pl.Int64).alias("rows_on_specific"),
        pl.col("_reasoning").filter(pl.col("_specific")).sum().cast(pl.Int64).alias("reasoning_on_specific"),
    )
    by_group = {cid: (g["_d"].to_numpy(), g["_m"].to_numpy()) for (cid,), g in held.partition_by("cluster_id", as_dict=True).items()}
    ids = groups["cluster_id"].to_list()
    expected_keys = expected_distinct(
        background.hist, total, groups["facts"].to_numpy().astype(np.int64),
        [by_group[c][0] for c in ids], [by_group[c][1] for c in ids],
    )
    observed = groups["keys"].to_numpy().astype(np.float64)
    groups = (
        groups.with_columns(
            pl.Series("expected_keys", np.round(expected_keys, 3)),
            pl.Series("concentration", np.round(expected_keys / np.maximum(observed, 1.0), 4)),
            pl.Series("surprise", np.round(chernoff_surprise(observed, expected_keys), 3)),
        )
        .join(spec, on="cluster_id", how="left")
        .join(top, on="cluster_id", how="left")
        .with_columns(pl.col("specific_keys").fill_null(0), pl.col("rows_on_specific").fill_null(0),
                      pl.col("reasoning_on_specific").fill_null(0),
                      pl.col("top_members").fill_null(0), pl.col("top_expected").fill_null(0.0),
                      pl.col("top_surprise").fill_null(0.0))
        .select(group_schema.keys())
        .cast(group_schema)
    )
    per_account = (
        facts.join(held.select("cluster_id", "key", "_specific"), on=["cluster_id", "key"], how="left")
        .group_by("code", "cluster_id")
        .agg(
            (pl.col("rows").filter(pl.col("_specific")).sum().cast(pl.Float64) / pl.col("rows").sum()).alias("specific_row_share"),
            (pl.col("reasoning").filter(pl.col("_specific")).sum().cast(pl.Float64) / pl.col("rows").sum()).alias(
                "specific_reasoning_share"
            ),
        )
        .sort("code")
        .cast(account_schema)
    )
    specific_keys = held.filter(pl.col("_specific")).select("cluster_id", "key").sort("cluster_id", "key").cast(specific_schema)
    return groups, per_account, specific_keys


def reasoning_novelty(background: KindBackground, members: pl.DataFrame) -> pl.DataFrame:
    """Per group (`members`: code, cluster_id): its requests that ask for reasoning (`reasoning_requests`) and the
    distinct prompts among them (`reasoning_prompts`), from the NOVELTY_KIND facts (one per account and prompt)."""
    return (
        pl.scan_parquet(background.path).select("code", "key", "rows")
        .join(members.lazy().select("code", "cluster_id"), on="code", how="inner")
        .group_by("cluster_id")
        .agg(pl.col("rows").sum().cast(pl.Int64).alias("reasoning_requests"),
             pl.col("key").n_unique().cast(pl.Int64).alias("reasoning_prompts"))
        .collect()
        .sort("cluster_id")
    )


def attach_candidates(background: KindBackground, specific: pl.DataFrame, excluded: pl.DataFrame) -> pl.DataFrame:
    """For accounts outside every group (not in `excluded`'s `code`), their requests on each group's specific
    keys: `code`, `cluster_id`, `rows_on_specific`, `reasoning_on_specific`, `specific_keys`, and `rows` (all their
    requests of this kind)."""
    facts = pl.scan_parquet(background.path).select("code", "key", "rows", "reasoning").join(
        excluded.lazy().select("code"), on="code", how="anti"
    )
    on_specific = (
        facts.join(specific.lazy(), on="key", how="inner")
        .group_by("code", "cluster_id")
        .agg(
            pl.col("rows").sum().alias("rows_on_specific"), pl.col("reasoning").sum().alias("reasoning_on_specific"),
            pl.len().alias("specific_keys"),
        )
        .collect()
    )
    # All requests of the few accounts found, not of every account outside the groups.
    totals = (
        facts.join(on_specific.lazy().select("code"), on="code", how="semi")
        .group_by("code").agg(pl.col("rows").sum().alias("rows"))
    )
    return on_specific.lazy().join(totals, on="code", how="left").collect().sort("code", "cluster_id")
