"""Detection end to end: the findings are a property of the logs, not of the key; real benign logs stay unflagged."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from forensics import jsonio
from forensics.detect.run import ClusterParams, run_cluster
from forensics.ingest import IngestOptions, run_ingest
from forensics.keys import CaseKey
from forensics.synth import generate

from conftest import write_key

PEER_DATA = Path(__file__).resolve().parents[2] / "shared" / "peer-data"
TENSOR_TRUST = PEER_DATA / "tensor_trust_defenses.parquet"
# Five unrelated keys: nothing that shapes the groups may depend on which one pseudonymises the logs.
KEYS = (
    "00112233445566778899aabbccddeeff" * 2,
    "f0e1d2c3b4a5968778695a4b3c2d1e0f" * 2,
    "5eed" * 16,
    "0123456789abcdef" * 4,
    "deadbeefcafef00d" * 4,
)


def _findings(root: Path, incident: Path, key_hex: str) -> tuple[frozenset, frozenset]:
    """(flagged groups, all groups) of one run, each group a frozenset of raw account IDs."""
    case = root / f"case-{key_hex[:8]}"
    key = write_key(root / f"{key_hex[:8]}.key", key_hex)
    run_ingest([str(incident / "logs")], case, IngestOptions(accounts=incident / "accounts.parquet", key_file=key))
    run_cluster(case, ClusterParams())
    raw = pl.read_parquet(incident / "accounts.parquet")["account_id"].to_list()
    by_pseudonym = dict(zip(CaseKey(bytes.fromhex(key_hex)).pseudonyms("account", raw), raw))
    clusters = pl.read_parquet(case / "clusters.parquet").filter(pl.col("cluster_id") >= 0)
    groups, flagged = [], []
    for (cid,), members in clusters.group_by("cluster_id"):
        groups.append(frozenset(by_pseudonym[a] for a in members["account_pseudonym"]))
        named = members.filter(pl.col("flagged"))["account_pseudonym"]
        if named.len():
            flagged.append(frozenset(by_pseudonym[a] for a in named))
    return frozenset(flagged), frozenset(groups)


@pytest.mark.parametrize("seed, family", [(5, "all"), (8, "all"), (3, "hydra-residential"), (4, "lowslow-sticky")])
def test_the_same_logs_flag_the_same_accounts_in_the_same_groups_under_five_keys(tmp_path: Path, seed: int, family: str) -> None:
    from forensics.synth import HARD_NEGATIVE_FAMILIES

    incident = tmp_path / "incident"
    families = ("all",) if family == "all" else (family, *HARD_NEGATIVE_FAMILIES)
    generate(incident, scale="tiny", seed=seed, stealth=0.5, families=families)
    first_flagged, first_groups = _findings(tmp_path, incident, KEYS[0])
    assert first_flagged, "the incident's campaigns are found"
    for key_hex in KEYS[1:]:
        flagged, groups = _findings(tmp_path, incident, key_hex)
        assert flagged == first_flagged
        assert groups == first_groups


def _run_peer(root: Path, logs: Path, column_map: dict[str, str]) -> dict:
    key = write_key(root / "case.key")
    case = root / "case"
    run_ingest([str(logs)], case, IngestOptions(key_file=key, column_map=column_map))
    run_cluster(case, ClusterParams())
    return jsonio.read(case / "clusters.json")


@pytest.mark.skipif(not TENSOR_TRUST.is_file(), reason=f"peer data {TENSOR_TRUST} is absent (it sits beside the repository)")
def test_tensor_trust_players_sharing_stock_prompts_are_never_flagged(tmp_path: Path) -> None:
    """Real LLM calls by benign game players who copy stock defences and access codes: groups form, none is flagged."""
    doc = _run_peer(tmp_path, TENSOR_TRUST, {})
    assert doc["accounts_total"] == 1_284
    assert doc["clusters"], "players who copy each other's defences do form groups"
    assert not any(c["flagged"] for c in doc["clusters"])
    for c in doc["clusters"]:
        assert c["score_components"]["extraction"] < 0.3, c["cluster_id"]


@pytest.mark.parametrize("name, column_map", [
    ("cortweet_russian_coord_tweets.parquet", {"request_id": "content_id", "timestamp": "timestamp_share", "prompt": "object_id"}),
    # Posts, many without a URL: accounts with no prompt text at all must not break the scorer.
    ("cortweet_german_elections.parquet", {"request_id": "post_id", "prompt": "url_id"}),
])
def test_coordinated_posting_is_not_flagged_as_distillation(tmp_path: Path, name: str, column_map: dict[str, str]) -> None:
    """Real coordinated posting (CooRTweet): coordination, but no requests for reasoning, so no flag."""
    logs = PEER_DATA / name
    if not logs.is_file():
        pytest.skip(f"peer data {logs} is absent (it sits beside the repository)")
    doc = _run_peer(tmp_path, logs, column_map)
    assert any(c["score_components"]["coordination"] >= 0.5 for c in doc["clusters"]), "the coordinated groups are found"
    assert not any(c["flagged"] for c in doc["clusters"])
