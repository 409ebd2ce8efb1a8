"""`forensics cluster --engine spark` writes the same case files as the local engine, byte for byte: features,
edges, clusters, timelines, graph and clusters.json, on the sample incident and on generated incidents (accounts
drawing on small pools of addresses, prompts, models and clock times, so that co-action, shared keys, behaviour
links and groups form; nulls where the logs allow them), with the rows in one group and in three. The bundle
made from either case is the same too."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics import cli
from forensics.detect.run import run_cluster
from forensics.engine.spark import SparkTarget, spark_session
from forensics.errors import CaseError
from forensics.ingest import IngestOptions, run_ingest
from forensics.params import ClusterParams

from conftest import REPO, tree_bytes, write_key
from spark_support import EXTRA_ROW, SINCE, assert_same_cluster_outputs, session_conf, write_crew_logs

pytestmark = pytest.mark.spark

SAMPLE = REPO / "sample_logs"


def _engines(custody: Path) -> list[str]:
    return [json.loads(line)["parameters"].get("engine") for line in custody.read_text().splitlines()
            if json.loads(line)["command"] == "cluster"]


@pytest.fixture(scope="module")
def sample_case(tmp_path_factory) -> Path:
    """The sample incident ingested (locally): the input both engines cluster."""
    root = tmp_path_factory.mktemp("spark-detect")
    case = root / "case"
    options = IngestOptions(accounts=SAMPLE / "accounts.parquet", key_file=write_key(root / "case.key"))
    run_ingest([str(SAMPLE / "logs")], case, options)
    return case


def _copy(case: Path, to: Path) -> Path:
    shutil.copytree(case, to)
    return to


def test_the_cli_runs_cluster_on_spark(sample_case, tmp_path):
    """The options as a user types them, with the session the engine builds itself (first in the module: a process
    holds one classic session at a time)."""
    local, spark = _copy(sample_case, tmp_path / "local"), _copy(sample_case, tmp_path / "spark")
    assert cli.main(["cluster", str(local), "--quiet"]) == 0
    conf = [f"--spark-conf={item}" for item in session_conf(tmp_path / "driver")]
    secret = ["--spark-conf", "spark.hadoop.fs.s3a.secret.key=not-for-the-record"]
    assert cli.main(["cluster", str(spark), "--quiet", "--engine", "spark", "--spark-master", "local[2]", *conf, *secret]) == 0
    assert_same_cluster_outputs(local, spark)
    record = json.loads((spark / "custody.jsonl").read_text().splitlines()[-1])
    assert record["parameters"]["engine"] == "spark" and record["parameters"]["spark_master"] == "local[2]"
    assert record["parameters"]["spark_submit"] is False
    assert "spark.hadoop.fs.s3a.secret.key=<redacted>" in record["argv"]
    assert "not-for-the-record" not in (spark / "custody.jsonl").read_text()
    assert _engines(local / "custody.jsonl") == ["local"]


def test_spark_options_without_the_spark_engine_are_refused(sample_case, tmp_path, capsys):
    case = _copy(sample_case, tmp_path / "case")
    assert cli.main(["cluster", str(case), "--spark-master", "local[2]"]) != 0
    assert "--spark-master applies to --engine spark only" in capsys.readouterr().err
    assert not (case / "clusters.json").exists()


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    target = SparkTarget.from_options("local[2]", None, session_conf(tmp_path_factory.getbasetemp() / "spark-driver"))
    with spark_session(target) as spark:
        yield spark


def _on_spark(session, case: Path, groups: int, params: ClusterParams = ClusterParams()) -> dict:
    """cluster on `session`, the events read as one partition (groups == 1) or at least three, every shuffle into
    `groups` partitions and the by-account and by-fingerprint passes into `groups` groups."""
    session.conf.set("spark.sql.files.minPartitionNum", str(groups))
    session.conf.set("spark.sql.files.openCostInBytes", "0")
    session.conf.set("spark.sql.files.maxPartitionBytes", str(1 << 30) if groups == 1 else str(1 << 16))
    session.conf.set("spark.sql.shuffle.partitions", str(groups))
    session.conf.set("spark.sql.adaptive.enabled", "false")  # keeps the shuffle partitions as set
    files = [p.resolve().as_uri() for p in sorted((case / "events").glob("*.parquet"))]
    read = session.read.parquet(*files).rdd.getNumPartitions()
    assert read == 1 if groups == 1 else read >= groups
    return run_cluster(case, params, session=session, groups=groups)


@pytest.mark.parametrize("groups", [1, 3])
def test_the_sample_incident_clusters_byte_identically_on_both_engines(session, sample_case, tmp_path, groups):
    local, spark = _copy(sample_case, tmp_path / "local"), _copy(sample_case, tmp_path / "spark")
    expected = run_cluster(local, ClusterParams())
    assert expected["flagged"] >= 2 and expected["edges"] > 1000  # a real incident, not an empty one
    assert _on_spark(session, spark, groups) == expected
    assert_same_cluster_outputs(local, spark)
    assert _engines(spark / "custody.jsonl") == ["spark"]
    if groups == 3:  # the bundle made from either case
        for case in (local, spark):
            assert cli.main(["report", str(case), "--out", str(case.parent / f"{case.name}-bundle"), "--quiet"]) == 0
        local_bundle, spark_bundle = (tree_bytes(tmp_path / f"{name}-bundle") for name in ("local", "spark"))
        assert len(local_bundle) > 5 and local_bundle == spark_bundle


# ---------------------------------------------------------------------------------------------- generated incidents

@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(EXTRA_ROW, min_size=0, max_size=120), groups=st.sampled_from([1, 3]),
       max_accounts=st.sampled_from([50, 3]))
def test_generated_incidents_cluster_byte_identically_on_both_engines(session, tmp_path_factory, rows, groups,
                                                                      max_accounts):
    """max_accounts=3 makes the crew's shared prompts hot (four accounts send them): Spark drops them before
    co-action's shuffle, and the graph may then be empty, which cluster must handle on both engines."""
    root = tmp_path_factory.mktemp("generated")
    write_crew_logs(root / "logs", rows)
    key = write_key(root / "case.key")
    run_ingest([str(root / "logs")], root / "local", IngestOptions(key_file=key, since=SINCE.isoformat()))
    spark = _copy(root / "local", root / "spark")
    params = ClusterParams(min_cluster_size=2, min_samples=2, min_flag_accounts=2, behaviour_min_requests=5,
                           coaction_max_accounts=max_accounts)
    expected = run_cluster(root / "local", params)
    skipped = json.loads((root / "local" / "clusters.json").read_text())["coaction_fingerprints_skipped"]
    assert expected["edges"] > 0 if max_accounts == 50 else skipped > 0
    assert _on_spark(session, spark, groups, params) == expected
    assert_same_cluster_outputs(root / "local", spark)


def test_a_case_without_events_is_refused_before_spark_starts(session, tmp_path):
    (tmp_path / "events").mkdir()
    (tmp_path / "ingest.json").write_text("{}")
    with pytest.raises(CaseError, match="holds no events"):
        run_cluster(tmp_path, ClusterParams(), session=session)


def test_a_spark_failure_is_one_named_error(session, sample_case, tmp_path):
    """What Spark or pyarrow raise while the passes run (here, an events file that is not Parquet) comes out as one
    SparkJobError with the first line of the cause, which the CLI prints on one line."""
    from forensics.engine.spark import SparkJobError

    case = _copy(sample_case, tmp_path / "case")
    next((case / "events").glob("*.parquet")).write_bytes(b"not parquet")
    with pytest.raises(SparkJobError, match="^the Spark job failed: ") as failed:
        run_cluster(case, ClusterParams(), session=session)
    assert "\n" not in str(failed.value)
    assert not (case / "clusters.json").exists()
