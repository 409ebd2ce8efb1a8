"""The Spark session builder's refusals, each a named error with what to do: bad --spark-conf, both URLs, no Java,
no pyspark, nothing listening. None of these starts a JVM; the sessions that do start are in test_spark_local.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from forensics.engine.spark import (
    ENGINE_CONF,
    INSTALL_JAVA,
    JavaMissingError,
    PysparkMissingError,
    SparkConfError,
    SparkConnectError,
    SparkTarget,
    SparkTargetError,
    build_session,
    connect_address,
    executor_python,
    master_addresses,
    parse_java_version,
    parse_spark_conf,
    require_java,
)
from forensics.errors import BadInputError, ForensicsError

from spark_support import free_port

pytestmark = pytest.mark.spark


def test_spark_conf_items_parse_to_a_dict_last_one_winning():
    conf = parse_spark_conf([
        "spark.executor.memory=2g",
        "spark.executor.extraJavaOptions=-Dx=y -Dz=w",  # only the first '=' splits
        "spark.hadoop.fs.s3a.endpoint=",  # an empty value is a value
        "spark.executor.memory=4g",
        "spark.sql.session.timeZone=UTC",  # what the engine sets anyway
    ])
    assert conf == {
        "spark.executor.memory": "4g",
        "spark.executor.extraJavaOptions": "-Dx=y -Dz=w",
        "spark.hadoop.fs.s3a.endpoint": "",
        "spark.sql.session.timeZone": "UTC",
    }


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ("spark.executor.memory", "expected KEY=VALUE"),
        ("=4g", "starts with 'spark.'"),
        ("executor.memory=4g", "starts with 'spark.'"),
        ("spark.executor memory=4g", "holds no spaces"),
        ("spark.master=local[2]", "--spark-master or --spark-remote"),
        ("spark.remote=sc://h", "--spark-master or --spark-remote"),
        ("spark.sql.session.timeZone=America/New_York", "the engine sets it to UTC"),
        ("spark.sql.caseSensitive=false", "the engine sets it to true"),
    ],
)
def test_bad_spark_conf_is_refused_by_name(item, says):
    with pytest.raises(SparkConfError, match=says) as caught:
        parse_spark_conf([item])
    assert isinstance(caught.value, BadInputError) and caught.value.exit_code == 2


def test_a_refused_value_is_never_echoed():
    with pytest.raises(SparkConfError) as caught:
        parse_spark_conf(["spark.hadoop.fs.s3a secret.key=hunter2-credential"])
    assert "hunter2" not in str(caught.value)


def test_master_and_remote_together_are_refused():
    with pytest.raises(SparkTargetError, match="exclude each other"):
        SparkTarget.from_options("local[2]", "sc://127.0.0.1:15002")
    with pytest.raises(SparkTargetError, match="sc://"):
        SparkTarget.from_options(None, "spark://127.0.0.1:7077")


def test_targets_and_their_addresses():
    assert SparkTarget.from_options(None, None).master == "local[*]"
    assert SparkTarget.from_options(None, "sc://h:1").is_connect
    assert master_addresses("spark://a:7000,b") == [("a", 7000), ("b", 7077)]
    assert connect_address("sc://db.example:443/;token=dapiSECRET;use_ssl=true") == ("db.example", 443)
    assert connect_address("sc://localhost") == ("localhost", 15002)


def test_executors_use_this_python_on_a_local_master_unless_told(monkeypatch):
    monkeypatch.delenv("PYSPARK_PYTHON", raising=False)
    assert executor_python(SparkTarget.from_options("local[2]", None)) == sys.executable
    assert executor_python(SparkTarget.from_options("yarn", None)) == "python3"
    told = SparkTarget.from_options("yarn", None, ["spark.pyspark.python=/opt/py/bin/python"])
    assert executor_python(told) == "/opt/py/bin/python"
    monkeypatch.setenv("PYSPARK_PYTHON", "/env/python")
    assert executor_python(SparkTarget.from_options("local[2]", None)) == "/env/python"


@pytest.mark.parametrize(
    ("text", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "25-ea" 2025-09-16', 25),
    ],
)
def test_java_versions_are_read(text, major):
    assert parse_java_version(text) == major


def test_no_java_on_path_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no java anywhere
    with pytest.raises(JavaMissingError, match="no `java` on PATH") as caught:
        build_session(SparkTarget.from_options("local[2]", None))
    assert "openjdk-17-jre-headless" in str(caught.value) and INSTALL_JAVA in str(caught.value)
    assert isinstance(caught.value, ForensicsError) and caught.value.exit_code == 2


def test_java_home_without_java_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(JavaMissingError, match=f"JAVA_HOME is {tmp_path}, which holds no bin/java"):
        require_java()


def test_java_older_than_17_is_refused(monkeypatch, tmp_path):
    # A real executable answering `java -version` as Java 8 does (on stderr), in a JAVA_HOME of its own.
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text('#!/bin/sh\necho \'java version "1.8.0_392"\' >&2\n')
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(JavaMissingError, match="is Java 8; Spark needs Java 17"):
        require_java()


def test_the_java_here_is_accepted():
    assert os.access(require_java(), os.X_OK)


@pytest.mark.parametrize(
    ("module", "package", "target"),
    [
        ("pyspark", "pyspark", SparkTarget.from_options("local[2]", None)),
        ("pandas", "pandas", SparkTarget.from_options("local[2]", None)),
        ("grpc", "grpcio", SparkTarget.from_options(None, "sc://127.0.0.1:1")),
        ("zstandard", "zstandard", SparkTarget.from_options(None, "sc://127.0.0.1:1")),
    ],
)
def test_a_missing_package_is_named_with_the_install_command(monkeypatch, module, package, target):
    monkeypatch.setitem(sys.modules, module, None)  # how Python marks a module that cannot be imported
    with pytest.raises(PysparkMissingError, match=f"needs the Python package {package}, which is not installed") as caught:
        build_session(target)
    assert "pip install -c constraints.txt -e '.[spark]'" in str(caught.value)


def _closed_port() -> int:
    return free_port()  # bound and released at once: nothing listens there


def test_no_master_listening_fails_fast_by_name():
    port = _closed_port()
    with pytest.raises(SparkConnectError, match=f"cannot connect to the Spark master at 127.0.0.1:{port}"):
        build_session(SparkTarget.from_options(f"spark://127.0.0.1:{port}", None))


def test_no_connect_server_listening_fails_fast_by_name_without_echoing_the_token():
    port = _closed_port()
    remote = f"sc://127.0.0.1:{port}/;token=dapiSECRET123"
    with pytest.raises(SparkConnectError, match=f"cannot connect to the Spark Connect server at 127.0.0.1:{port}") as caught:
        build_session(SparkTarget.from_options(None, remote))
    assert "dapiSECRET123" not in str(caught.value)


def test_a_port_that_is_not_spark_connect_fails_in_seconds_by_name():
    # An HTTP server where the Connect server should be: Connect's client would retry for ten minutes.
    import threading
    import time
    from http.server import HTTPServer, SimpleHTTPRequestHandler

    server = HTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    marked = "SPARK_CONNECT_MODE_ENABLED" in os.environ
    try:
        start = time.monotonic()
        with pytest.raises(SparkConnectError, match=f"cannot open a Spark Connect session at sc://127.0.0.1:{server.server_port}"):
            build_session(SparkTarget.from_options(None, f"sc://127.0.0.1:{server.server_port}"))
        assert time.monotonic() - start < 60
    finally:
        server.shutdown()
        if not marked:  # pyspark marks the process as a Connect client when it creates the session
            os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)


def test_engine_settings_are_the_documented_ones():
    # The byte-identity settings, spelled out: a change here is a change to what the case files depend on.
    assert ENGINE_CONF["spark.sql.session.timeZone"] == "UTC"
    assert ENGINE_CONF["spark.sql.adaptive.coalescePartitions.enabled"] == "false"
    assert ENGINE_CONF["spark.sql.caseSensitive"] == "true"


def test_the_module_imports_without_pyspark(tmp_path):
    # Executors and the CLI import it before knowing whether Spark is wanted.
    import subprocess

    code = "import sys; sys.modules['pyspark'] = None; import forensics.engine.spark; print('ok')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert result.stdout.strip() == "ok", result.stderr
