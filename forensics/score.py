"""Suspicion scores, flags and human-readable evidence per cluster.

A distillation campaign shows up as a group that (1) acts together on the same prompts, (2) extracts
(reasoning-heavy prompts), (3) runs like a machine (round the clock, heavy volume per account) and (4) shares
cheap infrastructure (signup bursts, shared payment fingerprints, proxies abroad). A cluster's score is

    score = (0.30 * coordination + 0.30 * extraction + 0.20 * automation + 0.20 * infrastructure) * size

each part in [0, 1] (see `_components`):
- coordination: the largest of the shares of members with a co-action or lockstep partner inside the cluster,
  and of requests on shared templates times the share of requests on shared exact prompts;
- extraction: the reasoning-prompt share above the median account's, full marks at +0.5;
- automation: the mean of the shares of members active around the clock (hour entropy >= 4.2 bits) and of
  members sending >= 10x the median account's requests;
- infrastructure: the largest of the signup-burst share (72 h), the share on shared payment fingerprints,
  the share switching to a newly released model within 48 h, and the share of requests from outside the
  billing country;
- size ramps from 0 to 1 at 10 accounts.

The evidence also lists, unscored, the share of requests sent from a /24 network that another member used in
the same clock slot (the sync bucket). Unlike the `sync` edges it counts slots of any number of accounts, so it
shows simultaneous use of shared infrastructure in groups too large for pairwise lockstep links.

Default flag: score >= 0.5 (`ScoreParams.flag_threshold`), at least 5 accounts, and no benign explanation.
Benign explanations: one organisation on one payment method; registered organisations each on their own
payment method without a signup burst; and, only when the group shows no extraction or heavy volume, an
app's shared system prompt with diverse prompts, or a shared network of diverse, diurnal users. Such groups
stay in the output with their score and explanation, unflagged. A singleton is never a cluster, so never
flagged; heavy single accounts are listed separately (`high_volume_accounts`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from forensics.codes import ACCOUNT, collect_coded
from forensics.params import ScoreParams


def _pct(x: float) -> str:
    return f"{round(100 * x):d}%"


def _slot(seconds: int) -> str:
    """`600` -> `10-minute slot`, `90` -> `90-second slot`."""
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds % size == 0:
            return f"{seconds // size}-{unit} slot"
    return f"{seconds}-second slot"


def _max_window_share(times: list, window_us: int) -> float:
    """Largest share of `times` (epoch microseconds) inside any window of `window_us`."""
    ts = np.sort(np.asarray([t for t in times if t is not None], dtype=np.int64))
    if len(ts) == 0:
        return 0.0
    ends = np.searchsorted(ts, ts + window_us, side="right")
    return float((ends - np.arange(len(ts))).max() / len(ts))


_PROMPT_KEY_COLUMNS = (
    ("prompt_template_fingerprint", "template"),
    ("prompt_fingerprint", "prompt"),
    ("system_prompt_fingerprint", "system_prompt"),
    ("user_agent_fingerprint", "user_agent"),
)


def _key_passes(slot_s: int) -> list[list[tuple[str, pl.Expr]]]:
    """The keys whose sharing `cluster_key_stats` measures, each named and null where a row has none, in two
    passes over the rows: the network keys, then the prompt and client keys.

    `net_slot` is a /24 network within one clock-aligned slot of `slot_s` seconds: it counts simultaneous use of
    a network whatever the number of accounts, where the `sync` edges skip busy slots. Two passes bound the
    memory: at seed scale one pass for all seven keys was 2 s faster (of 25) but peaked 0.8 GiB higher.
    """
    net = pl.col("net_pseudonym")
    slot = pl.when(net.is_not_null()).then(pl.struct(net, pl.col("timestamp").dt.epoch("s") // slot_s))
    network = [("net", net), ("ip", pl.col("ip_pseudonym")), ("net_slot", slot)]
    return [network, [(name, pl.col(col)) for col, name in _PROMPT_KEY_COLUMNS]]


def _key_sharing(rows: pl.DataFrame, name: str) -> pl.DataFrame:
    """Per cluster, how its members share the values of one key (see `cluster_key_stats`); `rows` holds the
    members' rows as `code`, `cluster_id` and the key's hash in column `name`."""
    per_key = (
        rows.select("cluster_id", "code", pl.col(name).alias("_h"))
        .drop_nulls("_h")
        .group_by("_h", "cluster_id")
        .agg(pl.len().alias("_r"), pl.col("code").n_unique().alias("_m"))
    )
    return per_key.group_by("cluster_id").agg(
        (pl.col("_m") >= 2).sum().alias(f"{name}_shared_keys"),
        (pl.col("_m") >= 20).sum().alias(f"{name}_keys_ge20"),
        (pl.col("_r").filter(pl.col("_m") >= 2).sum() / pl.col("_r").sum()).alias(f"{name}_shared_request_share"),
        (pl.col("_r").max() / pl.col("_r").sum()).alias(f"{name}_top_request_share"),
        pl.len().cast(pl.UInt32).alias(f"{name}_distinct"),
    )


def cluster_key_stats(events: pl.LazyFrame, members: pl.DataFrame, slot_s: int) -> pl.DataFrame:
    """Row-level: per cluster and key (see `_key_passes`), how many keys its members share and what share of
    requests use them.

    Each pass streams the members' rows once (other accounts drop out in the stream), each key as a 64-bit
    hash. Hash group-bys then count each (key, cluster)'s requests and accounts; integer counts and sums do not
    depend on the order rows arrive in.
    """
    by_name = members.select(ACCOUNT, "cluster_id").sort(ACCOUNT).with_row_index("code")
    totals = (
        events.join(members.lazy().select(ACCOUNT, "cluster_id"), on=ACCOUNT, how="inner")
        .group_by("cluster_id")
        .agg(
            pl.len().alias("requests"),
            pl.col("prompt_reasoning").cast(pl.Float64).mean().alias("reasoning_share"),
            pl.col("timestamp").min().alias("first_seen"),
            pl.col("timestamp").max().alias("last_seen"),
            pl.col("input_tokens").sum().alias("input_tokens"),
            pl.col("output_tokens").sum().alias("output_tokens"),
        )
        .collect(engine="streaming")
    )
    out = totals
    for keys in _key_passes(slot_s):
        hashes = [pl.when(key.is_not_null()).then(key.hash(seed=0)).alias(name) for name, key in keys]
        rows = collect_coded(events, by_name, *hashes)
        rows = rows.with_columns(by_name["cluster_id"].gather(rows["code"]))
        for name, _ in keys:
            out = out.join(_key_sharing(rows, name), on="cluster_id", how="left")
        del rows
    return out.sort("cluster_id")


def _components(c: dict, base_reasoning: float) -> dict[str, float]:
    """The four parts of the score, each in [0, 1], plus a size factor (1 from 10 accounts up)."""
    coordination = max(
        c["coaction_member_share"],
        c["template_shared_request_share"] * c["prompt_overlap"],
        c["sync_member_share"],
    )
    # Reasoning prompts well above the case's own base rate; full marks at base + 0.5.
    extraction = (c["reasoning_share"] - base_reasoning) / 0.5
    automation = 0.5 * c["round_the_clock_share"] + 0.5 * c["heavy_share"]
    infrastructure = max(
        c["signup_burst_share"] if c["has_signup"] else 0.0,
        c["payment_shared_member_share"],
        c["fast_new_model_share"],
        c["country_mismatch_share"],
    )
    return {
        "coordination": float(np.clip(coordination, 0, 1)),
        "extraction": float(np.clip(extraction, 0, 1)),
        "automation": float(np.clip(automation, 0, 1)),
        "infrastructure": float(np.clip(infrastructure, 0, 1)),
        "size": float(min(1.0, c["accounts"] / 10.0)),
    }


def linked_members(edges: pl.DataFrame, names: pl.Series, clusters: pl.DataFrame) -> dict[tuple[int, str], int]:
    """Per (cluster, edge kind), the members with an edge of that kind to another member of their cluster.

    `edges` holds account codes (indices into `names`) and the kind as an Enum. Only the edges inside a cluster
    are materialised: at seed scale the full edge table has 41.6M rows, and a string kind column over all of it
    was the peak of the whole `cluster` stage.
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


def score_clusters(
    events: pl.LazyFrame,
    features: pl.DataFrame,
    clusters: pl.DataFrame,
    linked: dict[tuple[int, str], int],
    params: ScoreParams,
    *,
    coaction_window_s: int,
    sync_bucket_s: int,
    sync_max_accounts: int,
) -> list[dict]:
    """One dict per cluster (sorted by cluster_id) with score, flag, evidence and benign explanation; `linked`
    is `linked_members` of the case's edges (taken first, so that the caller can free the edges)."""
    members = clusters.filter(pl.col("cluster_id") >= 0)
    if members.height == 0:
        return []
    keys = {r["cluster_id"]: r for r in cluster_key_stats(events, members, sync_bucket_s).iter_rows(named=True)}
    feats = features.join(members.select(ACCOUNT, "cluster_id"), on=ACCOUNT, how="inner")
    # The typical account's reasoning share (median over accounts), robust to heavy campaign volume.
    base_reasoning = float(features["reasoning_share"].drop_nulls().median() or 0.0)

    heavy_floor = 10.0 * float(features["requests"].median() or 1.0)
    burst_us = int(params.signup_burst_h * 3600 * 1_000_000)
    out = []
    for cid, grp in feats.sort("cluster_id", ACCOUNT).group_by("cluster_id", maintain_order=True):
        cid = int(cid[0])
        n = grp.height
        k = keys[cid]
        created = grp["created_at"].dt.epoch("us").to_list()
        has_signup = any(t is not None for t in created)
        payments = grp["payment_pseudonym"].drop_nulls().value_counts()
        shared_payments = payments.filter(pl.col("count") >= 2)
        orgs = grp["org_pseudonym"].drop_nulls()
        top_org_share = float(orgs.value_counts()["count"].max() / n) if orgs.len() else 0.0
        c = {
            "accounts": n,
            "coaction_member_share": linked.get((cid, "coaction"), 0) / n,
            "sync_member_share": linked.get((cid, "sync"), 0) / n,
            "template_member_share": linked.get((cid, "template"), 0) / n,
            "template_shared_request_share": float(k["template_shared_request_share"] or 0.0),
            "prompt_overlap": float(k["prompt_shared_request_share"] or 0.0),
            "reasoning_share": float(k["reasoning_share"] or 0.0),
            "round_the_clock_share": float((grp["hour_entropy"].fill_null(0) >= 4.2).mean()),
            "human_paced_share": float((grp["hour_entropy"].fill_null(0) < 4.0).mean()),
            "heavy_share": float((grp["requests"] >= heavy_floor).mean()),
            "signup_burst_share": _max_window_share(created, burst_us) if has_signup else 0.0,
            "has_signup": has_signup,
            "payment_shared_member_share": float(shared_payments["count"].sum() / n) if shared_payments.height else 0.0,
            "payments_shared": shared_payments.height,
            "payments_shared_ge20": int((payments["count"] >= 20).sum()) if payments.height else 0,
            "distinct_payments": payments.height,
            "top_org_share": top_org_share,
            "org_member_share": float(orgs.len() / n),
            "distinct_orgs": int(orgs.n_unique()),
            "fast_new_model_share": float(grp["fast_new_model_switch"].mean()),
            "country_mismatch_share": float(grp["country_mismatch_share"].fill_null(0).mean()),
            "prompt_diversity_median": float(grp["prompt_diversity"].median() or 0.0),
            "system_prompt_top_share": float(k["system_prompt_top_request_share"] or 0.0),
        }
        comp = _components(c, base_reasoning)
        score = (0.30 * comp["coordination"] + 0.30 * comp["extraction"] + 0.20 * comp["automation"]
                 + 0.20 * comp["infrastructure"]) * comp["size"]
        benign = _benign_explanation(c, comp)
        flagged = bool(score >= params.flag_threshold and n >= params.min_flag_accounts and benign is None)
        evidence = _evidence(c, k, coaction_window_s, sync_bucket_s, sync_max_accounts, params)
        out.append(
            {
                "cluster_id": cid,
                "accounts": n,
                "requests": int(k["requests"]),
                "input_tokens": int(k["input_tokens"] or 0),
                "output_tokens": int(k["output_tokens"] or 0),
                "first_seen": k["first_seen"].isoformat().replace("+00:00", "Z"),
                "last_seen": k["last_seen"].isoformat().replace("+00:00", "Z"),
                "suspicion_score": round(float(score), 4),
                "score_components": {kk: round(v, 4) for kk, v in comp.items()},
                "flagged": flagged,
                "evidence": evidence,
                "benign_explanation": benign,
            }
        )
    return out


def _benign_explanation(c: dict, comp: dict) -> str | None:
    """A legitimate reason for the group's ties. Registered organisations are trusted as such; the network and
    system-prompt explanations are offered only when the group shows no sign of extraction."""
    if c["top_org_share"] >= 0.9 and c["distinct_payments"] <= 1:
        return f"{_pct(c['top_org_share'])} of accounts belong to one organisation on one payment method"
    if (
        c["org_member_share"] >= 0.9
        and c["payment_shared_member_share"] == 0.0
        and (not c["has_signup"] or c["signup_burst_share"] <= 0.5)
    ):
        return (
            f"{_pct(c['org_member_share'])} of accounts belong to registered organisations ({c['distinct_orgs']:,}), "
            "each on its own payment method, with no signup burst (e.g. evaluation harnesses on public benchmarks)"
        )
    if comp["extraction"] >= 0.3 or c["heavy_share"] >= 0.3:
        return None
    if c["system_prompt_top_share"] >= 0.8 and c["prompt_overlap"] < 0.2 and c["coaction_member_share"] < 0.2:
        return "one app's shared system prompt, with diverse prompts and no co-action"
    if c["coaction_member_share"] < 0.2 and c["human_paced_share"] >= 0.6 and c["prompt_overlap"] < 0.2:
        return "shared network of diverse, human-paced users (no shared prompts, diurnal activity)"
    return None


def _evidence(c: dict, k: dict, window_s: int, slot_s: int, sync_max_accounts: int, params: ScoreParams) -> list[dict]:
    ev = [{"signal": "accounts", "text": f"{c['accounts']:,} accounts", "value": c["accounts"]}]

    def add(signal: str, text: str, value) -> None:
        ev.append({"signal": signal, "text": text, "value": value})

    add("coaction", f"{_pct(c['coaction_member_share'])} of accounts sent the same prompt as another member within {window_s} s",
        round(c["coaction_member_share"], 4))
    add("shared_templates", f"{_pct(c['template_shared_request_share'])} of requests use a prompt template shared with another member",
        round(c["template_shared_request_share"], 4))
    busy = f"slots used by more than {sync_max_accounts:,} accounts not compared" if sync_max_accounts else "every slot compared"
    add("sync", f"{_pct(c['sync_member_share'])} of accounts active in lockstep with another member ({busy})",
        round(c["sync_member_share"], 4))
    slot_share = float(k["net_slot_shared_request_share"] or 0.0)
    add("shared_net_slots",
        f"{_pct(slot_share)} of requests were sent from a /24 network that another member used in the same {_slot(slot_s)}",
        round(slot_share, 4))
    add("reasoning", f"{_pct(c['reasoning_share'])} of prompts ask for step-by-step reasoning", round(c["reasoning_share"], 4))
    add("shared_nets", f"{int(k['net_shared_keys'] or 0):,} shared /24 prefixes", int(k["net_shared_keys"] or 0))
    add("shared_ips", f"{int(k['ip_shared_keys'] or 0):,} shared IP addresses", int(k["ip_shared_keys"] or 0))
    if c["has_signup"]:
        add("signup_burst", f"{_pct(c['signup_burst_share'])} created within {params.signup_burst_h:g} h",
            round(c["signup_burst_share"], 4))
    add("shared_payment",
        f"{c['payments_shared']:,} payment fingerprints shared by >= 2 accounts ({c['payments_shared_ge20']:,} by >= 20 accounts each)",
        c["payments_shared"])
    add("round_the_clock", f"{_pct(c['round_the_clock_share'])} of accounts active around the clock (hour entropy >= 4.2 bits)",
        round(c["round_the_clock_share"], 4))
    add("heavy_volume", f"{_pct(c['heavy_share'])} of accounts sent >= 10x the median account's requests",
        round(c["heavy_share"], 4))
    add("new_model", f"{_pct(c['fast_new_model_share'])} started using a newly released model within 48 h",
        round(c["fast_new_model_share"], 4))
    add("country_mismatch", f"{_pct(c['country_mismatch_share'])} of requests come from outside the billing country",
        round(c["country_mismatch_share"], 4))
    return ev


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
