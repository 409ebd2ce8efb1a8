"""--spark-remote: a Spark Connect server started by pyspark's own sbin/start-connect-server.sh on loopback (the
connect jar ships in the pip package, so it starts offline). Keyed pseudonyms computed through it equal the local
engine's at 1 and 3 partitions, so are ingest's and cluster's case files, and the key is nowhere in the server's records: its event log (which, for
Connect, also records each request's plan), its log, its scratch, and what the client printed.

The pickled per-batch function, key blocks included, does reach the server inside the plan; the event log records
that plan with every bytes field cut to its first 8 bytes, which this test checks, so the blocks are not recorded.
The canary control (see test_spark_cluster.py) shows the scan reads the log."""

from __future__ import annotations

import contextlib
import io
import json
import re
import secrets

import polars as pl
import pyarrow as pa
import pytest

from forensics.engine.spark import ENGINE_CONF, SparkTarget, pseudonymise, spark_session
from forensics.keys import CaseKey, load_key

from conftest import write_key
from spark_support import (
    ConnectServer,
    arrow_column,
    assert_cluster_matches_local,
    assert_ingest_matches_local,
    file_blobs,
    find_needles,
    key_needles,
    viewfs_mount,
)

pytestmark = pytest.mark.spark

KEY_HEX = secrets.token_hex(32)
DIRTY = [None, "", " ", "é", "日本語", "😀", "\x00", "acct-1", "acct-1", *[f"user{i}" for i in range(50)]]


def _explain(df) -> str:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        df.explain("extended")
    return printed.getvalue()


def test_pseudonyms_over_spark_connect_and_no_key_in_the_servers_records(tmp_path_factory, capfd):
    from pyspark.sql import functions as F

    key = load_key(write_key(tmp_path_factory.mktemp("connect-key") / "case.key", KEY_HEX))
    want = key.pseudonym_column("account", pl.Series(DIRTY, dtype=pl.String)).to_list()
    canary_hex = secrets.token_hex(32)
    root = tmp_path_factory.mktemp("connect")
    mounted = tmp_path_factory.mktemp("connect-mounted")
    with ConnectServer(root, **dict(item.split("=", 1) for item in viewfs_mount(mounted))) as server:
        with spark_session(SparkTarget.from_options(None, server.url, ["spark.sql.shuffle.partitions=3"])) as spark:
            for name, value in ENGINE_CONF.items():
                assert spark.conf.get(name).lower() == value.lower(), name
            table = arrow_column(DIRTY, pa.string())
            for partitions in (1, 3):
                hashed = pseudonymise(spark.createDataFrame(table).repartition(partitions), key, {"v": "account"})
                assert hashed.toArrow().sort_by("i").column("v").to_pylist() == want
            plan = _explain(hashed)
            assert "pseudonyms(" in plan
            message = F.concat(F.lit(b"account:"), F.col("v").cast("binary"))
            # Repartitioned, so the optimizer cannot fold the query into a local result that never runs as SQL.
            literal = spark.createDataFrame(table).repartition(2).select(
                "i", F.substring(F.lower(F.hex(F.hmac(F.lit(bytes.fromhex(canary_hex)), message))), 1, 32).alias("v")
            )
            control = literal.toArrow().sort_by("i").column("v").to_pylist()
            assert control == CaseKey(bytes.fromhex(canary_hex)).pseudonym_column("account", pl.Series(DIRTY)).to_list()
            control_plan = _explain(literal)
            # ingest and cluster end to end through the server: the same case files as the local engine.
            assert_ingest_matches_local(spark, tmp_path_factory.mktemp("connect-ingest"), KEY_HEX, ["int", "string"])
            assert_ingest_matches_local(spark, tmp_path_factory.mktemp("connect-remote"), KEY_HEX, ["string", "int"],
                                        mounted=mounted)
            assert_cluster_matches_local(spark, tmp_path_factory.mktemp("connect-cluster"), KEY_HEX)
        server.stop()  # the event log is complete once the server has stopped
    with capfd.disabled():
        print(f"\nSpark Connect server timings (s): {server.timings}")

    needles = key_needles(KEY_HEX)
    canary = {f"canary {k}": v for k, v in key_needles(canary_hex).items()}
    assert find_needles([("explain", plan.encode())], needles) == []
    assert find_needles([("explain", control_plan.encode())], canary)
    records = list(file_blobs(root))
    assert find_needles(records, needles) == []
    printed = capfd.readouterr()
    assert find_needles([("client stdout", printed.out.encode()), ("client stderr", printed.err.encode())], needles) == []

    event_log = b"".join(data for where, data in records if "eventlog_v2_" in where and where.endswith(".zstd (decompressed)"))
    assert event_log, "the server wrote no event log"
    assert find_needles([("event log", event_log)], canary), "the canary is not in the server's event log"
    # Each recorded request plan names the function and keeps only the first 8 bytes of its pickle.
    statements = [json.loads(line).get("statementText", "") for line in event_log.decode().splitlines() if line.startswith("{")]
    udfs = [s for s in statements if 'function_name: "pseudonyms"' in s]
    assert udfs
    for statement in udfs:
        commands = re.findall(r'command: "(.*?)\[truncated\(size=(\d+)\)\]"', statement)
        assert commands
        for shown, size in commands:
            assert len(re.findall(r"\\[0-7]{3}|\\.|.", shown)) <= 8 < int(size)
