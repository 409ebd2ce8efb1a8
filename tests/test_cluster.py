"""`forensics cluster` on the real pipeline (synth tiny -> ingest -> cluster): contract, privacy, determinism."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import polars as pl
import pytest

from forensics import jsonio
from forensics.casefiles import CLUSTER_OUTPUTS
from forensics.detect.coaction import coaction_edges
from forensics.detect.run import ClusterParams, run_cluster
from forensics.errors import BadInputError, CaseError
from forensics.ingest import IngestOptions, run_ingest
from forensics.keys import CaseKey
from forensics.synth import generate

from conftest import REPO, TEST_KEY_HEX, write_key

SEED = 5
PSEUDONYM = re.compile(r"^[0-9a-f]{32}$")
OUTPUTS = CLUSTER_OUTPUTS
CLUSTERS_JSON_KEYS = {
    "tool_version", "key_fingerprint", "parameters", "signals_unavailable", "edge_kinds",
    "coaction_fingerprints_skipped", "accounts_total", "accounts_in_graph", "clusters", "high_volume_accounts",
}
CLUSTER_KEYS = {
    "cluster_id", "accounts", "flagged_accounts", "candidate_accounts", "weakly_attached", "left_out",
    "attached_accounts", "flagged_requests", "flagged_first_seen", "flagged_last_seen", "requests",
    "input_tokens", "output_tokens", "first_seen", "last_seen", "suspicion_score", "score_components", "flagged",
    "evidence", "benign_explanation",
}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("cluster")
    key = write_key(root / "case.key")
    incident = root / "incident"
    generate(incident, scale="tiny", seed=SEED, stealth=0.2)
    case = root / "case"
    run_ingest([str(incident / "logs")], case, IngestOptions(accounts=incident / "accounts.parquet", key_file=key))
    summary = run_cluster(case, ClusterParams())
    labels = pl.read_parquet(incident / "labels.parquet")
    ck = CaseKey(bytes.fromhex(TEST_KEY_HEX))
    labels = labels.with_columns(pl.Series("account_pseudonym", ck.pseudonyms("account", labels["account_id"].to_list())))
    return {"root": root, "key": key, "incident": incident, "case": case, "summary": summary, "labels": labels}


def test_writes_every_output_with_the_contract_columns(pipeline) -> None:
    case = pipeline["case"]
    for name in OUTPUTS:
        assert (case / name).is_file(), name
    edges = pl.read_parquet(case / "edges.parquet")
    assert edges.schema["src"] == pl.String and edges.schema["dst"] == pl.String
    assert edges.schema["kind"] == pl.String and edges.schema["count"] == pl.Int64 and edges.schema["weight"] == pl.Float64
    assert edges.schema["expected"] == pl.Float64 and edges.schema["surprise"] == pl.Float64
    assert {"coaction", "ip", "net", "payment", "template", "skeleton", "opening", "closing", "slot"} <= set(edges["kind"])
    assert edges.filter(pl.col("src") == pl.col("dst")).height == 0
    assert edges.filter(pl.col("kind") != "coaction").select((pl.col("src") < pl.col("dst")).all()).item()
    assert edges.filter(pl.col("kind") != "coaction")["weight"].min() > 0
    clusters = pl.read_parquet(case / "clusters.parquet")
    assert clusters.schema == pl.Schema(
        {"account_pseudonym": pl.String, "cluster_id": pl.Int64, "membership": pl.Float64, "outlier_score": pl.Float64,
         "role": pl.String, "flagged": pl.Boolean}
    )
    assert set(clusters["role"]) <= {"flagged", "core", "weak", "organisation", "not_templated", "unclustered", "attached"}
    assert clusters.filter(pl.col("role") == "attached").select(pl.col("flagged").all() & (pl.col("membership") == 0).all()).item()
    assert clusters.filter(pl.col("flagged")).select(pl.col("role").is_in(["flagged", "attached"]).all()).item()
    assert clusters["membership"].is_between(0, 1).all()
    assert clusters["account_pseudonym"].is_unique().all()
    features = pl.read_parquet(case / "features.parquet")
    ingest = jsonio.read(case / "ingest.json")
    assert features.height == ingest["accounts"]
    assert features["requests"].sum() == ingest["rows_accepted"]
    for col in ("active_days", "interarrival_cv", "hour_entropy", "reasoning_share", "distinct_nets", "new_model_lag_h",
                "country_mismatch_share", "account_age_at_first_request_h", "prompt_diversity", "activity_digest"):
        assert col in features.columns, col
    doc = jsonio.read(case / "clusters.json")
    assert CLUSTERS_JSON_KEYS <= set(doc)
    assert doc["parameters"]["coaction_window_s"] == 60 and doc["parameters"]["coaction_max_accounts"] == 50
    assert [c["cluster_id"] for c in doc["clusters"]] == list(range(len(doc["clusters"])))
    for c in doc["clusters"]:
        assert CLUSTER_KEYS <= set(c)
        assert 0.0 <= c["suspicion_score"] <= 1.0
        assert c["accounts"] == clusters.filter(pl.col("cluster_id") == c["cluster_id"]).height
        assert c["evidence"] and all({"indicator", "text", "value"} <= set(e) for e in c["evidence"])
        flagged_here = clusters.filter((pl.col("cluster_id") == c["cluster_id"]) & pl.col("flagged")).height
        assert flagged_here == (c["flagged_accounts"] if c["flagged"] else 0)
    in_graph = clusters.filter((pl.col("role") != "attached") | (pl.col("outlier_score") < 1.0)).height
    assert doc["accounts_in_graph"] <= clusters.height and doc["accounts_in_graph"] >= in_graph - clusters.filter(pl.col("role") == "attached").height
    assert pipeline["summary"]["clusters"] == len(doc["clusters"])
    assert pipeline["summary"]["flagged"] == sum(c["flagged"] for c in doc["clusters"])


def test_coaction_edges_are_exactly_the_coaction_step(pipeline) -> None:
    case = pipeline["case"]
    ours = pl.read_parquet(case / "edges.parquet").filter(pl.col("kind") == "coaction").select("src", "dst", "count")
    direct = coaction_edges(pl.scan_parquet(case / "events" / "*.parquet"), window_s=60, min_count=2, max_accounts=50)
    assert ours.height > 0
    assert ours.sort("src", "dst").equals(direct.edges.sort("src", "dst"))
    doc = jsonio.read(case / "clusters.json")
    assert doc["coaction_fingerprints_skipped"] == direct.fingerprints_skipped


def test_canonical_cluster_ids(pipeline) -> None:
    """Clusters are numbered by size, then by their member first in activity order (never by pseudonym)."""
    from forensics.codes import AccountOrder

    features = pl.read_parquet(pipeline["case"] / "features.parquet")
    order = AccountOrder.from_digests(features["activity_digest"].to_numpy())
    rank = features.select("account_pseudonym").with_columns(pl.Series("rank", order.rank))
    clusters = pl.read_parquet(pipeline["case"] / "clusters.parquet").filter(pl.col("cluster_id") >= 0).join(rank, on="account_pseudonym")
    order = (
        clusters.group_by("cluster_id")
        .agg(pl.len().alias("n"), pl.col("rank").min().alias("first"))
        .sort("cluster_id")
    )
    keys = [(-n, first) for n, first in zip(order["n"].to_list(), order["first"].to_list())]
    assert keys == sorted(keys)
    assert order["n"].min() >= ClusterParams().min_cluster_size


def test_campaigns_flagged_and_hard_negatives_not(pipeline) -> None:
    doc = jsonio.read(pipeline["case"] / "clusters.json")
    clusters = pl.read_parquet(pipeline["case"] / "clusters.parquet")
    joined = pipeline["labels"].join(clusters, on="account_pseudonym", how="left").with_columns(
        pl.col("flagged").fill_null(False), pl.col("cluster_id").fill_null(-1)
    )
    assert joined.filter(pl.col("flagged") & (pl.col("label") != "attack")).height == 0
    attack = joined.filter(pl.col("label") == "attack")
    assert attack["flagged"].mean() >= 0.9
    for (group,), g in attack.group_by("group"):
        dominant = g.filter(pl.col("flagged")).group_by("cluster_id").len()["len"].max() or 0
        assert dominant / g.height >= 0.8, group
    for c in doc["clusters"]:
        if c["flagged"]:
            assert c["suspicion_score"] >= ClusterParams().flag_threshold and c["benign_explanation"] is None
            assert c["score_components"]["extraction"] >= 0.3 and c["score_components"]["coordination"] >= 0.5
            assert any(e["indicator"] == "reasoning" for e in c["evidence"])


def test_graphml_has_pseudonyms_only_and_cluster_attributes(pipeline) -> None:
    g = nx.read_graphml(pipeline["case"] / "graph.graphml")
    clusters = pl.read_parquet(pipeline["case"] / "clusters.parquet")
    # Accounts that joined a flagged group after clustering may have had no strong links: then they are in no graph.
    graphed = set(clusters.filter(pl.col("role") != "attached")["account_pseudonym"].to_list())
    assert graphed <= set(g.nodes) <= set(clusters["account_pseudonym"].to_list())
    assert all(PSEUDONYM.match(n) for n in g.nodes)
    cid = dict(zip(clusters["account_pseudonym"], clusters["cluster_id"]))
    attached = set(clusters.filter(pl.col("role") == "attached")["account_pseudonym"].to_list())
    assert all(g.nodes[n]["cluster_id"] == cid[n] for n in g.nodes if n not in attached)
    assert all(0.0 < d["weight"] <= 1.0 for _, _, d in g.edges(data=True))


def test_no_raw_identifier_reaches_any_output(pipeline) -> None:
    logs = pl.read_parquet(pipeline["incident"] / "logs" / "*.parquet")
    accounts = pl.read_parquet(pipeline["incident"] / "accounts.parquet")
    raw = set(accounts["account_id"].to_list()) | set(accounts["payment_fingerprint"].drop_nulls().to_list())
    raw |= set(logs["ip"].drop_nulls().unique().head(200).to_list())
    raw |= set(accounts["email_domain"].drop_nulls().unique().to_list())
    raw |= {p for p in logs["prompt"].drop_nulls().unique().head(200).to_list() if len(p) > 12}
    case = pipeline["case"]
    texts = [(case / "clusters.json").read_text(), (case / "graph.graphml").read_text()]
    for name in ("features.parquet", "edges.parquet", "clusters.parquet"):
        df = pl.read_parquet(case / name)
        texts.append("\n".join(",".join(map(str, r)) for r in df.select(pl.col(pl.String)).iter_rows()))
    blob = "\n".join(texts)
    leaked = sorted(v for v in raw if v in blob)
    assert leaked == []


def test_deterministic_across_threads_and_hash_seeds(pipeline, tmp_path: Path) -> None:
    copy = tmp_path / "case"
    shutil.copytree(pipeline["case"], copy)
    for name in OUTPUTS:
        (copy / name).unlink()
    env = {**os.environ, "POLARS_MAX_THREADS": "1", "PYTHONHASHSEED": "12345"}
    code = "import sys; from pathlib import Path; from forensics.detect.run import *; run_cluster(Path(sys.argv[1]), ClusterParams())"
    subprocess.run([sys.executable, "-c", code, str(copy)], check=True, env=env, cwd=REPO, timeout=300)
    for name in OUTPUTS:
        assert (copy / name).read_bytes() == (pipeline["case"] / name).read_bytes(), name


def test_a_failure_in_blocking_stops_the_stage_with_its_error(pipeline, tmp_path: Path, monkeypatch) -> None:
    import forensics.detect.run as cluster_run

    copy = tmp_path / "case"
    shutil.copytree(pipeline["case"], copy)
    real = cluster_run.key_edges

    def failing(kind, *args, **kwargs):
        if kind.name == "slot":
            raise MemoryError("blocking ran out of memory")
        return real(kind, *args, **kwargs)

    monkeypatch.setattr(cluster_run, "key_edges", failing)
    with pytest.raises(MemoryError, match="blocking ran out of memory"):
        run_cluster(copy, ClusterParams())
    assert not (copy / "clusters.json").exists()
    monkeypatch.setattr(cluster_run, "key_edges", real)
    run_cluster(copy, ClusterParams())  # the case is not left locked
    assert (copy / "clusters.json").read_bytes() == (pipeline["case"] / "clusters.json").read_bytes()


def test_coaction_cap_skips_popular_fingerprints(pipeline, tmp_path: Path) -> None:
    copy = tmp_path / "case"
    shutil.copytree(pipeline["case"], copy)
    summary = run_cluster(copy, ClusterParams(coaction_max_accounts=1))
    doc = jsonio.read(copy / "clusters.json")
    assert summary["coaction_fingerprints_skipped"] == doc["coaction_fingerprints_skipped"] > 0
    assert doc["edge_kinds"]["coaction"]["pairs"] == 0
    assert pl.read_parquet(copy / "edges.parquet").filter(pl.col("kind") == "coaction").height == 0


# A value other than the default for every parameter, each still giving a working run on the tiny case.
NON_DEFAULT = {
    "coaction_window_s": 30, "min_coaction": 1, "coaction_max_accounts": 40, "key_max_accounts": 400,
    "key_all_pairs_max": 30, "key_partners": 8, "signup_burst_s": 43_200, "sync_bucket_s": 300, "evidence_scale": 5.0,
    "coaction_evidence": 2.5, "coaction_evidence_max": 25.0, "network_evidence_max": 3.0, "time_evidence_max": 3.0,
    "behaviour_min_requests": 15, "behaviour_min_cosine": 0.92, "behaviour_evidence_max": 4.0, "min_similarity": 0.35,
    "top_k": 10, "min_cluster_size": 4, "min_samples": 2, "cluster_epsilon": 0.55, "flag_threshold": 0.45,
    "min_flag_accounts": 4,
}


def test_cli_records_every_option_and_the_report_commands_replay_it(pipeline, tmp_path: Path, capsys) -> None:
    """Each `cluster` option reaches clusters.json, and the cluster command the report prints for a re-run
    reproduces clusters.json byte for byte from those recorded values."""
    import dataclasses
    import shlex

    from forensics.bundle.render import rerun_commands
    from forensics.cli import main
    from forensics.params import CLUSTER_FLAGS

    defaults = dataclasses.asdict(ClusterParams())
    assert set(NON_DEFAULT) == set(defaults) and all(NON_DEFAULT[k] != defaults[k] for k in defaults)
    first = tmp_path / "first"
    shutil.copytree(pipeline["case"], first)
    argv = ["cluster", str(first), "--json"]
    for name, value in NON_DEFAULT.items():
        argv += [CLUSTER_FLAGS[name], str(value)]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    doc = jsonio.read(first / "clusters.json")
    assert out["clusters"] == len(doc["clusters"]) and out["flagged"] == sum(c["flagged"] for c in doc["clusters"])
    assert doc["parameters"] == NON_DEFAULT

    commands = rerun_commands({"parameters": {"cluster": doc["parameters"]}})
    line = next(c for c in commands.replace("\\\n", " ").splitlines() if c.startswith("forensics cluster "))
    second = tmp_path / "second"
    shutil.copytree(pipeline["case"], second)
    replay = [str(second) if arg == "<case>" else arg for arg in shlex.split(line)[1:]]
    assert main([*replay, "--quiet"]) == 0
    assert (second / "clusters.json").read_bytes() == (first / "clusters.json").read_bytes()


def test_refuses_a_directory_that_is_not_a_case(tmp_path: Path) -> None:
    with pytest.raises(CaseError):
        run_cluster(tmp_path, ClusterParams())


@pytest.mark.parametrize(
    "params",
    [ClusterParams(coaction_window_s=-1), ClusterParams(min_coaction=0), ClusterParams(coaction_max_accounts=-2),
     ClusterParams(key_max_accounts=-1), ClusterParams(key_all_pairs_max=1), ClusterParams(key_partners=1),
     ClusterParams(signup_burst_s=0), ClusterParams(sync_bucket_s=59), ClusterParams(evidence_scale=0.0),
     ClusterParams(behaviour_min_cosine=1.0), ClusterParams(behaviour_min_requests=1),
     ClusterParams(network_evidence_max=-1.0), ClusterParams(min_similarity=-0.1), ClusterParams(top_k=0),
     ClusterParams(min_cluster_size=1), ClusterParams(min_samples=0), ClusterParams(flag_threshold=1.5),
     ClusterParams(cluster_epsilon=1.0), ClusterParams(cluster_epsilon=-0.1), ClusterParams(min_flag_accounts=0)],
)
def test_rejects_bad_parameters(pipeline, params: ClusterParams) -> None:
    with pytest.raises(BadInputError):
        run_cluster(pipeline["case"], params)


def test_every_parameter_has_a_range_check() -> None:
    import dataclasses

    from forensics.params import _AT_LEAST, _WITHIN

    assert set(_AT_LEAST) | set(_WITHIN) == {f.name for f in dataclasses.fields(ClusterParams)}


def test_a_bad_option_is_one_line_naming_the_flag(pipeline, capsys) -> None:
    from forensics.cli import main

    assert main(["cluster", str(pipeline["case"]), "--top-k", "0"]) == BadInputError.exit_code
    err = capsys.readouterr().err
    assert err == "error: --top-k must be >= 1, got 0\n"


def test_detection_benchmark_smoke(tmp_path: Path) -> None:
    """The detection benchmark runs end to end at tiny scale, with leave-one-family-out over two families."""
    proc = subprocess.run(
        [sys.executable, "bench/detection.py", "--scale", "tiny", "--seeds", "2", "--stealth", "0.3",
         "--families", "bulk-datacenter,hydra-residential", "--work", str(tmp_path / "work"),
         "--json", str(tmp_path / "det.json")],
        capture_output=True, text=True, cwd=REPO, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| family | runs | precision |" in proc.stdout and "| held-out family |" in proc.stdout
    result = json.loads((tmp_path / "det.json").read_text())
    candidates = {(r["evidence_scale"], r["flag_threshold"]) for r in result["runs"]}
    assert len(candidates) == 9 and len(result["runs"]) == 2 * 9
    assert {r["family"] for r in result["runs"]} == {"bulk-datacenter", "hydra-residential"}
    assert set(result["held_out"]) == {"bulk-datacenter", "hydra-residential"}
    for run in result["runs"]:
        assert run["attack_accounts"] > 0 and 0.0 <= run["precision"] <= 1.0
        assert set(run["campaigns"]) == {run["family"]}


def test_detection_benchmark_rejects_unknown_families_before_running(tmp_path: Path) -> None:
    """A misspelt family fails at once with a usage error, not after minutes of earlier runs."""
    proc = subprocess.run(
        [sys.executable, "bench/detection.py", "--scale", "tiny", "--families", "bulk-datacenter,hydra",
         "--work", str(tmp_path / "work")],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert proc.returncode == 2
    assert "unknown campaign family 'hydra'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir())


def test_a_case_whose_graph_is_empty_clusters_into_nothing(tmp_path):
    """Four accounts linked only by prompts they all send, with co-action capped at three accounts a prompt:
    no edge, no account in the graph, and cluster still writes every output (it used to fail joining an
    untyped empty cluster table)."""
    from spark_support import SINCE, write_crew_logs

    write_crew_logs(tmp_path / "logs", [])
    run_ingest([str(tmp_path / "logs")], tmp_path / "case",
               IngestOptions(key_file=write_key(tmp_path / "case.key"), since=SINCE.isoformat()))
    result = run_cluster(tmp_path / "case", ClusterParams(coaction_max_accounts=3, min_cluster_size=2, min_samples=2))
    doc = json.loads((tmp_path / "case" / "clusters.json").read_text())
    assert result["edges"] == 0 and result["flagged"] == 0
    assert doc["coaction_fingerprints_skipped"] > 0 and doc["accounts_in_graph"] == 0 and doc["clusters"] == []
    assert all((tmp_path / "case" / name).is_file() for name in CLUSTER_OUTPUTS)
