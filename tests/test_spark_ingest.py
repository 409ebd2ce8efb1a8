"""`forensics ingest --engine spark` writes the same case files as the local engine, byte for byte: on the sample
incident and on generated dirty logs (nulls, blanks, duplicates within and across files, bad and out-of-window
timestamps, invalid addresses and counts, files of different column types), read as one partition and as
three or more."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics import cli
from forensics.engine.spark import SparkTarget, spark_session
from forensics.errors import BadInputError, NoInputError
from forensics.ingest import IngestOptions, run_ingest

from conftest import REPO, write_key
from spark_support import (
    DIRTY_ROW, FIXED_ROWS, SINCE, SPARK_HOME, VIEWFS_LOGS, assert_same_case, session_conf, viewfs_mount, warned,
    write_dirty_logs,
)

pytestmark = pytest.mark.spark

SAMPLE = REPO / "sample_logs"
UNTIL = SINCE + timedelta(days=2)


def _local(logs: list[str], case: Path, **options) -> tuple[dict, list[str]]:
    """The summary and the warnings of a local ingest."""
    result, told = warned(run_ingest, logs, case, IngestOptions(**options))
    return result.summary, told


def _on_spark(session, logs: list[str], case: Path, partitions: int, **options) -> tuple[dict, list[str]]:
    """The summary and the warnings of an ingest on `session`, its reads split into one partition or into at least
    `partitions` (Spark packs file splits by size, so a count above one is a lower bound), and its shuffles into
    exactly `partitions`."""
    session.conf.set("spark.sql.files.minPartitionNum", str(partitions))
    session.conf.set("spark.sql.files.openCostInBytes", "0")
    session.conf.set("spark.sql.shuffle.partitions", str(partitions))
    paths = [p.resolve().as_uri() for p in sorted(Path(logs[0]).rglob("*.parquet"))]
    read = session.read.parquet(*paths).rdd.getNumPartitions()
    assert read == 1 if partitions == 1 else read >= partitions
    result, told = warned(run_ingest, logs, case, IngestOptions(engine="spark", **options), session=session)
    return result.summary, told


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> Path:
    """A key file of mode 0600 (a clean clone's sample_logs/sample.key is 0644, and ingest would warn about it)."""
    return write_key(tmp_path_factory.mktemp("spark-ingest-key") / "case.key")


def test_the_cli_runs_ingest_on_spark(tmp_path, capsys, key):
    """The options as a user types them, with the session the engine builds itself (this test runs first in the
    module: a process holds one classic session at a time, and the module's shared one does not exist yet)."""
    logs = tmp_path / "logs"
    write_dirty_logs(logs, [FIXED_ROWS, FIXED_ROWS[:5]], ["string", "timestamp"])
    local, spark = tmp_path / "local", tmp_path / "spark"
    common = ["ingest", str(logs), "--key-file", str(key), "--since", SINCE.isoformat(), "--until", UNTIL.isoformat(), "--quiet"]
    assert cli.main([*common, "--case", str(local)]) == 0
    conf = [f"--spark-conf={item}" for item in session_conf(tmp_path / "driver")]
    secret = ["--spark-conf", "spark.hadoop.fs.s3a.secret.key=not-for-the-record"]
    assert cli.main([*common, "--case", str(spark), "--engine", "spark", "--spark-master", "local[2]", *conf, *secret]) == 0
    assert_same_case(local, spark)
    record = json.loads((spark / "custody.jsonl").read_text().splitlines()[-1])
    assert "spark.hadoop.fs.s3a.secret.key=<redacted>" in record["argv"]
    assert "not-for-the-record" not in (spark / "custody.jsonl").read_text()
    assert record["parameters"]["spark_master"] == "local[2]"
    assert record["parameters"]["spark_submit"] is False


def test_spark_submit_runs_the_cli_in_client_mode(tmp_path, key):
    """The README's spark-submit command: the CLI module as the application, no --spark-master, the master and
    settings spark-submit was given. The case is the local engine's, and its custody record names the master
    spark-submit chose, which the CLI's own command line does not hold."""
    logs = tmp_path / "logs"
    write_dirty_logs(logs, [FIXED_ROWS, FIXED_ROWS[:5]], ["string", "timestamp"])
    local, spark = tmp_path / "local", tmp_path / "spark"
    common = [str(logs), "--key-file", str(key), "--since", SINCE.isoformat(), "--until", UNTIL.isoformat(), "--quiet"]
    assert cli.main(["ingest", *common, "--case", str(local)]) == 0
    conf = [arg for item in session_conf(tmp_path / "driver") for arg in ("--conf", item)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_"))}
    env |= {"SPARK_HOME": str(SPARK_HOME), "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    submitted = subprocess.run(
        [str(SPARK_HOME / "bin" / "spark-submit"), "--master", "local[2]", "--deploy-mode", "client", *conf,
         cli.__file__, "ingest", *common, "--case", str(spark), "--engine", "spark"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert submitted.returncode == 0, submitted.stderr[-2000:]
    assert_same_case(local, spark)
    record = json.loads((spark / "custody.jsonl").read_text().splitlines()[-1])
    assert record["argv"][-2:] == ["--engine", "spark"] and "--spark-master" not in record["argv"]
    assert record["parameters"]["spark_master"] == "local[2]"
    assert record["parameters"]["spark_submit"] is True


@pytest.fixture(scope="module")
def cluster_fs(tmp_path_factory) -> Path:
    """The directory the module's session sees as VIEWFS_LOGS."""
    return tmp_path_factory.mktemp("cluster-fs")


@pytest.fixture(scope="module")
def session(tmp_path_factory, cluster_fs):
    conf = session_conf(tmp_path_factory.getbasetemp() / "spark-driver", *viewfs_mount(cluster_fs))
    target = SparkTarget.from_options("local[2]", None, conf)
    with spark_session(target) as spark:
        yield spark


@pytest.mark.parametrize("partitions", [1, 3])
def test_the_sample_incident_is_byte_identical_on_both_engines(session, tmp_path, partitions, key):
    options = {"accounts": SAMPLE / "accounts.parquet", "key_file": key}
    (local, told), (spark, told_spark) = (
        _local([str(SAMPLE / "logs")], tmp_path / "local", **options),
        _on_spark(session, [str(SAMPLE / "logs")], tmp_path / "spark", partitions, **options),
    )
    assert told_spark == told
    assert spark["rows_read"] == local["rows_read"] > 100_000
    assert_same_case(tmp_path / "local", tmp_path / "spark")


# ---------------------------------------------------------------------------------------------- dirty logs

@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    files=st.lists(st.lists(DIRTY_ROW, min_size=1, max_size=30), min_size=1, max_size=3),
    timestamp_types=st.lists(st.sampled_from(["string", "timestamp", "int"]), min_size=3, max_size=3),
    partitions=st.sampled_from([1, 3]),
)
def test_dirty_logs_are_byte_identical_on_both_engines(session, key, tmp_path_factory, files, timestamp_types, partitions):
    root = tmp_path_factory.mktemp("dirty")
    write_dirty_logs(root / "logs", files, timestamp_types)
    window = {"since": SINCE.isoformat(), "until": UNTIL.isoformat(), "key_file": key}
    local, told = _local([str(root / "logs")], root / "local", **window)
    spark, told_spark = _on_spark(session, [str(root / "logs")], root / "spark", partitions, **window)
    assert told_spark == told
    assert spark["rows_read"] == sum(len(rows) for rows in files)
    assert spark["quarantine_reasons"] == local["quarantine_reasons"]
    assert_same_case(root / "local", root / "spark")


def test_the_fixed_dirty_logs_quarantine_each_reason(session, tmp_path, key):
    """The generated cases above can miss a reason; this one has each, so the comparison covers every path."""
    write_dirty_logs(tmp_path / "logs", [FIXED_ROWS, FIXED_ROWS[:4]], ["string", "int"])
    window = {"since": SINCE.isoformat(), "until": (SINCE + timedelta(hours=40)).isoformat(), "key_file": key}
    local, told = _local([str(tmp_path / "logs")], tmp_path / "local", **window)
    spark, told_spark = _on_spark(session, [str(tmp_path / "logs")], tmp_path / "spark", 3, **window)
    assert told_spark == told and len(told) == 1 and told[0].startswith("1 groups of account IDs differ")
    assert set(local["quarantine_reasons"]) >= {
        "duplicate_request_id", "missing_request_id", "missing_account_id", "missing_timestamp", "unparseable_timestamp",
        "outside_window", "invalid_ip",
        "invalid_asn", "invalid_token_count",
    }
    assert local["account_id_lookalikes"]["groups"] == 1
    assert spark["quarantine_reasons"] == local["quarantine_reasons"]
    assert_same_case(tmp_path / "local", tmp_path / "spark")


def test_a_file_in_another_epoch_unit_is_refused_on_spark_as_locally(session, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    seconds = [int((SINCE + timedelta(minutes=i)).timestamp()) for i in range(20)]
    pq.write_table(pa.table({"request_id": [f"r{i}" for i in range(20)], "account_id": ["a"] * 20,
                             "timestamp": pa.array([s * 1000 for s in seconds], pa.int64())}), logs / "ms.parquet")
    from forensics.errors import ImplausibleTimestampError

    with pytest.raises(ImplausibleTimestampError, match="pass --epoch-unit ms") as local:
        _local([str(logs)], tmp_path / "local")
    with pytest.raises(ImplausibleTimestampError) as spark:
        _on_spark(session, [str(logs)], tmp_path / "spark", 1)
    assert str(spark.value) == str(local.value)
    assert not (tmp_path / "spark").exists()


# ---------------------------------------------------------------------------------------------- remote inputs

def _remote_logs(root: Path) -> None:
    """Logs as a cluster holds them: the fixed dirty rows (every quarantine reason and duplicates across
    files), a Hive-style partition directory, names that are not plain, a file that is not Parquet, and a file
    Hadoop's listing hides."""
    write_dirty_logs(root, [FIXED_ROWS, FIXED_ROWS[:4]], ["string", "int"])
    write_dirty_logs(root / "region=eu", [FIXED_ROWS[4:]], ["timestamp"])
    (root / "part-0.parquet").rename(root / "part 0 [a]%41.parquet")
    (root / "notes.txt").write_text("not a log")
    (root / "_SUCCESS").write_text("")


def _custody_inputs(case: Path) -> list[dict]:
    return json.loads((case / "custody.jsonl").read_text().splitlines()[-1])["inputs"]


def test_logs_on_a_cluster_file_system_are_listed_hashed_and_read_by_spark(session, cluster_fs, tmp_path, key):
    """A remote directory gives the case files a local run of the same files gives, byte for byte; the
    custody log names each input by its URI with the SHA-256 of its bytes."""
    name = tmp_path.name
    _remote_logs(cluster_fs / name)
    (cluster_fs / name / "_SUCCESS").unlink()  # a local run lists it as skipped; Hadoop's listing hides it
    window = {"since": SINCE.isoformat(), "until": (SINCE + timedelta(hours=40)).isoformat(), "key_file": key}
    local, told = _local([str(cluster_fs / name)], tmp_path / "local", **window)
    uri = f"{VIEWFS_LOGS}/{name}"
    spark, told_spark = warned(run_ingest, [uri], tmp_path / "spark", IngestOptions(engine="spark", **window),
                               session=session)
    assert told_spark == told
    assert spark.summary["skipped_files"] == ["notes.txt"]
    assert spark.summary["quarantine_reasons"]["duplicate_request_id"] >= 1
    assert {r["path"] for r in spark.summary["inputs"]} == {"part 0 [a]%41.parquet", "part-1.parquet",
                                                            "region=eu/part-0.parquet"}
    assert_same_case(tmp_path / "local", tmp_path / "spark")
    expected = {
        f"{uri}/{p.relative_to(cluster_fs / name).as_posix()}": (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in (cluster_fs / name).rglob("*.parquet")
    }
    assert {e["path"]: (e["bytes"], e["sha256"]) for e in _custody_inputs(tmp_path / "spark")} == expected


def test_remote_globs_files_and_local_paths_mix_as_locally(session, cluster_fs, tmp_path, key):
    name = tmp_path.name
    _remote_logs(cluster_fs / name)
    here, there = cluster_fs / name, f"{VIEWFS_LOGS}/{name}"
    window = {"since": SINCE.isoformat(), "until": (SINCE + timedelta(hours=40)).isoformat(), "key_file": key}
    _local([f"{here}/part*.parquet", str(here / "region=eu" / "part-0.parquet")], tmp_path / "local", **window)
    warned(run_ingest, [f"{there}/part*.parquet", str(here / "region=eu" / "part-0.parquet")], tmp_path / "spark",
           IngestOptions(engine="spark", **window), session=session)
    assert_same_case(tmp_path / "local", tmp_path / "spark")
    _local([str(here / "part-1.parquet")], tmp_path / "local-one", **window)
    warned(run_ingest, [f"{there}/part-1.parquet"], tmp_path / "spark-one", IngestOptions(engine="spark", **window),
           session=session)
    assert_same_case(tmp_path / "local-one", tmp_path / "spark-one")


@pytest.mark.parametrize("damage", ["missing", "no-match", "not-parquet", "truncated", "empty", "bad-footer", "long-footer"])
def test_a_bad_remote_input_is_refused_in_one_line_as_locally(session, cluster_fs, tmp_path, damage):
    name = tmp_path.name
    root = cluster_fs / name
    write_dirty_logs(root, [FIXED_ROWS], ["string"])
    good = (root / "part-0.parquet").read_bytes()
    argument = {"missing": "absent", "no-match": "*.nothing"}.get(damage, "bad.parquet")
    if damage == "not-parquet":
        (root / "bad.parquet").write_bytes(b"request_id,account_id\n1,2\n")
    elif damage == "truncated":
        (root / "bad.parquet").write_bytes(good[: len(good) // 2])
    elif damage == "empty":
        (root / "bad.parquet").write_bytes(b"")
    elif damage in ("bad-footer", "long-footer"):
        footer = int.from_bytes(good[-8:-4], "little")
        claimed = footer if damage == "bad-footer" else len(good) * 2
        body = good[: -8 - footer] + bytes(range(256)) * (footer // 256) + b"\x07" * (footer % 256)
        (root / "bad.parquet").write_bytes(body + claimed.to_bytes(4, "little") + b"PAR1")
    with pytest.raises(BadInputError) as local:
        _local([str(root / argument)], tmp_path / "local")
    with pytest.raises(BadInputError) as spark:
        run_ingest([f"{VIEWFS_LOGS}/{name}/{argument}"], tmp_path / "spark", IngestOptions(engine="spark"),
                   session=session)
    assert type(spark.value) is type(local.value)
    assert str(spark.value) == str(local.value).replace(str(cluster_fs), VIEWFS_LOGS)
    assert "\n" not in str(spark.value)
    assert not (tmp_path / "spark").exists()


def test_the_local_engine_refuses_a_remote_uri_by_name(tmp_path):
    with pytest.raises(NoInputError, match=r"^viewfs://x/logs: the local engine reads .* viewfs:// logs need --engine spark"):
        run_ingest(["viewfs://x/logs"], tmp_path / "case", IngestOptions())
    assert not (tmp_path / "case").exists()
