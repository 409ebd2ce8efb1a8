"""The Spark engine's foundations: a session built from --spark-master / --spark-remote / --spark-conf with the
settings the case files depend on, and the bridge that runs the project's own polars functions on executors.

One code path serves classic clusters and Spark Connect: only DataFrame API that both support is used
(mapInArrow, toArrow, conf), never an RDD or the SparkContext in a job.

pyspark is the optional `spark` extra. It is imported inside functions, so this module imports without it (a
missing pyspark is a named error, not an ImportError) and executors, which import it to unpickle the per-partition
functions, load no more than polars and the project's rules.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import socket
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import polars as pl
import pyarrow as pa

from forensics.errors import BadInputError, ForensicsError, InternalError
from forensics.keys import PSEUDONYM_HEX_LEN, CaseKey

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

MIN_JAVA = 17  # Spark 4 runs on Java 17 and 21
CONNECT_PORT = 15002  # Spark Connect's default port
MASTER_PORT = 7077  # a standalone master's default port
INSTALL_JAVA = (
    "install Java 17 or newer (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; elsewhere a JDK or JRE "
    "17+ from your vendor), then put `java` on PATH or set JAVA_HOME"
)
INSTALL_PYSPARK = "pip install -c constraints.txt -e '.[spark]'"
_PROBE_TIMEOUT_S = 5.0

# Session settings the case files depend on. The engine sets them on every session and refuses a --spark-conf
# that changes them; a cluster's own defaults (spark-defaults.conf, a Databricks policy) cannot either, since
# they are set on the session and read back.
ENGINE_CONF = {
    # Timestamps cross Arrow and every date function runs in UTC, as in the local engine; Arrow batches carry
    # timestamp[us, tz=UTC].
    "spark.sql.session.timeZone": "UTC",
    # Column names compare as in Parquet and polars: `User` and `user` are two columns, not an ambiguity.
    "spark.sql.caseSensitive": "true",
    # A bad cast or an overflow fails instead of becoming null, whatever the cluster's default.
    "spark.sql.ansi.enabled": "true",
    # Shuffles keep the partition count asked for: adaptive execution may still pick joins and split skewed
    # partitions (which changes no result), but does not merge partitions behind the engine's back.
    "spark.sql.adaptive.coalescePartitions.enabled": "false",
    # Dates before 1582 read as written (proleptic Gregorian, as pyarrow and polars write them), never shifted
    # to the Julian calendar or refused.
    "spark.sql.parquet.datetimeRebaseModeInRead": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInRead": "CORRECTED",
    # Strings cross as Arrow `string`, the type `map_frames` casts results to.
    "spark.sql.execution.arrow.useLargeVarTypes": "false",
}
# Defaults for a classic session that --spark-conf may change.
CLASSIC_DEFAULTS = {
    "spark.app.name": "forensics",
    "spark.ui.showConsoleProgress": "false",  # the CLI has its own progress display on stderr
}
# Defaults for every session that --spark-conf may change. Each Arrow batch pays a fixed cost in the per-batch
# rules (a table of the batch's distinct prompts, MinHash in chunks): Spark's default of 10,000 rows a batch
# makes that cost a large share of the work.
SESSION_DEFAULTS = {"spark.sql.execution.arrow.maxRecordsPerBatch": "100000"}
# Chosen by --spark-master / --spark-remote, never by --spark-conf.
_TARGET_KEYS = ("spark.master", "spark.remote", "spark.api.mode")
_CONF_KEY = re.compile(r"spark\.[^\s=]+")


class SparkEngineError(ForensicsError):
    """The Spark engine cannot run here: what is missing or unreachable, and what to do about it."""


class SparkJobError(ForensicsError):
    """A Spark job of a stage failed on the cluster; the first line of Spark's error says why."""


class JavaMissingError(SparkEngineError):
    """No Java 17+ for a classic session (its driver is a JVM in this process's care)."""


class PysparkMissingError(SparkEngineError):
    """pyspark, or a package that mapInArrow or Spark Connect needs, is not installed."""


class SparkConnectError(SparkEngineError):
    """The master or the Spark Connect server cannot be reached, or the session does not start."""


class SparkConfError(BadInputError):
    """A --spark-conf that is not KEY=VALUE with a spark.* key, or that would change a setting the engine owns."""


class SparkTargetError(BadInputError):
    """--spark-master and --spark-remote together, or a --spark-remote that is not an sc:// URL."""


# ---------------------------------------------------------------------------------------------- options


def parse_spark_conf(items: Iterable[str]) -> dict[str, str]:
    """--spark-conf KEY=VALUE items as a dict, the last of a repeated key winning (as spark-submit's --conf).

    Messages name the key, never the value: a value may be a credential (spark.hadoop.fs.s3a.secret.key).
    """
    conf: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SparkConfError(f"--spark-conf {item!r}: expected KEY=VALUE")
        if not _CONF_KEY.fullmatch(key):
            raise SparkConfError(
                f"--spark-conf {key!r}: a key starts with 'spark.' and holds no spaces (Hadoop settings go as "
                "spark.hadoop.*)"
            )
        if key in _TARGET_KEYS:
            raise SparkConfError(f"--spark-conf {key}: choose the cluster with --spark-master or --spark-remote")
        owned = ENGINE_CONF.get(key)
        if owned is not None and value.strip().lower() != owned.lower():
            raise SparkConfError(f"--spark-conf {key}: the engine sets it to {owned}, which the case files depend on")
        conf[key] = value
    return conf


@dataclass(frozen=True)
class SparkTarget:
    """Where the Spark engine runs: a classic master (`local[2]`, `spark://host:7077`, `yarn`, `k8s://...`) or
    a Spark Connect server (`sc://host:15002`), with the user's extra settings."""

    master: str | None = None
    remote: str | None = None
    conf: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_options(cls, master: str | None, remote: str | None, conf_items: Iterable[str] = ()) -> SparkTarget:
        """The target of the command-line options. Neither URL means the master spark-submit chose, when the
        process runs under spark-submit (its JVM is already up), else `local[*]`, as Spark's own default."""
        if master and remote:
            raise SparkTargetError(
                "--spark-master and --spark-remote exclude each other: a master URL starts a classic session, an "
                "sc:// URL opens a Spark Connect one"
            )
        if remote is not None and not remote.startswith("sc://"):
            raise SparkTargetError("--spark-remote: expected a Spark Connect URL, sc://host[:port][/;options]")
        if not master and not remote and under_spark_submit():
            return cls(conf=parse_spark_conf(conf_items))
        return cls(master=None if remote else (master or "local[*]"), remote=remote, conf=parse_spark_conf(conf_items))

    @property
    def is_connect(self) -> bool:
        return self.remote is not None

    @property
    def is_submitted(self) -> bool:
        """A classic session on the master and settings spark-submit was given."""
        return self.master is None and self.remote is None

    def describe(self, session: SparkSession | None = None) -> dict:
        """The target for the custody log: the master, the Connect server without its ;options (a token may be one)
        and the --spark-conf keys without their values (a value may be a credential). Under spark-submit the
        master is the one it chose, read from the running `session`: the command line forensics saw has none."""
        master = self.master
        if self.is_submitted and session is not None:
            master = session.conf.get("spark.master", None)
        return {
            "spark_master": master,
            "spark_submit": self.is_submitted,
            "spark_remote": self.remote.split(";")[0] if self.remote else None,
            "spark_conf_keys": sorted(self.conf),
        }


def engine_record(target: SparkTarget | None, session: SparkSession | None = None) -> dict:
    """The custody record's description of a Spark engine: "spark", and its target when one built the session."""
    return {"engine": "spark", **(target.describe(session) if target is not None else {})}


# ---------------------------------------------------------------------------------------------- prerequisites


def parse_java_version(text: str) -> int:
    """The major version in `java -version` output: 17 from `version "17.0.15"`, 8 from `version "1.8.0_392"`."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if match is None:
        raise JavaMissingError(f"cannot read a Java version from `java -version`; Spark needs Java {MIN_JAVA}+: {INSTALL_JAVA}")
    major = int(match[1])
    return int(match[2] or 0) if major == 1 else major


def require_java() -> str:
    """The `java` a classic session will start (JAVA_HOME's, else the one on PATH, as Spark's launcher picks), if
    it is Java 17 or newer."""
    home = os.environ.get("JAVA_HOME")
    if home:
        java = os.path.join(home, "bin", "java")
        if not os.access(java, os.X_OK):
            raise JavaMissingError(f"JAVA_HOME is {home}, which holds no bin/java: {INSTALL_JAVA}")
    else:
        found = shutil.which("java")
        if found is None:
            raise JavaMissingError(f"Spark needs Java {MIN_JAVA}+ and there is no `java` on PATH: {INSTALL_JAVA}")
        java = found
    try:
        result = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise JavaMissingError(f"{java} -version failed ({exc}): {INSTALL_JAVA}") from None
    version = parse_java_version(result.stderr + result.stdout)
    if version < MIN_JAVA:
        raise JavaMissingError(f"{java} is Java {version}; Spark needs Java {MIN_JAVA}+: {INSTALL_JAVA}")
    return java


# Module -> the package that provides it: mapInArrow needs pandas and pyarrow; Spark Connect also gRPC and zstd.
_CLASSIC_MODULES = {"pyspark": "pyspark", "pandas": "pandas", "pyarrow": "pyarrow"}
_CONNECT_MODULES = {
    **_CLASSIC_MODULES, "grpc": "grpcio", "grpc_status": "grpcio-status", "google.rpc": "googleapis-common-protos",
    "zstandard": "zstandard",
}


def require_packages(connect: bool) -> None:
    """Raise PysparkMissingError naming the first package a session of this kind needs and cannot import."""
    for module, package in (_CONNECT_MODULES if connect else _CLASSIC_MODULES).items():
        try:
            importlib.import_module(module)
        except ImportError:
            raise PysparkMissingError(
                f"--engine spark needs the Python package {package}, which is not installed: {INSTALL_PYSPARK}"
            ) from None
    import pyspark

    if int(pyspark.__version__.split(".")[0]) < 4:
        raise PysparkMissingError(f"pyspark {pyspark.__version__} is too old; the engine needs 4.x: {INSTALL_PYSPARK}")


def _probe(addresses: list[tuple[str, int]], what: str) -> None:
    """Fail fast, by name, when no address accepts a TCP connection: Spark itself retries for a minute or more."""
    errors = []
    for host, port in addresses:
        try:
            socket.create_connection((host, port), timeout=_PROBE_TIMEOUT_S).close()
            return
        except OSError as exc:
            errors.append(f"{host}:{port} ({exc.strerror or type(exc).__name__})")
    raise SparkConnectError(f"cannot connect to {what} at {', '.join(errors)}")


def master_addresses(master: str) -> list[tuple[str, int]]:
    """(host, port) of each master of a `spark://h1:p1,h2:p2` URL (several with ZooKeeper recovery)."""
    hosts = master.removeprefix("spark://").split("/")[0].split(",")
    out = []
    for entry in hosts:
        parts = urlsplit(f"spark://{entry}")
        if not parts.hostname:
            raise SparkTargetError(f"--spark-master {master!r}: expected spark://host[:port]")
        out.append((parts.hostname, parts.port or MASTER_PORT))
    return out


def connect_address(remote: str) -> tuple[str, int]:
    """(host, port) of an sc:// URL; its ;options (a token among them) are never echoed."""
    parts = urlsplit(remote.split(";")[0])
    if parts.scheme != "sc" or not parts.hostname:
        raise SparkTargetError("--spark-remote: expected a Spark Connect URL, sc://host[:port][/;options]")
    try:
        return parts.hostname, parts.port or CONNECT_PORT
    except ValueError:
        raise SparkTargetError("--spark-remote: the port is not a number") from None


def first_line(exc: BaseException) -> str:
    """The gist of an error from the JVM, gRPC or a Python worker: a gRPC status's details, the worker's own
    exception line, else the first line."""
    text = str(exc).strip()
    details = re.search(r'details = "([^"]*)"', text)
    if details:
        return details[1][:300]
    if text.startswith("An exception was thrown from the Python worker"):
        raised = re.findall(r"^([A-Za-z_][\w.]*(?:Error|Exception)): (.+)$", text, flags=re.MULTILINE)
        if raised:
            name, message = raised[-1]
            return f"{name.rsplit('.', 1)[-1]}: {message}"[:300]
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


# ---------------------------------------------------------------------------------------------- sessions


def build_session(target: SparkTarget) -> SparkSession:
    """A new session on `target` with ENGINE_CONF in force; the caller stops it (or uses `spark_session`)."""
    require_packages(target.is_connect)
    return _connect_session(target) if target.is_connect else _classic_session(target)


@contextmanager
def spark_session(target: SparkTarget) -> Iterator[SparkSession]:
    """A session for one stage, stopped when the stage ends, whether it succeeded or not.

    Creating a Connect session makes pyspark mark the whole process as a Connect client (the environment variable
    SPARK_CONNECT_MODE_ENABLED, which pyspark.sql.functions consults), and stopping it does not undo that; the
    mark is removed here when the session did set it, so the process can build a classic session afterwards.
    """
    marked = "SPARK_CONNECT_MODE_ENABLED" in os.environ
    try:
        session = build_session(target)
        try:
            yield session
        finally:
            session.stop()
    finally:
        if not marked:
            os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)


@contextmanager
def spark_stage(target: SparkTarget | None, session: SparkSession | None = None) -> Iterator[SparkSession]:
    """The session of one stage's Spark passes: `session` when given, else one built from `target` for the stage.
    Whatever fails inside, other than the project's own errors, becomes one SparkJobError with its first line: the
    JVM's and the executors' failures reach Python as many types."""
    if session is None and target is None:
        raise SparkEngineError("--engine spark needs a Spark target")
    with nullcontext(session) if session is not None else spark_session(target) as active:
        try:
            yield active
        except ForensicsError:
            raise
        except Exception as exc:
            raise SparkJobError(f"the Spark job failed: {first_line(exc)}") from None


def under_spark_submit() -> bool:
    """Whether spark-submit started this process: it starts the JVM first and hands its gateway down."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def executor_python(target: SparkTarget) -> str:
    """The Python that classic executors start: spark.pyspark.python from --spark-conf, else PYSPARK_PYTHON, else,
    for a local master, this interpreter (whose packages the executors then share), else Spark's `python3`.

    Spark honours spark.pyspark.python only under spark-submit; a session built in process reads PYSPARK_PYTHON
    alone, so the engine applies the setting itself.
    """
    chosen = target.conf.get("spark.pyspark.python") or os.environ.get("PYSPARK_PYTHON")
    if chosen:
        return chosen
    return sys.executable if (target.master or "").startswith("local") else "python3"


def _classic_session(target: SparkTarget) -> SparkSession:
    require_java()
    if target.master is not None and target.master.startswith("spark://"):
        _probe(master_addresses(target.master), "the Spark master")
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    if SparkContext._active_spark_context is not None:
        # getOrCreate would hand back that session, whatever its master and settings.
        raise InternalError("a Spark session is already running in this process; stop it before building another")
    builder = SparkSession.builder if target.is_submitted else SparkSession.builder.master(target.master)
    for key, value in {**CLASSIC_DEFAULTS, **SESSION_DEFAULTS, **target.conf, **ENGINE_CONF}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM's failures reach Python as py4j and PySpark errors of many types
        where = target.master or "spark-submit's master"
        raise SparkConnectError(f"cannot start a Spark session on {where}: {first_line(exc)}") from None
    if not target.is_submitted:  # spark-submit applies spark.pyspark.python itself
        session.sparkContext.pythonExec = executor_python(target)
    _check_engine_conf(session)
    return session


def _connect_session(target: SparkTarget) -> SparkSession:
    assert target.remote is not None
    host, port = connect_address(target.remote)
    _probe([(host, port)], "the Spark Connect server")
    from pyspark.sql import SparkSession

    from pyspark.sql.connect.client.retries import DefaultPolicy

    where = f"sc://{host}:{port}"
    try:
        session = SparkSession.builder.remote(target.remote).create()  # no RPC yet
        # The first RPC, with two retries instead of Connect's ten minutes of them: a port where something other
        # than Spark Connect listens fails here, in a second.
        policies = session.client.get_retry_policies()
        session.client.set_retry_policies([DefaultPolicy(max_retries=2)])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pyspark's own "retries exceeded" warning; the error says more
                session.version
        finally:
            session.client.set_retry_policies(policies)
    except Exception as exc:
        raise SparkConnectError(
            f"cannot open a Spark Connect session at {where}: {first_line(exc).replace(target.remote, where)}"
        ) from None
    # Connect's builder sets options silently (a refused one is dropped); set them one by one so a refusal is told.
    for key, value in {**SESSION_DEFAULTS, **target.conf, **ENGINE_CONF}.items():
        try:
            session.conf.set(key, value)
        except Exception as exc:
            session.stop()
            raise SparkConfError(
                f"--spark-conf {key}: the Spark Connect server refused it ({first_line(exc)}); settings of the "
                "server's own process belong in its configuration"
            ) from None
    _check_engine_conf(session)
    return session


def _check_engine_conf(session: SparkSession) -> None:
    for key, wanted in ENGINE_CONF.items():
        actual = session.conf.get(key)
        if str(actual).lower() != wanted.lower():
            session.stop()
            raise SparkEngineError(f"the Spark session kept {key}={actual}, not {wanted}; the case files depend on it")


# ---------------------------------------------------------------------------------------------- per-partition work


class FrameMap:
    """The executor side of `map_frames`: each Arrow batch as a polars frame through `fn`, the result cast to the
    Arrow schema Spark declared for the output.

    polars hands back large_string and its own integer widths; casting to the declared schema makes a type that
    does not fit an error on the executor instead of a silent change. `__name__` is `fn`'s, so plans read
    `pseudonyms(...)`, not this class's name.
    """

    def __init__(self, fn: Callable[[pl.DataFrame], pl.DataFrame], schema: pa.Schema) -> None:
        self.fn = fn
        self.schema = schema
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)

    def __repr__(self) -> str:
        return f"FrameMap({self.__name__})"

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            out = self.fn(frame).select(self.schema.names).to_arrow().cast(self.schema)
            yield from out.to_batches()


def map_frames(df: DataFrame, fn: Callable[[pl.DataFrame], pl.DataFrame], schema: StructType) -> DataFrame:
    """`fn` run on the executors over every Arrow batch of every partition of `df`, as polars frames; the results
    form a DataFrame of `schema`.

    `fn` must be a pure function of one batch (a row may reach it in any batch and any order) and picklable: a
    module-level function or an instance of a module-level class, which executors import by name, so the
    forensics package must be installed where they run.
    """
    from pyspark.sql.pandas.types import to_arrow_schema

    declared = to_arrow_schema(schema, timezone=ENGINE_CONF["spark.sql.session.timeZone"], prefers_large_types=False)
    return df.mapInArrow(FrameMap(fn, declared), schema)


class KeyedPseudonyms:
    """The per-batch function of `pseudonymise`: the local engine's own CaseKey.pseudonym_column, per named column.

    It holds the CaseKey, so the key travels to the executors inside the pickled task, the one place Spark keeps a
    Python function's bytes: plans, the SQL tab and the event log show only its name (`pseudonyms`) and its repr
    shows only the columns. Nothing else carries the key: no literal in an expression, no configuration value,
    no broadcast or file.
    """

    def __init__(self, key: CaseKey, columns: Mapping[str, str], hex_chars: int) -> None:
        self._key = key
        self._columns = tuple(columns.items())
        self._hex_chars = hex_chars
        self.__name__ = "pseudonyms"

    def __repr__(self) -> str:
        return f"KeyedPseudonyms(columns={[c for c, _ in self._columns]})"

    def __call__(self, frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            self._key.pseudonym_column(kind, frame[column], self._hex_chars).alias(column)
            for column, kind in self._columns
        )


def pseudonymise(
    df: DataFrame, key: CaseKey, columns: Mapping[str, str], *, hex_chars: int = PSEUDONYM_HEX_LEN
) -> DataFrame:
    """`df` with each string or binary column of `columns` (column -> kind) replaced by its keyed pseudonym:
    value for value what `key.pseudonym_column(kind, values)` gives in the local engine; null stays null."""
    from pyspark.sql.types import BinaryType, StringType, StructField, StructType

    fields = {f.name: f for f in df.schema.fields}
    for column in columns:
        if column not in fields:
            raise ValueError(f"no column {column!r} to pseudonymise")
        if not isinstance(fields[column].dataType, (StringType, BinaryType)):
            raise TypeError(f"column {column!r} is {fields[column].dataType.simpleString()}, not string or binary")
    schema = StructType(
        [StructField(f.name, StringType(), True) if f.name in columns else f for f in df.schema.fields]
    )
    return map_frames(df, KeyedPseudonyms(key, columns, hex_chars), schema)
