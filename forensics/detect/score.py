"""Suspicion scores, flags and plain-language evidence per cluster.

A distillation campaign is a group whose accounts (1) concentrate on the same keys far beyond chance
(coordination), (2) send templated prompts that ask for reasoning (extraction), and often (3) run like
machines and (4) share cheap infrastructure. Each part is a number in [0, 1] computed from indicators (see
`INDICATORS`); the score is

    score = 0.35 * coordination + 0.40 * extraction + 0.10 * automation + 0.15 * infrastructure

and a group is flagged when score >= flag_threshold, coordination >= 0.5, extraction >= 0.3, at least
min_flag_accounts of its members are flagged accounts, and no benign explanation covers it. A group merged by
HDBSCAN's epsilon that is not flagged is scored again as its sub-groups, level by level (`forensics.detect.graph`).

- coordination: the largest share of the members' requests that fall on keys specific to the group (keys far
  more members use than the rest of the case explains, `forensics.detect.groups`), over addresses, networks, clock
  slots, prompt templates and skeletons, cards, signup hours, user agents and system prompts; or the share of
  members with a co-action partner;
- extraction: from the group's templated reasoning requests, those that ask for reasoning in a prompt frame
  (template, skeleton, opening or closing words) specific to the group: their share of its requests (0 up to
  0.1 above the typical account's share of reasoning requests, 1 from 0.4 above it) times their number per
  member per active day (0 up to 1, 1 from 2), times the distinct prompts per reasoning request (0 up to 0.01, 1
  from 0.1): a group harvesting answers to new questions, not one that asks a few questions on the days it works
  (a class doing its exercises) or the same few dozen questions over and over (an app's users);
- automation: the share of members active around the clock (hour entropy >= 4.2 bits);
- infrastructure: the largest of the card concentration, the signup-burst share, the share switching to a new
  model within 48 h, and the share of requests from outside the billing country.

Who in a flagged group is counted as flagged is decided per account, so that a legitimate sub-group inside a
cluster is never named with it:
- core members (HDBSCAN membership >= 0.5) and weakly attached members that have `min_samples` links of
  their own at the strength that keeps core members in the group; other weak members are listed as weakly
  attached, not flagged;
- an organisation's accounts on one payment method, or registered organisations each on their own card
  without a signup burst, are left out with that reason, wherever they sit;
- members whose own share of templated reasoning requests is below half the group's are left out as not
  sharing the group's prompts (a proxy pool's or campus NAT's ordinary users).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from forensics.codes import ACCOUNT, decode
from forensics.detect.groups import (
    GROUP_KINDS, NOVELTY_KIND, PROMPT_KINDS, SPECIFIC_SURPRISE, FactStore, attach_candidates, group_evidence, reasoning_novelty,
)
from forensics.params import ScoreParams

WEIGHTS = {"coordination": 0.35, "extraction": 0.40, "automation": 0.10, "infrastructure": 0.15}
COORDINATION_MIN = 0.5
EXTRACTION_MIN = 0.3
ROUND_THE_CLOCK_BITS = 4.2
HUMAN_PACED_BITS = 4.0
# Extraction is the product of two factors of the group's templated reasoning requests (requests for reasoning
# in a prompt frame specific to the group): their share of its requests, from 0 at the typical account's share
# of reasoning requests plus REASONING_FROM to 1 at plus REASONING_FULL; and their number per member per
# active day, from 0 at RATE_FROM to 1 at RATE_FULL.
REASONING_FROM = 0.1
REASONING_FULL = 0.4
RATE_FROM = 1.0
RATE_FULL = 2.0
# Extraction harvests answers to new questions. A group whose reasoning requests repeat a few prompts (an app's
# users asking the same questions, a class doing one exercise) collects few distinct answers, so extraction is
# also scaled by the distinct prompts per reasoning request: 0 at NOVELTY_FROM (each prompt sent a hundred
# times), 1 from NOVELTY_FULL (ten times: room for sampling several answers to each question, and for fan-out).
NOVELTY_FROM = 0.01
NOVELTY_FULL = 0.1
# A member is counted with its group when its own share of templated reasoning requests is at least this
# fraction of the group's.
MEMBER_SHARE_OF_GROUP = 0.5
# Members with HDBSCAN membership at least this are core members; below it, weakly attached.
CORE_MEMBERSHIP = 0.5
# A group without extraction is explained as one app's shared system prompt when that prompt covers at least
# BENIGN_SYSTEM_PROMPT_SHARE of its requests, or as a shared network of people when at least
# BENIGN_HUMAN_PACED_SHARE of its members are human-paced; either only while its templated share is below
# BENIGN_TEMPLATED_MAX.
BENIGN_SYSTEM_PROMPT_SHARE = 0.8
BENIGN_HUMAN_PACED_SHARE = 0.6
BENIGN_TEMPLATED_MAX = 0.3
COORDINATION_KINDS = (
    "ip", "net", "slot", "template", "skeleton", "opening", "closing", "payment", "created", "user_agent", "system_prompt",
)

# Each evidence line names the indicator that produced it; the report words each indicator one way (see
# `phrase`), and tests tie every phrase to an indicator the scorer emits.
KIND_INDICATOR = {
    "ip": "shared_addresses", "net": "shared_networks", "slot": "shared_clock_slots", "template": "shared_templates",
    "skeleton": "shared_prompt_skeletons", "opening": "shared_openings", "closing": "shared_closings",
    "payment": "shared_cards", "created": "signup_hours",
    "user_agent": "shared_user_agents", "system_prompt": "shared_system_prompts",
}
KIND_NOUN = {
    "ip": ("address", "addresses"), "net": ("network (/24)", "networks (/24)"),
    "slot": ("ten-minute clock slot (two grids)", "ten-minute clock slots (two grids)"),
    "template": ("prompt template or near-duplicate signature", "prompt templates and near-duplicate signatures"),
    "skeleton": ("prompt skeleton", "prompt skeletons"), "payment": ("payment card", "payment cards"),
    "opening": ("prompt opening (first four words)", "prompt openings (first four words)"),
    "closing": ("prompt ending (last four words)", "prompt endings (last four words)"),
    "created": ("signup hour", "signup hours"), "user_agent": ("user agent", "user agents"),
    "system_prompt": ("system prompt", "system prompts"),
}
# What a kind's share counts, where it is not simply the members' requests: a request counts once for its
# template and once for each near-duplicate signature, once on each of the two slot grids, and only where it
# carries the value at all.
KIND_SHARE_OF = {
    "ip": "requests with an address", "net": "requests with an address",
    "slot": "slot matches", "template": "template and signature matches",
    "skeleton": "requests", "opening": "requests", "closing": "requests",
    "payment": "accounts", "created": "accounts",
    "user_agent": "requests with a user agent", "system_prompt": "requests with a system prompt",
}
INDICATORS = (
    "accounts", "members", *KIND_INDICATOR.values(), "coaction", "reasoning", "novelty", "round_the_clock", "new_model",
    "country_mismatch",
)


def rules(params: dict) -> list[tuple[str, str]]:
    """Every threshold of the score and the flag rule, in words, with its value (`params`: clusters.json's)."""
    return [
        ("Flag: suspicion score at least", f"{params.get('flag_threshold', 0.5):g}"),
        ("Flag: coordination at least", f"{COORDINATION_MIN:g}"),
        ("Flag: extraction at least", f"{EXTRACTION_MIN:g}"),
        ("Flag: flagged accounts in the group at least", f"{params.get('min_flag_accounts', 5)}"),
        ("Extraction share ramp: from the typical account's reasoning share plus", f"{REASONING_FROM:g} to {REASONING_FULL:g}"),
        ("Extraction rate ramp: templated reasoning requests per member per active day", f"{RATE_FROM:g} to {RATE_FULL:g}"),
        ("Extraction novelty ramp: distinct prompts per request that asks for reasoning", f"{NOVELTY_FROM:g} to {NOVELTY_FULL:g}"),
        ("Automation: hour-of-day entropy for round the clock (bits, of 4.58)", f"{ROUND_THE_CLOCK_BITS:g}"),
        ("A value is specific to a group at -log10 chance of at least", f"{SPECIFIC_SURPRISE:g} + log10(the group's distinct values)"),
        ("A member is counted when its templated reasoning share is at least", f"{MEMBER_SHARE_OF_GROUP:g} of its group's"),
        ("A weakly attached member (membership below 0.5) is counted with links of its own at similarity",
         f"at least {1 - params.get('cluster_epsilon', 0.6):g}, to at least {params.get('min_samples', 3)} core members"),
        ("Signup burst window (hours)", f"{ScoreParams.signup_burst_h:g}"),
    ]


def _pct(x: float) -> str:
    """A share as a whole percentage; a share that rounds to 0 but is not 0 says so."""
    return "less than 1%" if 0 < x < 0.005 else f"{round(100 * x):d}%"


def chance_words(surprise: float) -> str:
    """A -log10 probability as words a letter can quote."""
    if surprise >= 300:
        return "less than one in 10^300"
    if surprise >= 9:
        return f"less than one in 10^{int(math.floor(surprise))}"
    if surprise >= 6:
        return "less than one in a million"
    if surprise >= 3:
        return "less than one in a thousand"
    if surprise >= 2:
        return "less than one in a hundred"
    return "not unusual"


def phrase(indicator: str, v: dict) -> str:
    """The one wording of each indicator (`v` holds the figures the scorer computed for it)."""
    if indicator == "accounts":
        return f"{v['accounts']:,} accounts"
    if indicator == "members":
        text = (
            f"{v['flagged']:,} accounts counted as flagged; {v['weak']:,} weakly attached and not counted, and "
            f"{v['excluded']:,} left out for the reasons listed"
        )
        if v["attached"]:
            text += (
                f"; {v['attached']:,} of the flagged accounts joined after grouping, because most of their own "
                "requests ask for reasoning in the group's prompt templates and they share another of its specific "
                "values (too little traffic for links of their own)"
            )
        return text
    if indicator in KIND_INDICATOR.values():
        one, many = v["noun"]
        text = (
            f"members used {v['keys']:,} distinct {many if v['keys'] != 1 else one} (about {v['expected_keys']:,.0f} "
            f"expected from accounts with the same activity elsewhere in the case)"
        )
        if v["specific_keys"]:
            text += (
                f"; {v['specific_keys']:,} are used by far more members than the rest of the case explains "
                f"({_pct(v['specific_share'])} of the members' {v['share_of']}), the most telling by "
                f"{v['top_members']:,} members where about {v['top_expected']:,.2g} were expected (chance: "
                f"{chance_words(v['top_surprise'])})"
            )
        else:
            text += "; none is used by more members than the rest of the case explains"
        return text
    if indicator == "coaction":
        return f"{_pct(v['share'])} of accounts sent the same prompt as another member within {v['window_s']} s"
    if indicator == "reasoning":
        return (f"{_pct(v['share'])} of the members' requests match the method's list of reasoning phrases (such as "
                f"\"step by step\") in the prompt or system prompt (median account: {_pct(v['base'])})")
    if indicator == "novelty":
        if not v["requests"]:
            return "no member request asks for reasoning"
        return (f"the members' {v['requests']:,} requests that ask for reasoning hold {v['prompts']:,} distinct "
                f"prompts, about {v['requests'] / max(v['prompts'], 1):,.1f} requests for each")
    if indicator == "round_the_clock":
        return (f"{_pct(v['share'])} of accounts active around the clock (each spreads its requests over the hours of the "
                f"day at least as evenly as if spread equally over {2 ** ROUND_THE_CLOCK_BITS:.0f} of the 24 hours; a "
                f"daily rhythm can remain)")
    if indicator == "new_model":
        return (f"{_pct(v['share'])} of accounts first used a model within 48 h of that model's first appearance in "
                "the case")
    if indicator == "country_mismatch":
        return f"on average {_pct(v['share'])} of each account's requests came from outside its billing country (by IP)"
    raise KeyError(indicator)


def _evidence_item(indicator: str, value: float, figures: dict) -> dict:
    return {"indicator": indicator, "text": phrase(indicator, figures), "value": value}


def _max_window_share(times: list, window_us: int) -> float:
    """Largest share of `times` (epoch microseconds) inside any window of `window_us`."""
    ts = np.sort(np.asarray([t for t in times if t is not None], dtype=np.int64))
    if len(ts) == 0:
        return 0.0
    ends = np.searchsorted(ts, ts + window_us, side="right")
    return float((ends - np.arange(len(ts))).max() / len(ts))


def linked_members(edges: pl.DataFrame, names: pl.Series, clusters: pl.DataFrame) -> dict[tuple[int, str], int]:
    """Per (cluster, edge kind), the members with an edge of that kind to another member of their cluster.

    `edges` holds account codes (indices into `names`) and the kind as an Enum. Only the edges inside a cluster
    are materialised.
    """
    code_of = pl.DataFrame({ACCOUNT: names}).with_row_index("code")
    member_codes = clusters.filter(pl.col("cluster_id") >= 0).join(code_of, on=ACCOUNT, how="inner")
    cid_of_code = np.full(len(names), -1, dtype=np.int32)
    cid_of_code[member_codes["code"].to_numpy()] = member_codes["cluster_id"].to_numpy()
    cs = cid_of_code[edges["src"].to_numpy()]
    same = cs == cid_of_code[edges["dst"].to_numpy()]
    same &= cs >= 0
    inner = edges.select("src", "dst", "kind").filter(pl.Series(same)).with_columns(pl.Series("cluster_id", cs[same]))
    del cs, same
    linked = pl.concat(
        [inner.select("cluster_id", "kind", pl.col("src").alias("a")),
         inner.select("cluster_id", "kind", pl.col("dst").alias("a"))]
    ).group_by("cluster_id", "kind").agg(pl.col("a").n_unique().alias("linked"))
    return {(int(r["cluster_id"]), str(r["kind"])): r["linked"] for r in linked.iter_rows(named=True)}


def strong_links(graph_edges: pl.DataFrame, clusters: pl.DataFrame, codes: pl.DataFrame, min_similarity: float) -> pl.DataFrame:
    """Per account: how many of its graph links to core members of its own cluster have similarity >=
    `min_similarity` (`code`, `strong_links`)."""
    coded = clusters.join(codes, on=ACCOUNT, how="inner").select("code", "cluster_id", (pl.col("membership") >= CORE_MEMBERSHIP).alias("_core"))
    both = pl.concat(
        [graph_edges.select(pl.col("a").alias("u"), pl.col("b").alias("v"), "similarity"),
         graph_edges.select(pl.col("b").alias("u"), pl.col("a").alias("v"), "similarity")]
    ).filter(pl.col("similarity") >= min_similarity)
    joined = (
        both.join(coded.rename({"code": "u", "cluster_id": "_cu", "_core": "_ucore"}), on="u", how="inner")
        .join(coded.rename({"code": "v", "cluster_id": "_cv", "_core": "_vcore"}), on="v", how="inner")
        .filter((pl.col("_cu") == pl.col("_cv")) & (pl.col("_cu") >= 0) & pl.col("_vcore"))
    )
    return joined.group_by(pl.col("u").alias("code")).agg(pl.len().cast(pl.Int64).alias("strong_links"))


@dataclass
class _Group:
    """Per-kind group evidence of one set of groups (clusters or their flagged members)."""

    kinds: dict[str, dict[int, dict]]
    member_templated: pl.DataFrame  # code, specific_row_share, specific_reasoning_share (max over prompt kinds)
    specific: dict[str, pl.DataFrame]  # kind -> (cluster_id, key) of each group's specific keys


def _evaluate_groups(store: FactStore, members: pl.DataFrame) -> _Group:
    kinds: dict[str, dict[int, dict]] = {}
    specific: dict[str, pl.DataFrame] = {}
    templated = []
    for kind in GROUP_KINDS:
        if kind not in store.kinds:
            continue
        groups, accounts, specific[kind] = group_evidence(store.kinds[kind], members)
        kinds[kind] = {int(r["cluster_id"]): r for r in groups.iter_rows(named=True)}
        if kind in PROMPT_KINDS:
            templated.append(accounts.select("code", "specific_row_share", "specific_reasoning_share"))
    if templated:
        member_templated = pl.concat(templated).group_by("code").agg(
            pl.col("specific_row_share").max(), pl.col("specific_reasoning_share").max()
        ).sort("code")
    else:
        member_templated = pl.DataFrame(schema={"code": pl.UInt32, "specific_row_share": pl.Float64,
                                                "specific_reasoning_share": pl.Float64})
    return _Group(kinds, member_templated, specific)


def attach_accounts(store: FactStore, evaluated: _Group, flagged: dict[int, float], grouped: pl.DataFrame) -> pl.DataFrame:
    """Accounts outside every group that join a flagged group after clustering (`code`, `cluster_id`).

    An account joins when its own requests are the group's: its share of requests that ask for reasoning in the
    group's specific prompt frames is at least the group's member threshold (`flagged`: cluster_id -> threshold),
    over at least two of those frames, and it also shares a specific key of another kind (an address, network,
    clock slot, card, signup hour or client) with the group. Accounts with too little traffic for a link of
    their own are found this way (a CopyCatch-style test of the account against the group's block of keys).
    An account that qualifies for several groups joins the one it matches best (then the lower cluster id).
    """
    schema = {"code": pl.UInt32, "cluster_id": pl.Int64}
    if not flagged:
        return pl.DataFrame(schema=schema)
    keep = pl.Series(sorted(flagged), dtype=pl.Int64)
    prompt, other = [], []
    for kind in GROUP_KINDS:
        if kind not in store.kinds or kind not in evaluated.specific:
            continue
        spec = evaluated.specific[kind].filter(pl.col("cluster_id").is_in(keep.implode()))
        if spec.height == 0:
            continue
        found = attach_candidates(store.kinds[kind], spec, grouped)
        if kind in PROMPT_KINDS:
            prompt.append(found.filter(pl.col("specific_keys") >= 2).select(
                "code", "cluster_id", (pl.col("reasoning_on_specific") / pl.col("rows")).alias("share")))
        else:
            other.append(found.select("code", "cluster_id"))
    if not prompt or not other:
        return pl.DataFrame(schema=schema)
    thresholds = pl.DataFrame({"cluster_id": list(flagged), "_min": list(flagged.values())}, schema={"cluster_id": pl.Int64, "_min": pl.Float64})
    best = (
        pl.concat(prompt).group_by("code", "cluster_id").agg(pl.col("share").max())
        .join(thresholds, on="cluster_id").filter((pl.col("share") >= pl.col("_min")) & (pl.col("share") > 0))
        .join(pl.concat(other).unique(), on=["code", "cluster_id"], how="semi")
        .sort(["code", "share", "cluster_id"], descending=[False, True, False])
        .group_by("code", maintain_order=True).first()
    )
    return best.select("code", "cluster_id").cast(schema).sort("code")


def _kind_figures(kind: str, r: dict) -> dict:
    rows = int(r["rows"] or 0)
    return {
        "noun": KIND_NOUN[kind],
        "share_of": KIND_SHARE_OF[kind],
        "keys": int(r["keys"]),
        "shared_keys": int(r["shared_keys"]),
        "expected_keys": float(r["expected_keys"]),
        "specific_keys": int(r["specific_keys"]),
        "specific_share": (int(r["rows_on_specific"] or 0) / rows) if rows else 0.0,
        "top_members": int(r["top_members"]),
        "top_expected": float(r["top_expected"]),
        "top_surprise": float(r["top_surprise"]),
    }


def _specific_share(r: dict | None) -> float:
    """The share of the members' requests (accounts, for account kinds) on keys specific to the group."""
    if r is None or not r["rows"]:
        return 0.0
    return int(r["rows_on_specific"] or 0) / int(r["rows"])


def _templated_share(g: _Group, cid: int) -> float:
    return max(_specific_share(g.kinds.get(kind, {}).get(cid)) for kind in PROMPT_KINDS)


def _templated_reasoning_share(g: _Group, cid: int) -> float:
    """The share of the group's requests that ask for reasoning in a prompt frame specific to the group."""
    best = 0.0
    for kind in PROMPT_KINDS:
        r = g.kinds.get(kind, {}).get(cid)
        if r and r["rows"]:
            best = max(best, int(r["reasoning_on_specific"] or 0) / int(r["rows"]))
    return best


def _ramp(x: float, low: float, high: float) -> float:
    return float(np.clip((x - low) / (high - low), 0.0, 1.0))


def extraction(share: float, rate: float, base: float, novelty: float = 1.0) -> float:
    """Extraction from the group's templated reasoning requests: their `share` of its requests against the
    typical account's share of reasoning requests `base`, times their `rate` per member per active day, times
    the `novelty` of its reasoning requests (distinct prompts per request)."""
    return (_ramp(share, base + REASONING_FROM, base + REASONING_FULL) * _ramp(rate, RATE_FROM, RATE_FULL)
            * _ramp(novelty, NOVELTY_FROM, NOVELTY_FULL))


def _components(c: dict) -> dict[str, float]:
    return {
        "coordination": float(np.clip(c["coordination"], 0, 1)),
        "extraction": extraction(c["templated_reasoning_share"], c["templated_reasoning_rate"], c["base_reasoning"],
                                 c["novelty"]),
        "automation": float(np.clip(c["round_the_clock_share"], 0, 1)),
        "infrastructure": float(np.clip(max(c["payment_score"], c["signup_burst_share"], c["fast_new_model_share"],
                                            c["country_mismatch_share"]), 0, 1)),
    }


def _score(comp: dict[str, float]) -> float:
    return float(sum(WEIGHTS[k] * comp[k] for k in WEIGHTS))


def _org_exclusions(grp: pl.DataFrame, params: ScoreParams) -> dict[str, str]:
    """Members of a cluster left out as a legitimate organisation, with the reason (pseudonym -> reason).

    One organisation on one payment method is accountable to the provider and explains the ties among its own
    accounts. Several such organisations tied into one group are not explained by it: their accounts act as one
    operation across organisations, so none of them is left out.
    """
    out: dict[str, str] = {}
    with_org = grp.filter(pl.col("org_pseudonym").is_not_null())
    if with_org.height == 0:
        return out
    single_card = []
    for (org,), sub in with_org.group_by("org_pseudonym", maintain_order=True):
        if sub.height >= 2 and sub["payment_pseudonym"].drop_nulls().n_unique() <= 1:
            single_card.append(sub)
    if len(single_card) == 1:
        for sub in single_card:
            reason = f"one registered organisation ({sub.height:,} accounts) on one payment method"
            out.update({a: reason for a in sub[ACCOUNT].to_list()})
    rest = with_org.filter(~pl.col(ACCOUNT).is_in(list(out)))
    if rest.height and rest["org_pseudonym"].n_unique() == rest.height:
        shared = rest["payment_pseudonym"].drop_nulls().value_counts().filter(pl.col("count") >= 2).height
        created = rest["created_at"].dt.epoch("us").to_list()
        burst = _max_window_share(created, int(params.signup_burst_h * 3600e6)) if any(t is not None for t in created) else 0.0
        if shared == 0 and (rest.height < 3 or burst <= 0.5):
            reason = "registered organisations of one account each, each on its own payment method, with no signup burst"
            out.update({a: reason for a in rest[ACCOUNT].to_list()})
    return out


def _group_benign(c: dict) -> str | None:
    """A legitimate reason for a whole group's ties, when it shows no extraction."""
    if c["extraction"] >= EXTRACTION_MIN:
        return None
    if c["system_prompt_top_share"] >= BENIGN_SYSTEM_PROMPT_SHARE and c["templated_share"] < BENIGN_TEMPLATED_MAX:
        return "one app's shared system prompt, with diverse prompts"
    if c["human_paced_share"] >= BENIGN_HUMAN_PACED_SHARE and c["templated_share"] < BENIGN_TEMPLATED_MAX:
        return "a shared network of diverse, human-paced users"
    return None


# Two flagged groups are one operation when at least this share of the smaller one's specific templates (the
# digit-masked prompts and their MinHash bands: content, not the boilerplate that asks for reasoning, which
# unrelated campaigns share) are also the other's.
MERGE_OVERLAP = 0.25


def _merge_map(evaluated: _Group, flagged: list[int]) -> dict[int, int]:
    """Flagged groups to merge: each maps to the lowest cluster id of its connected set, where two groups connect
    when the specific templates they share are at least MERGE_OVERLAP of the smaller group's (of at least two)."""
    keys: dict[int, set] = {cid: set() for cid in flagged}
    spec = evaluated.specific.get("template")
    if spec is not None:
        for (cid,), part in spec.filter(pl.col("cluster_id").is_in(flagged)).group_by("cluster_id"):
            keys[int(cid)] = set(part["key"].to_list())
    parent = {cid: cid for cid in flagged}

    def root(c: int) -> int:
        while parent[c] != c:
            c = parent[c]
        return c

    ordered = sorted(flagged)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            small = min(len(keys[a]), len(keys[b]))
            if small >= 2 and len(keys[a] & keys[b]) >= MERGE_OVERLAP * small:
                ra, rb = root(a), root(b)
                parent[max(ra, rb)] = min(ra, rb)
    return {cid: root(cid) for cid in flagged}


def _level_ids(clusters: pl.DataFrame) -> np.ndarray:
    """The group of each account at every level, one row per level: the clusters (`cluster_id`), then their
    sub-groups (`cluster_id_1`, `cluster_id_2`, ...); -1 for none."""
    rows = [clusters["cluster_id"].to_numpy()]
    while f"cluster_id_{len(rows)}" in clusters.columns:
        rows.append(clusters[f"cluster_id_{len(rows)}"].to_numpy())
    return np.vstack(rows).astype(np.int64)


def select_groups(ids: np.ndarray, flagged: list[set[int]]) -> tuple[np.ndarray, np.ndarray]:
    """The groups scoring reports, from the levels of groups (`ids`, as `_level_ids`) and the groups flagged at
    each level (`flagged[d]`, scored only where no group above was flagged): per account, the level of its group
    (-1: none) and its id there.

    An account in a flagged group takes the shallowest one. Any other account takes the shallowest group of its
    that holds no flagged account, so that a group with nothing flagged inside stays whole, and a group that
    holds a flagged sub-group gives way to its sub-groups; an account in none of those is left ungrouped."""
    levels, n = ids.shape
    first = np.full(n, levels)
    for d in range(levels):
        hit = (first == levels) & (ids[d] >= 0) & np.isin(ids[d], np.fromiter(flagged[d], np.int64, len(flagged[d])))
        first[hit] = d
    depth, gid = np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64)
    named = first < levels
    depth[named] = first[named]
    gid[named] = ids[first[named], np.flatnonzero(named)]
    todo = ~named
    for d in range(levels):
        holds_flagged = np.unique(ids[d][named & (ids[d] >= 0)])
        stop = todo & (ids[d] >= 0) & ~np.isin(ids[d], holds_flagged)
        depth[stop], gid[stop] = d, ids[d][stop]
        todo &= ~stop & (ids[d] >= 0)
    return depth, gid


def _level_frame(clusters: pl.DataFrame, ids: np.ndarray, depth: int, frontier: np.ndarray) -> pl.DataFrame:
    """The clusters frame for scoring level `depth`'s groups of the `frontier` accounts (others in none)."""
    member = "membership" if depth == 0 else f"membership_{depth}"
    frame = clusters.with_columns(
        pl.Series("cluster_id", np.where(frontier, ids[depth], -1)),
        pl.when(pl.Series(frontier)).then(pl.col(member)).otherwise(0.0).alias("membership"),
    )
    return frame


def _unchanged(ids: np.ndarray, depth: int, frontier: np.ndarray) -> bool:
    """Whether level `depth` groups the `frontier` accounts exactly as level `depth - 1` does."""
    above, below = ids[depth - 1][frontier], ids[depth][frontier]  # every frontier account is in a group above
    if np.any(below < 0):
        return False
    pairs = np.unique(np.stack([above, below]), axis=1)
    return len(np.unique(pairs[0])) == len(np.unique(pairs[1])) == pairs.shape[1]


def renumber(clusters: pl.DataFrame, rank: pl.DataFrame) -> pl.DataFrame:
    """Canonical cluster ids after merging: size descending, then the member first in activity order (`rank`:
    account_pseudonym, rank)."""
    grouped = clusters.filter(pl.col("cluster_id") >= 0).join(rank, on=ACCOUNT, how="left")
    order = (
        grouped.group_by("cluster_id").agg(pl.len().alias("_n"), pl.col("rank").min().alias("_first"))
        .sort(["_n", "_first"], descending=[True, False]).with_row_index("_new")
    )
    mapping = order.select("cluster_id", pl.col("_new").cast(pl.Int64))
    return clusters.join(mapping, on="cluster_id", how="left", maintain_order="left").with_columns(
        pl.col("_new").fill_null(-1).alias("cluster_id")
    ).drop("_new")


def score_clusters(
    features: pl.DataFrame,
    clusters: pl.DataFrame,
    codes: pl.DataFrame,
    graph_edges: pl.DataFrame,
    coaction: pl.DataFrame,
    store: FactStore,
    params: ScoreParams,
    *,
    coaction_window_s: int,
    strong_similarity: float,
    min_samples: int,
    rank: pl.DataFrame,
) -> tuple[list[dict], pl.DataFrame]:
    """Score every cluster; returns (one dict per cluster sorted by cluster_id, the per-account roles).

    `clusters` holds each clustered account's cluster (`cluster_id`, `membership`) and, optionally, its
    sub-groups level by level (`cluster_id_1`, `membership_1`, ...; `forensics.detect.graph.split_levels`);
    `coaction` holds the co-action edges (account codes), from which each group's linked members are counted.

    Groups and sub-groups. A group that is not flagged is scored again as its sub-groups, level by level: in a
    large population a few chance links can merge a campaign with thousands of ordinary accounts whose averages
    then hide it. A group that holds a flagged sub-group gives way to its sub-groups; one that holds none stays
    whole (`select_groups`). A flagged group is not checked against its own sub-groups: a classroom merged with a
    campaign is flagged with it where its members pass the per-member tests below.

    Roles (`account_pseudonym`, `cluster_id`, `role`, `flagged`, `membership`) cover every clustered account and
    every account that joined a flagged group: `flagged`, `core`, `weak` (weakly attached), `organisation` (a
    legitimate organisation left out), `not_templated` (own prompts not the group's), `attached`. The role's
    cluster_id and membership are final: flagged groups that share most of their specific prompt frames are one
    operation split by the clustering, and are merged (and all groups renumbered canonically) before they are
    scored again.
    """
    args = (coaction, features, codes, graph_edges, store, params)
    kwargs = dict(coaction_window_s=coaction_window_s, strong_similarity=strong_similarity, min_samples=min_samples)
    out, roles, evaluated = _score_pass(clusters, *args, **kwargs)
    ids = _level_ids(clusters)
    if len(ids) > 1:
        flagged = [{c["cluster_id"] for c in out if c["flagged"]}]
        frontier = ids[0] >= 0  # the accounts whose groups so far are all unflagged
        for d in range(1, len(ids)):
            frontier &= (ids[d - 1] >= 0) & ~np.isin(ids[d - 1], np.fromiter(flagged[d - 1], np.int64, len(flagged[d - 1])))
            if not frontier.any() or _unchanged(ids, d, frontier):
                flagged.append(set())
                continue
            level = _score_pass(_level_frame(clusters, ids, d, frontier), *args, **kwargs)[0]
            flagged.append({c["cluster_id"] for c in level if c["flagged"]})
        depth, gid = select_groups(ids, flagged)
        if any(flagged[1:]):
            clusters = _regroup(clusters, np.where(depth >= 0, gid * len(ids) + depth, -1),
                                _level_membership(clusters, depth, len(ids)), rank)
            out, roles, evaluated = _score_pass(clusters, *args, **kwargs)
    merge = _merge_map(evaluated, [c["cluster_id"] for c in out if c["flagged"]])
    if all(a == b for a, b in merge.items()):
        return out, roles
    relabelled = clusters.with_columns(
        pl.col("cluster_id").replace_strict(list(merge), list(merge.values()), default=pl.col("cluster_id"))
    )
    out, roles, _ = _score_pass(renumber(relabelled, rank), *args, **kwargs)
    return out, roles


def _regroup(clusters: pl.DataFrame, interim: np.ndarray, membership: np.ndarray, rank: pl.DataFrame) -> pl.DataFrame:
    """`clusters` with each account's group given by `interim` (any numbers, -1 for none) and its `membership`,
    renumbered canonically."""
    frame = clusters.with_columns(pl.Series("cluster_id", interim, dtype=pl.Int64),
                                  pl.Series("membership", np.where(interim >= 0, membership, 0.0)))
    return renumber(frame, rank)


def _level_membership(clusters: pl.DataFrame, depth: np.ndarray, levels: int) -> np.ndarray:
    """Each account's membership at the level `depth` gives it, of `levels` (0 for none)."""
    member = np.zeros(len(depth))
    for d in range(levels):
        column = clusters["membership" if d == 0 else f"membership_{d}"].to_numpy()
        member[depth == d] = column[depth == d]
    return member


def _score_pass(
    clusters: pl.DataFrame,
    coaction: pl.DataFrame,
    features: pl.DataFrame,
    codes: pl.DataFrame,
    graph_edges: pl.DataFrame,
    store: FactStore,
    params: ScoreParams,
    *,
    coaction_window_s: int,
    strong_similarity: float,
    min_samples: int,
) -> tuple[list[dict], pl.DataFrame, _Group]:
    members = clusters.filter(pl.col("cluster_id") >= 0).join(codes, on=ACCOUNT, how="inner")
    role_schema = {ACCOUNT: pl.String, "cluster_id": pl.Int64, "role": pl.String, "flagged": pl.Boolean,
                   "membership": pl.Float64}
    if members.height == 0:
        return [], pl.DataFrame(schema=role_schema), _Group({}, pl.DataFrame(), {})
    evaluated = _evaluate_groups(store, members.select("code", "cluster_id"))
    linked = linked_members(coaction, decode(codes), clusters)
    novelty: dict[int, tuple[int, int]] = {}
    if NOVELTY_KIND in store.kinds:
        counted = reasoning_novelty(store.kinds[NOVELTY_KIND], members.select("code", "cluster_id"))
        novelty = {int(cid): (int(r), int(d)) for cid, r, d in counted.iter_rows()}
    strong = strong_links(graph_edges, clusters, codes, strong_similarity)
    feats = (
        features.join(members.select(ACCOUNT, "code", "cluster_id", "membership"), on=ACCOUNT, how="inner")
        .join(strong, on="code", how="left")
        .join(evaluated.member_templated, on="code", how="left")
        .with_columns(pl.col("strong_links").fill_null(0), pl.col("specific_row_share").fill_null(0.0),
                      pl.col("specific_reasoning_share").fill_null(0.0))
    )
    base_reasoning = float(features["reasoning_share"].drop_nulls().median() or 0.0)
    burst_us = int(params.signup_burst_h * 3600 * 1_000_000)
    out, roles = [], []
    thresholds: dict[int, float] = {}
    for (cid,), grp in feats.sort("cluster_id", ACCOUNT).group_by("cluster_id", maintain_order=True):
        cid = int(cid)
        n = grp.height
        requests = int(grp["requests"].sum())
        reasoning = float((grp["reasoning_share"].fill_null(0) * grp["requests"]).sum() / max(requests, 1))
        created = grp["created_at"].dt.epoch("us").to_list()
        has_signup = any(t is not None for t in created)
        coord_by_kind = {k: _specific_share(evaluated.kinds.get(k, {}).get(cid)) for k in COORDINATION_KINDS}
        coaction_share = linked.get((cid, "coaction"), 0) / n
        c = {
            "accounts": n,
            "coordination": max([*coord_by_kind.values(), coaction_share]),
            "templated_share": _templated_share(evaluated, cid),
            "templated_reasoning_share": _templated_reasoning_share(evaluated, cid),
            "templated_reasoning_rate": 0.0,
            "reasoning_share": reasoning,
            "base_reasoning": base_reasoning,
            "round_the_clock_share": float((grp["hour_entropy"].fill_null(0) >= ROUND_THE_CLOCK_BITS).mean()),
            "human_paced_share": float((grp["hour_entropy"].fill_null(0) < HUMAN_PACED_BITS).mean()),
            "payment_score": coord_by_kind.get("payment", 0.0),
            "signup_burst_share": _max_window_share(created, burst_us) if has_signup else 0.0,
            "fast_new_model_share": float(grp["fast_new_model_switch"].mean()),
            "country_mismatch_share": float(grp["country_mismatch_share"].fill_null(0).mean()),
        }
        c["system_prompt_top_share"] = coord_by_kind["system_prompt"]
        reasoning_requests, reasoning_prompts = novelty.get(cid, (0, 0))
        c["novelty"] = reasoning_prompts / reasoning_requests if reasoning_requests else 1.0
        c["templated_reasoning_rate"] = c["templated_reasoning_share"] * requests / max(int(grp["active_days"].sum()), 1)
        comp = _components(c)
        c["extraction"] = comp["extraction"]
        score = _score(comp)

        # Who would be named: strong members, less legitimate organisations and members not sharing the prompts.
        organisation = _org_exclusions(grp, params)
        member_min = MEMBER_SHARE_OF_GROUP * c["templated_reasoning_share"]
        thresholds[cid] = member_min
        status = []
        for r in grp.iter_rows(named=True):
            acct = r[ACCOUNT]
            if acct in organisation:
                status.append("organisation")
            elif r["membership"] < CORE_MEMBERSHIP and r["strong_links"] < min_samples:
                status.append("weak")
            elif r["specific_reasoning_share"] < member_min or r["specific_row_share"] == 0:
                status.append("not_templated")
            else:
                status.append("core")
        candidates = sum(1 for s in status if s == "core")
        benign = _group_benign(c)
        if benign is None and candidates == 0 and organisation:
            benign = next(iter(sorted(set(organisation.values()))))
        flagged = bool(
            score >= params.flag_threshold
            and comp["coordination"] >= COORDINATION_MIN
            and comp["extraction"] >= EXTRACTION_MIN
            and candidates >= params.min_flag_accounts
            and benign is None
        )
        for r, st in zip(grp.iter_rows(named=True), status):
            roles.append({ACCOUNT: r[ACCOUNT], "cluster_id": cid, "role": "flagged" if (flagged and st == "core") else st,
                          "flagged": bool(flagged and st == "core"), "membership": r["membership"]})
        reasons: dict[str, int] = {}
        for a, why in organisation.items():
            reasons[why] = reasons.get(why, 0) + 1
        nt = status.count("not_templated")
        if nt:
            reasons["own requests do not follow the group's prompt templates"] = nt
        figures = {
            "accounts": n, "flagged": candidates if flagged else 0, "weak": status.count("weak"),
            "excluded": len(organisation) + nt, "attached": 0,
        }
        evidence = [
            _evidence_item("accounts", n, figures),
            _evidence_item("members", figures["flagged"], figures),
        ]
        for kind in GROUP_KINDS:
            r = evaluated.kinds.get(kind, {}).get(cid)
            if r is None or int(r["keys"]) == 0:
                continue
            f = _kind_figures(kind, r)
            evidence.append(_evidence_item(KIND_INDICATOR[kind], round(f["specific_share"], 4), f))
        evidence.append(_evidence_item("coaction", round(coaction_share, 4), {"share": coaction_share, "window_s": coaction_window_s}))
        evidence.append(_evidence_item("reasoning", round(reasoning, 4), {"share": reasoning, "base": base_reasoning}))
        evidence.append(_evidence_item("novelty", round(c["novelty"], 4),
                                       {"requests": reasoning_requests, "prompts": reasoning_prompts}))
        evidence.append(_evidence_item("round_the_clock", round(c["round_the_clock_share"], 4), {"share": c["round_the_clock_share"]}))
        evidence.append(_evidence_item("new_model", round(c["fast_new_model_share"], 4), {"share": c["fast_new_model_share"]}))
        evidence.append(_evidence_item("country_mismatch", round(c["country_mismatch_share"], 4), {"share": c["country_mismatch_share"]}))
        first = grp["first_seen"].min()
        last = grp["last_seen"].max()
        out.append(
            {
                "cluster_id": cid,
                "accounts": n,
                "flagged_accounts": figures["flagged"],
                "candidate_accounts": candidates,
                "weakly_attached": figures["weak"],
                "left_out": dict(sorted(reasons.items())),
                "requests": requests,
                "input_tokens": int(grp["input_tokens"].fill_null(0).sum()),
                "output_tokens": int(grp["output_tokens"].fill_null(0).sum()),
                "first_seen": first.isoformat().replace("+00:00", "Z"),
                "last_seen": last.isoformat().replace("+00:00", "Z"),
                "suspicion_score": round(score, 4),
                "score_components": {k: round(v, 4) for k, v in comp.items()},
                "flagged": flagged,
                "evidence": evidence,
                "benign_explanation": benign,
                "_figures": figures,
            }
        )
    flagged_min = {c["cluster_id"]: thresholds[c["cluster_id"]] for c in out if c["flagged"]}
    joined = attach_accounts(store, evaluated, flagged_min, members.select("code"))
    if joined.height:
        named = joined.join(codes, on="code", how="inner")
        counts = dict(named.group_by("cluster_id").len().iter_rows())
        roles += [{ACCOUNT: a, "cluster_id": int(c), "role": "attached", "flagged": True, "membership": 0.0}
                  for a, c in named.select(ACCOUNT, "cluster_id").iter_rows()]
        for c in out:
            extra = int(counts.get(c["cluster_id"], 0))
            c["attached_accounts"] = extra
            c["accounts"] += extra
            c["flagged_accounts"] += extra
            figures = {**c["_figures"], "accounts": c["accounts"], "flagged": c["flagged_accounts"], "attached": extra}
            c["evidence"][0] = _evidence_item("accounts", c["accounts"], figures)
            c["evidence"][1] = _evidence_item("members", c["flagged_accounts"], figures)
    for c in out:
        c.setdefault("attached_accounts", 0)
        c.pop("_figures")
    role_frame = pl.DataFrame(roles, schema=role_schema).sort(ACCOUNT)
    _add_totals(out, role_frame, features)
    return out, role_frame, evaluated


def _iso(moment) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _add_totals(clusters: list[dict], roles: pl.DataFrame, features: pl.DataFrame) -> None:
    """Requests, tokens and first/last request per cluster, over all its accounts and over its flagged ones."""
    rows = roles.join(features.select(ACCOUNT, "requests", "input_tokens", "output_tokens", "first_seen", "last_seen"),
                      on=ACCOUNT, how="left")
    sums = [pl.col("requests").sum().cast(pl.Int64), pl.col("input_tokens").fill_null(0).sum().cast(pl.Int64),
            pl.col("output_tokens").fill_null(0).sum().cast(pl.Int64), pl.col("first_seen").min(), pl.col("last_seen").max()]
    every = {r["cluster_id"]: r for r in rows.group_by("cluster_id").agg(*sums).iter_rows(named=True)}
    flagged = {r["cluster_id"]: r for r in rows.filter(pl.col("flagged")).group_by("cluster_id").agg(*sums).iter_rows(named=True)}
    for c in clusters:
        a = every[c["cluster_id"]]
        c.update(requests=int(a["requests"]), input_tokens=int(a["input_tokens"]), output_tokens=int(a["output_tokens"]),
                 first_seen=_iso(a["first_seen"]), last_seen=_iso(a["last_seen"]))
        f = flagged.get(c["cluster_id"])
        c.update(
            flagged_requests=int(f["requests"]) if f else 0,
            flagged_input_tokens=int(f["input_tokens"]) if f else 0,
            flagged_output_tokens=int(f["output_tokens"]) if f else 0,
            flagged_first_seen=_iso(f["first_seen"]) if f else None,
            flagged_last_seen=_iso(f["last_seen"]) if f else None,
        )


def high_volume_accounts(features: pl.DataFrame, params: ScoreParams) -> list[dict]:
    """Single accounts whose volume alone merits review, largest first."""
    if features.height == 0:
        return []
    median = float(features["requests"].median() or 0)
    floor = max(params.high_volume_min_requests, params.high_volume_factor * median)
    hv = features.filter(pl.col("requests") >= floor).sort(["requests", ACCOUNT], descending=[True, False])
    return [
        {"account_pseudonym": a, "requests": int(r)}
        for a, r in hv.select(ACCOUNT, "requests").head(params.high_volume_max_listed).iter_rows()
    ]
