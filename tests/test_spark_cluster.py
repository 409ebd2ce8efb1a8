"""On a real standalone cluster (a master and two workers on loopback, from pyspark's sbin scripts): keyed
pseudonyms and ingest's and cluster's case files equal the local engine's, and the key is nowhere in what Spark records: plans, the SQL tab's data, the
event log, the driver's and executors' logs, the daemons' logs and every file under the cluster's directories.

A positive control runs the pattern the issue forbids (Spark's built-in hmac() with a literal key) under a
throwaway canary key in the same application: the same scan finds the canary in the plan, the SQL tab and the
event log, so a scan that finds nothing for the real key has read what it claims to."""

from __future__ import annotations

import contextlib
import io
import json
import secrets
import urllib.request

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics.engine.spark import SparkTarget, build_session, pseudonymise
from forensics.keys import CaseKey, load_key

from conftest import write_key
from spark_support import (
    StandaloneCluster,
    assert_cluster_matches_local,
    assert_ingest_matches_local,
    arrow_column,
    file_blobs,
    find_needles,
    key_needles,
    session_conf,
    viewfs_mount,
)

pytestmark = pytest.mark.spark

# A key of this run only: no other test or file on this machine holds it, so anything the scan finds came from here.
KEY_HEX = secrets.token_hex(32)
DIRTY = [None, "", " ", "é", "Ünïcödé", "日本語", "😀", "\x00", "a" * 500, "acct-1", "acct-1", None,
         *[f"user{i}@example.com" for i in range(200)]]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with StandaloneCluster(tmp_path_factory.mktemp("standalone")) as running:
        yield running
    print(f"standalone cluster timings (s): {running.timings}")


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return load_key(write_key(tmp_path_factory.mktemp("cluster-key") / "case.key", KEY_HEX))


class Sessions:
    """The application on the cluster, built on first use and again after a test stopped it (to read its
    finished event log and executor logs)."""

    def __init__(self, target: SparkTarget) -> None:
        self.target = target
        self.session = None

    def get(self):
        if self.session is None:
            self.session = build_session(self.target)
            jsc = self.session.sparkContext._jsc
            # Both executors registered (the driver counts as one more), so a job's tasks can reach both.
            while jsc.sc().getExecutorMemoryStatus().size() < 3:
                __import__("time").sleep(0.2)
        return self.session

    def stop(self) -> None:
        if self.session is not None:
            self.session.stop()
            self.session = None


@pytest.fixture(scope="module")
def sessions(cluster, tmp_path_factory):
    driver_local = tmp_path_factory.getbasetemp() / "spark-driver"
    events = cluster.root / "events"
    events.mkdir()
    conf = session_conf(
        driver_local,
        "spark.executor.memory=512m",
        "spark.eventLog.enabled=true",
        f"spark.eventLog.dir={events.as_uri()}",
        # The SQL tab's data is read through the UI's REST API.
        "spark.ui.enabled=true",
        "spark.ui.port=0",
        # Whatever Spark spills to local disk stays greppable: uncompressed.
        "spark.broadcast.compress=false",
        "spark.shuffle.compress=false",
        "spark.shuffle.spill.compress=false",
        "spark.rdd.compress=false",
        *viewfs_mount(cluster.root / "mounted"),
    )
    held = Sessions(SparkTarget.from_options(cluster.url, None, conf))
    yield held
    held.stop()


def _pseudonyms(spark, key: CaseKey, values: list, partitions: int) -> list:
    df = spark.createDataFrame(arrow_column(values, pa.string())).repartition(partitions)
    return pseudonymise(df, key, {"v": "account"}).toArrow().sort_by("i").column("v").to_pylist()


@settings(max_examples=6, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.just(""), st.text(st.characters(exclude_categories=("Cs",)), max_size=20)),
                       max_size=40))
def test_pseudonyms_on_the_cluster_equal_the_local_engine(sessions, key, values):
    want = key.pseudonym_column("account", pl.Series(values, dtype=pl.String)).to_list()
    assert _pseudonyms(sessions.get(), key, values, 3) == want


def _explain(df) -> str:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        df.explain("extended")
    return printed.getvalue()


def _sql_tab(spark) -> bytes:
    """What the UI's SQL tab shows, as its REST API serves it: every query with its plan and plan graph."""
    sc = spark.sparkContext
    url = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/sql?details=true&planDescription=true"
    with urllib.request.urlopen(url, timeout=30) as response:
        body = response.read()
    assert json.loads(body), "the SQL tab lists no query"
    return body


def test_the_key_never_reaches_sparks_records(cluster, sessions, key, capfd, tmp_path_factory):
    from pyspark.sql import functions as F

    needles = key_needles(KEY_HEX)
    spark = sessions.get()
    app_id = spark.sparkContext.applicationId
    df = spark.createDataFrame(arrow_column(DIRTY, pa.string())).repartition(4)
    hashed = pseudonymise(df, key, {"v": "account"})
    got = hashed.toArrow().sort_by("i").column("v").to_pylist()
    assert got == key.pseudonym_column("account", pl.Series(DIRTY, dtype=pl.String)).to_list()
    plan = _explain(hashed)
    assert "pseudonyms(" in plan

    # ingest and cluster end to end on the cluster: the same case files as the local engine, under this run's key.
    assert_ingest_matches_local(spark, tmp_path_factory.mktemp("cluster-ingest"), KEY_HEX, ["string", "timestamp"])
    # The logs on a file system only the cluster reads: listed, hashed and read by the executors.
    assert_ingest_matches_local(spark, tmp_path_factory.mktemp("cluster-remote"), KEY_HEX, ["int", "timestamp"],
                                mounted=cluster.root / "mounted")
    assert_cluster_matches_local(spark, tmp_path_factory.mktemp("cluster-cluster"), KEY_HEX)

    # The control: Spark's own hmac() with a canary key as a literal, which a leak scan must catch; its output
    # also checks keys.hmac_sha256_hex against an independent implementation.
    canary_hex = secrets.token_hex(32)
    canary = CaseKey(bytes.fromhex(canary_hex))
    message = F.concat(F.lit(b"account:"), F.col("v").cast("binary"))
    literal = df.select("i", F.substring(F.lower(F.hex(F.hmac(F.lit(bytes.fromhex(canary_hex)), message))), 1, 32).alias("v"))
    control = literal.toArrow().sort_by("i").column("v").to_pylist()
    assert control == canary.pseudonym_column("account", pl.Series(DIRTY, dtype=pl.String)).to_list()
    control_plan = _explain(literal)
    canary_needles = {f"canary {k}": v for k, v in key_needles(canary_hex).items()}

    sql_tab = _sql_tab(spark)
    assert find_needles([("explain", plan.encode()), ("SQL tab", sql_tab)], needles) == []
    assert find_needles([("explain", control_plan.encode())], canary_needles), "the canary's literal is not in its plan"
    assert find_needles([("SQL tab", sql_tab)], canary_needles), "the canary's literal is not in the SQL tab"

    # Scratch while the application runs (driver and executors), then everything once it has ended.
    driver_local = tmp_path_factory.getbasetemp() / "spark-driver"
    live = [driver_local, cluster.root / "local"]
    assert find_needles(file_blobs(*live), needles) == []
    sessions.stop()
    cluster.wait_app_finished(app_id)

    everything = list(file_blobs(cluster.root, driver_local))
    assert find_needles(everything, needles) == []
    driver_output = capfd.readouterr()
    assert find_needles([("driver stdout", driver_output.out.encode()), ("driver stderr", driver_output.err.encode())],
                        needles) == []

    # What was scanned is what the issue names: this application's event log, which holds the canary's plan ...
    event_logs = [(w, d) for w, d in everything if f"eventlog_v2_{app_id}" in w]
    assert any(w.endswith(".zstd (decompressed)") for w, _ in event_logs), "no compressed event log was read"
    assert find_needles(event_logs, canary_needles), "the canary is not in the event log"
    # ... and the logs of both executors, each of which ran tasks.
    executors = sorted((cluster.work_dir / app_id).glob("*/stderr"))
    assert len(executors) == 2
    assert all("Running task" in p.read_text(errors="replace") for p in executors)
    assert all((p.parent / "stdout").is_file() for p in executors)
