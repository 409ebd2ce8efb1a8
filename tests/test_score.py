"""Scoring: helper rules on small inputs, and on a real synth incident rich in hard negatives."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from forensics import jsonio
from forensics.cluster import ClusterParams, run_cluster
from forensics.ingest import IngestOptions, run_ingest
from forensics.keys import CaseKey
from forensics.score import (
    ScoreParams, _benign_explanation, _max_window_share, _slot, cluster_key_stats, high_volume_accounts,
)
from forensics.synth import generate

from conftest import TEST_KEY_HEX, write_key

HOUR_US = 3_600_000_000
KEY_COLUMNS = {
    "net": "net_pseudonym", "ip": "ip_pseudonym", "template": "prompt_template_fingerprint", "prompt": "prompt_fingerprint",
    "system_prompt": "system_prompt_fingerprint", "user_agent": "user_agent_fingerprint",
}


def test_cluster_key_stats_match_a_direct_count() -> None:
    rng = random.Random(3)
    t0 = datetime(2026, 4, 22, tzinfo=timezone.utc)
    accounts = [f"acct{i:02d}" for i in range(30)]
    rows = []
    for i in range(2_000):
        row = {"account_pseudonym": rng.choice(accounts), "timestamp": t0 + timedelta(seconds=i), "prompt_reasoning": rng.random() < 0.3,
               "input_tokens": rng.randint(1, 50), "output_tokens": rng.randint(1, 50)}
        for col in KEY_COLUMNS.values():
            draw = rng.random()  # missing, private to the account, or shared
            row[col] = None if draw < 0.1 else f"{row['account_pseudonym']}-{rng.randint(0, 9)}" if draw < 0.5 else f"k{rng.randint(0, 60)}"
        rows.append(row)
    events = pl.DataFrame(rows)
    cluster_of = {a: i % 3 for i, a in enumerate(accounts) if i % 5}  # every fifth account in no cluster
    members = pl.DataFrame({"account_pseudonym": list(cluster_of), "cluster_id": list(cluster_of.values())})
    # A key column with no values at all (a signal the logs lack) gives no statistics, not an error.
    blank = cluster_key_stats(events.with_columns(pl.lit(None, dtype=pl.String).alias("user_agent_fingerprint")).lazy(), members, 600)
    assert blank["user_agent_distinct"].null_count() == 3 and blank["requests"].sum() == events.height - sum(
        1 for r in rows if r["account_pseudonym"] not in cluster_of)
    got = {r["cluster_id"]: r for r in cluster_key_stats(events.lazy(), members, 600).iter_rows(named=True)}
    assert sorted(got) == [0, 1, 2]
    # net_slot: the /24 network within a clock-aligned 600 s slot (the rows span 2,000 s, so four slots).
    key_of = {name: (lambda r, col=col: r[col]) for name, col in KEY_COLUMNS.items()}
    key_of["net_slot"] = lambda r: None if r["net_pseudonym"] is None else (r["net_pseudonym"], int(r["timestamp"].timestamp()) // 600)
    for cid in got:
        mine = [r for r in rows if cluster_of.get(r["account_pseudonym"]) == cid]
        assert got[cid]["requests"] == len(mine)
        for name, key in key_of.items():
            holders, requests = defaultdict(set), defaultdict(int)
            for r in mine:
                if key(r) is not None:
                    holders[key(r)].add(r["account_pseudonym"])
                    requests[key(r)] += 1
            total = sum(requests.values())
            shared = [k for k in holders if len(holders[k]) >= 2]
            assert got[cid][f"{name}_distinct"] == len(holders)
            assert got[cid][f"{name}_shared_keys"] == len(shared)
            assert got[cid][f"{name}_keys_ge20"] == sum(len(h) >= 20 for h in holders.values())
            assert got[cid][f"{name}_shared_request_share"] == pytest.approx(sum(requests[k] for k in shared) / total)
            assert got[cid][f"{name}_top_request_share"] == pytest.approx(max(requests.values()) / total)


def test_max_window_share_counts_the_densest_window() -> None:
    times = [0, 1 * HOUR_US, 2 * HOUR_US, 100 * HOUR_US]
    assert _max_window_share(times, 72 * HOUR_US) == pytest.approx(0.75)
    assert _max_window_share(times, 1 * HOUR_US) == pytest.approx(0.5)  # inclusive end
    assert _max_window_share([None, 5], HOUR_US) == pytest.approx(1.0)
    assert _max_window_share([], HOUR_US) == 0.0


def _cluster_facts(**overrides) -> tuple[dict, dict]:
    c = {
        "top_org_share": 0.0, "distinct_payments": 10, "org_member_share": 0.0, "distinct_orgs": 0,
        "payment_shared_member_share": 0.0, "has_signup": True, "signup_burst_share": 0.1, "heavy_share": 0.0,
        "system_prompt_top_share": 0.0, "prompt_overlap": 0.0, "coaction_member_share": 0.0, "human_paced_share": 0.9,
    }
    comp = {"extraction": 0.0}
    for k, v in overrides.items():
        (comp if k in comp else c)[k] = v
    return c, comp


def test_one_organisation_on_one_payment_method_is_explained_even_when_extracting() -> None:
    c, comp = _cluster_facts(top_org_share=1.0, distinct_payments=1, org_member_share=1.0, distinct_orgs=1, extraction=1.0)
    assert "one organisation on one payment method" in _benign_explanation(c, comp)


def test_network_explanation_withheld_when_the_group_extracts() -> None:
    c, comp = _cluster_facts()
    assert "human-paced" in _benign_explanation(c, comp)
    c, comp = _cluster_facts(extraction=0.8)
    assert _benign_explanation(c, comp) is None
    c, comp = _cluster_facts(heavy_share=0.5)
    assert _benign_explanation(c, comp) is None


def test_shared_system_prompt_explanation() -> None:
    c, comp = _cluster_facts(system_prompt_top_share=0.95, human_paced_share=0.0)
    assert "system prompt" in _benign_explanation(c, comp)
    c, comp = _cluster_facts(system_prompt_top_share=0.95, human_paced_share=0.0, coaction_member_share=0.9)
    assert _benign_explanation(c, comp) is None


def test_high_volume_accounts_floor_and_order() -> None:
    features = pl.DataFrame({"account_pseudonym": [f"{i:032x}" for i in range(8)], "requests": [10] * 5 + [300, 9000, 9000]})
    hv = high_volume_accounts(features, ScoreParams(high_volume_min_requests=200, high_volume_factor=20.0))
    # floor = max(200, 20 x median 10) = 200; ties broken by pseudonym.
    assert hv == [
        {"account_pseudonym": f"{6:032x}", "requests": 9000},
        {"account_pseudonym": f"{7:032x}", "requests": 9000},
        {"account_pseudonym": f"{5:032x}", "requests": 300},
    ]
    assert high_volume_accounts(features.head(0), ScoreParams()) == []


@pytest.fixture(scope="module")
def hard_case(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("score")
    key = write_key(root / "case.key")
    incident = root / "incident"
    generate(incident, scale="sample", seed=4, stealth=0.9, scenario="many-hard-negatives")
    case = root / "case"
    run_ingest([str(incident / "logs")], case, IngestOptions(accounts=incident / "accounts.parquet", key_file=key))
    run_cluster(case, ClusterParams())
    labels = pl.read_parquet(incident / "labels.parquet")
    ck = CaseKey(bytes.fromhex(TEST_KEY_HEX))
    labels = labels.with_columns(pl.Series("account_pseudonym", ck.pseudonyms("account", labels["account_id"].to_list())))
    clusters = pl.read_parquet(case / "clusters.parquet").join(labels, on="account_pseudonym", how="left")
    return {"case": case, "labels": labels, "clusters": clusters, "doc": jsonio.read(case / "clusters.json")}


def test_hard_negatives_visible_but_never_flagged(hard_case) -> None:
    doc, clusters = hard_case["doc"], hard_case["clusters"]
    flagged = {c["cluster_id"] for c in doc["clusters"] if c["flagged"]}
    assert flagged, "the incident has campaigns"
    members = clusters.filter(pl.col("cluster_id").is_in(list(flagged)))
    assert members.filter(pl.col("label") != "attack").height == 0
    # Hard negatives do form clusters in this incident; they stay in the output, unflagged.
    hard_clusters = clusters.filter((pl.col("label") == "hard_negative") & (pl.col("cluster_id") >= 0))
    assert hard_clusters.height > 0
    for c in doc["clusters"]:
        mix = clusters.filter(pl.col("cluster_id") == c["cluster_id"])
        if (mix["label"] == "attack").mean() < 0.5:
            assert not c["flagged"]
            assert c["suspicion_score"] < ClusterParams().flag_threshold or c["benign_explanation"] is not None


def test_flagged_evidence_is_readable_with_counts(hard_case) -> None:
    for c in hard_case["doc"]["clusters"]:
        if not c["flagged"]:
            continue
        texts = {e["signal"]: e["text"] for e in c["evidence"]}
        assert re.fullmatch(r"[\d,]+ accounts", texts["accounts"])
        assert texts["accounts"] == f"{c['accounts']:,} accounts"
        assert re.fullmatch(r"\d+% of prompts ask for step-by-step reasoning", texts["reasoning"])
        assert re.fullmatch(r"[\d,]+ shared /24 prefixes", texts["shared_nets"])
        assert re.fullmatch(r"\d+% created within 72 h", texts["signup_burst"])
        assert re.fullmatch(r"\d+% of accounts active in lockstep with another member \(slots used by more than 50 "
                            r"accounts not compared\)", texts["sync"])
        assert re.fullmatch(r"\d+% of requests were sent from a /24 network that another member used in the same "
                            r"10-minute slot", texts["shared_net_slots"])


@pytest.mark.parametrize("seconds, text", [(600, "10-minute slot"), (3_600, "1-hour slot"), (86_400, "1-day slot"),
                                           (90, "90-second slot"), (7_200, "2-hour slot")])
def test_slot_in_words(seconds: int, text: str) -> None:
    assert _slot(seconds) == text


def test_evaluation_harnesses_listed_as_high_volume_not_flagged(hard_case) -> None:
    doc, labels, clusters = hard_case["doc"], hard_case["labels"], hard_case["clusters"]
    harness = set(labels.filter(pl.col("group") == "eval-harness")["account_pseudonym"].to_list())
    listed = {a["account_pseudonym"] for a in doc["high_volume_accounts"]}
    assert harness and harness <= listed
    flagged = {c["cluster_id"] for c in doc["clusters"] if c["flagged"]}
    assert clusters.filter(pl.col("account_pseudonym").is_in(list(harness)) & pl.col("cluster_id").is_in(list(flagged))).height == 0
    requests = [a["requests"] for a in doc["high_volume_accounts"]]
    assert requests == sorted(requests, reverse=True)
