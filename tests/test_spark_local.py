"""Keyed pseudonyms on Spark local[2] equal the local engine's, value for value, at 1 and 3 partitions; the session
runs with the engine's settings whatever the user asks."""

from __future__ import annotations

import contextlib
import io

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics.engine.spark import (
    ENGINE_CONF,
    SparkTarget,
    build_session,
    pseudonymise,
    spark_session,
)
from forensics.errors import InternalError
from forensics.keys import load_key

from conftest import TEST_KEY_HEX, write_key
from spark_support import arrow_column, key_needles, session_conf

pytestmark = pytest.mark.spark

# Text Spark can hold (valid UTF-8: no lone surrogates), with nulls, empty strings and non-ASCII made likely.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
VALUES = st.lists(
    st.one_of(st.none(), st.just(""), TEXT, st.sampled_from(["é", "Ünïcödé", "日本語のテキスト", "😀 emoji", " x ", "\x00"])),
    max_size=40,
)
KINDS = st.sampled_from(["account", "ip", "prompt", "ua"])


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    # Through the project's key loader, as the engine will be given it.
    return load_key(write_key(tmp_path_factory.mktemp("spark-key") / "case.key"))


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    driver_local = tmp_path_factory.getbasetemp() / "spark-driver"
    # A user's attempt at a setting the engine does not own goes through; the engine's own stay in force.
    target = SparkTarget.from_options("local[2]", None, session_conf(driver_local, "spark.sql.shuffle.partitions=3"))
    with spark_session(target) as spark:
        yield spark


def _on_spark(session, key, table: pa.Table, kind: str, partitions: int) -> list:
    df = session.createDataFrame(table).repartition(partitions)
    out = pseudonymise(df, key, {"v": kind}).toArrow().sort_by("i")
    assert out.schema.field("v").type == pa.string()
    return out.column("v").to_pylist()


@pytest.mark.parametrize("partitions", [1, 3])
@settings(max_examples=12, deadline=None)
@given(values=VALUES, kind=KINDS)
def test_pseudonyms_on_spark_equal_the_local_engine(session, key, partitions, values, kind):
    want = key.pseudonym_column(kind, pl.Series(values, dtype=pl.String)).to_list()
    assert _on_spark(session, key, arrow_column(values, pa.string()), kind, partitions) == want


@settings(max_examples=6, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.binary(max_size=20)), max_size=30))
def test_binary_columns_hash_their_bytes_as_the_local_engine_does(session, key, values):
    want = key.pseudonym_column("account", pl.Series(values, dtype=pl.Binary)).to_list()
    assert _on_spark(session, key, arrow_column(values, pa.binary()), "account", 3) == want


def test_three_partitions_each_hash_their_own_rows(session, key):
    from pyspark.sql import functions as F

    values = [None, "", "é", "日本", *[f"acct-{i}" for i in range(60)]]
    df = session.createDataFrame(arrow_column(values, pa.string())).repartition(3).withColumn("p", F.spark_partition_id())
    out = pseudonymise(df, key, {"v": "account"}).toArrow().sort_by("i")
    assert sorted(set(out.column("p").to_pylist())) == [0, 1, 2]
    assert out.column("v").to_pylist() == key.pseudonym_column("account", pl.Series(values, dtype=pl.String)).to_list()
    # Other columns pass through untouched, in their own types.
    assert out.column("i").to_pylist() == list(range(len(values)))
    assert out.schema.field("i").type == pa.int64()


def test_several_columns_and_kinds_in_one_pass(session, key):
    table = pa.table({"a": ["x", None, "z"], "b": ["x", "y", None]})
    out = pseudonymise(session.createDataFrame(table), key, {"a": "account", "b": "ip"}).toArrow()
    assert out.column("a").to_pylist() == key.pseudonym_column("account", pl.Series(["x", None, "z"])).to_list()
    assert out.column("b").to_pylist() == key.pseudonym_column("ip", pl.Series(["x", "y", None])).to_list()


def test_non_text_columns_are_refused(session, key):
    df = session.createDataFrame(pa.table({"n": [1, 2]}))
    with pytest.raises(TypeError, match="not string or binary"):
        pseudonymise(df, key, {"n": "account"})
    with pytest.raises(ValueError, match="no column 'm'"):
        pseudonymise(df, key, {"m": "account"})


def test_the_plan_names_the_function_and_never_holds_the_key(session, key):
    df = pseudonymise(session.createDataFrame(arrow_column(["a", "b"], pa.string())), key, {"v": "account"})
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        df.explain("extended")
    plan = printed.getvalue()
    assert "MapInArrow pseudonyms(" in plan
    found = [name for name, needle in key_needles(TEST_KEY_HEX).items() if needle in plan.encode()]
    assert found == []


def test_the_engine_settings_are_in_force(session):
    for name, value in ENGINE_CONF.items():
        assert session.conf.get(name).lower() == value.lower(), name
    assert session.conf.get("spark.sql.shuffle.partitions") == "3"  # the user's own setting
    assert session.sparkContext.pythonExec == __import__("sys").executable


def test_timestamps_cross_in_utc(session):
    # The session time zone decides how Spark renders and truncates timestamps; polars' side is always UTC.
    from datetime import datetime, timezone

    from pyspark.sql import functions as F

    moment = datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc)  # 01:30 in Europe's summer-time night
    table = pa.table({"t": pa.array([moment], pa.timestamp("us", "UTC"))})
    row = session.createDataFrame(table).select(F.hour("t").alias("h"), F.to_date("t").cast("string").alias("d")).collect()[0]
    assert (row.h, row.d) == (0, "2026-03-29")


def test_a_second_session_in_the_same_process_is_refused(session):
    with pytest.raises(InternalError, match="already running"):
        build_session(SparkTarget.from_options("local[1]", None))
