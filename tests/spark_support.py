"""Real Spark for the tests: a standalone master with two workers and a Spark Connect server, started on loopback
from pyspark's own sbin scripts (SPARK_HOME is the pyspark package), each writing only under its own directory;
and the scan for key material in whatever Spark wrote.

pyspark's pip package ships sbin/spark-daemon.sh and start-connect-server.sh but not start-master.sh or
start-worker.sh, which only wrap spark-daemon.sh; the cluster is started through spark-daemon.sh directly.
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import strategies as st
import pyspark
import zstandard

from forensics.keys import CaseKey

SPARK_HOME = Path(pyspark.__file__).resolve().parent
# Test JVMs only: C1 alone and the serial collector about halve a JVM's start on 2 cores (a local[2] session
# and its first job: 31 + 27 s with the defaults, 14 + 10 s with these, measured side by side under load).
FAST_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
_MASTER = "org.apache.spark.deploy.master.Master"
_WORKER = "org.apache.spark.deploy.worker.Worker"
_CONNECT = "org.apache.spark.sql.connect.service.SparkConnectServer"
_START_TIMEOUT_S = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def session_conf(driver_local: Path, *extra: str) -> list[str]:
    """--spark-conf items of a test session: loopback only, fast JVMs, this interpreter on the executors and the
    driver's scratch in `driver_local` (one directory per test process: the JVM keeps its first local dir)."""
    return [
        "spark.driver.host=127.0.0.1",
        "spark.driver.bindAddress=127.0.0.1",
        f"spark.driver.extraJavaOptions={FAST_JVM}",
        f"spark.executor.extraJavaOptions={FAST_JVM}",
        f"spark.local.dir={driver_local}",
        f"spark.pyspark.python={sys.executable}",
        "spark.ui.enabled=false",
        *extra,
    ]


class _Daemons:
    """Spark daemons started with sbin scripts under `root`: conf, logs, pid files and scratch all inside it."""

    def __init__(self, root: Path, **env: str) -> None:
        self.root = root
        for sub in ("conf", "logs", "pids", "local"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_"))}
        self.env = {
            **base,
            "SPARK_HOME": str(SPARK_HOME),
            "SPARK_CONF_DIR": str(root / "conf"),  # empty: no spark-defaults.conf or spark-env.sh from elsewhere
            "SPARK_LOG_DIR": str(root / "logs"),
            "SPARK_PID_DIR": str(root / "pids"),
            "SPARK_LOCAL_DIRS": str(root / "local"),
            "SPARK_IDENT_STRING": "forensics-test",
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_DAEMON_MEMORY": "512m",
            "SPARK_DAEMON_JAVA_OPTS": FAST_JVM,
            **env,
        }
        self.started: list[tuple[str, int]] = []

    def sbin(self, script: str, *args: str) -> str:
        result = subprocess.run(
            [str(SPARK_HOME / "sbin" / script), *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0 or "failed to launch" in result.stdout:
            raise RuntimeError(f"sbin/{script} failed: {result.stdout}{result.stderr}{self.log_tail()}")
        return result.stdout

    def start(self, cls: str, instance: int, *args: str) -> None:
        self.started.append((cls, instance))
        self.sbin("spark-daemon.sh", "start", cls, str(instance), *args)

    def pid(self, cls: str, instance: int) -> int | None:
        path = self.root / "pids" / f"spark-forensics-test-{cls}-{instance}.pid"
        return int(path.read_text()) if path.is_file() else None

    def stop(self) -> None:
        """Stop every daemon started here, newest first, and wait until their processes and the JVMs they
        started (executors) are gone; a Python worker ends with its executor."""
        pids = [p for cls, i in self.started if (p := self.pid(cls, i)) is not None]
        for cls, instance in reversed(self.started):
            subprocess.run([str(SPARK_HOME / "sbin" / "spark-daemon.sh"), "stop", cls, str(instance)],
                           env=self.env, capture_output=True, timeout=60)
        self.started.clear()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            alive = [p for p in pids + self._leftovers() if _alive(p)]
            if not alive:
                return
            time.sleep(0.2)
        for pid in alive:
            os.kill(pid, signal.SIGKILL)

    def _leftovers(self) -> list[int]:
        # spark-class puts SPARK_CONF_DIR first on every classpath it builds: daemons' and executors', never the
        # test's own driver JVM (started by pyspark with a SPARK_CONF_DIR of its own).
        marker = f"{self.root / 'conf'}/:".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                try:
                    if marker in (entry / "cmdline").read_bytes():
                        found.append(int(entry.name))
                except OSError:
                    pass
        return found

    def log_tail(self, lines: int = 20) -> str:
        out = []
        for log in sorted((self.root / "logs").glob("*.out")):
            out.append(f"\n--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:]))
        return "".join(out)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child is dead for this purpose
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False


def _wait(what: str, ready, daemons: _Daemons) -> float:
    start = time.monotonic()
    while time.monotonic() - start < _START_TIMEOUT_S:
        try:
            if ready():
                return time.monotonic() - start
        except (OSError, ValueError):  # not listening yet, or an answer cut short
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{what} not ready after {_START_TIMEOUT_S} s{daemons.log_tail()}")


class StandaloneCluster:
    """A standalone master and two one-core workers on 127.0.0.1; `url` is the master's spark:// URL.

    Use as a context manager: the daemons stop on exit, and if starting fails half-way, what started is stopped.
    """

    def __init__(self, root: Path, workers: int = 2, memory: str = "1g") -> None:
        self.root = root
        self.workers = workers
        self.memory = memory
        self.port = free_port()
        self.ui_port = free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self.daemons = _Daemons(root, SPARK_WORKER_DIR=str(root / "work"))
        self.timings: dict[str, float] = {}

    @property
    def work_dir(self) -> Path:
        return self.root / "work"

    def state(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as response:
            return json.load(response)

    def alive_workers(self) -> int:
        return sum(w["state"] == "ALIVE" for w in self.state()["workers"])

    def __enter__(self) -> StandaloneCluster:
        start = time.monotonic()
        try:
            self.daemons.start(_MASTER, 1, "--host", "127.0.0.1", "--port", str(self.port),
                               "--webui-port", str(self.ui_port))
            _wait("the master", lambda: self.state() is not None, self.daemons)
            self.timings["master"] = time.monotonic() - start
            for n in range(1, self.workers + 1):
                self.daemons.start(_WORKER, n, "--host", "127.0.0.1", "--port", "0", "--webui-port", "0",
                                   "--cores", "1", "--memory", self.memory, "--work-dir", str(self.work_dir), self.url)
            _wait("the workers", lambda: self.alive_workers() == self.workers, self.daemons)
        except BaseException:
            self.daemons.stop()
            raise
        self.timings["start"] = time.monotonic() - start
        return self

    def wait_app_finished(self, app_id: str, timeout: float = 60) -> None:
        """Until the master lists `app_id` as completed (its executors are then gone and their logs closed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(app["id"] == app_id for app in self.state()["completedapps"]):
                return
            time.sleep(0.25)
        raise RuntimeError(f"application {app_id} still running after {timeout} s")

    def __exit__(self, *exc) -> None:
        start = time.monotonic()
        self.daemons.stop()
        self.timings["stop"] = time.monotonic() - start


class ConnectServer:
    """A Spark Connect server (its own local[2] driver) on 127.0.0.1, started by sbin/start-connect-server.sh;
    `url` is its sc:// URL. Its event log, scratch and logs are under `root`."""

    def __init__(self, root: Path, **extra: str) -> None:
        self.root = root
        self.extra = extra  # more --conf settings of the server
        self.port = free_port()
        self.url = f"sc://127.0.0.1:{self.port}"
        # The server starts the executors' Python workers: this interpreter, so they import this project.
        self.daemons = _Daemons(root, PYSPARK_PYTHON=sys.executable)
        (root / "events").mkdir(parents=True, exist_ok=True)
        self.timings: dict[str, float] = {}

    def __enter__(self) -> ConnectServer:
        start = time.monotonic()
        conf = {
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(self.port),
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.extraJavaOptions": FAST_JVM,
            "spark.ui.enabled": "false",
            "spark.eventLog.enabled": "true",
            "spark.eventLog.dir": (self.root / "events").as_uri(),
            "spark.local.dir": str(self.root / "local"),
            **self.extra,
        }
        args = ["--master", "local[2]", *[a for k, v in conf.items() for a in ("--conf", f"{k}={v}")]]
        try:
            self.daemons.started.append((_CONNECT, 1))
            self.daemons.sbin("start-connect-server.sh", *args)
            _wait("the Spark Connect server", self._listening, self.daemons)
        except BaseException:
            self.daemons.stop()
            raise
        self.timings["start"] = time.monotonic() - start
        return self

    def _listening(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            return True

    def stop(self) -> None:
        start = time.monotonic()
        if self.daemons.started:
            self.daemons.stop()
            self.timings["stop"] = time.monotonic() - start

    def __exit__(self, *exc) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------- the key scan


def key_needles(key_hex: str) -> dict[str, bytes]:
    """Every form in which the key, or the HMAC blocks that are equivalent to it, could be written: raw bytes
    (as in a pickle), hex in either case, and base64 at each of the three byte alignments (as protobuf JSON
    and some logs encode bytes)."""
    key = CaseKey(bytes.fromhex(key_hex))
    secrets = {"key": bytes.fromhex(key_hex), "inner block": key._inner_block, "outer block": key._outer_block}
    needles = {}
    for name, secret in secrets.items():
        needles[f"{name} raw"] = secret
        needles[f"{name} hex"] = secret.hex().encode()
        needles[f"{name} HEX"] = secret.hex().upper().encode()
        for shift in range(3):
            # The characters that only depend on the secret's own bytes, whatever precedes and follows it.
            encoded = base64.b64encode(bytes(shift) + secret)
            needles[f"{name} base64+{shift}"] = encoded[4:-4] if shift else encoded[:-4]
    return needles


def readable(path: Path) -> Iterator[tuple[str, bytes]]:
    """A file's bytes, and for a zstd event log (Spark 4's default) its decompressed bytes too, each named.
    Nothing for a file Spark deleted after it was listed (a worker removes a finished application's scratch
    in the background): a deleted file is no longer a record, and an open one is read whole even if unlinked."""
    try:
        with path.open("rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return
    yield str(path), data
    if path.suffix == ".zstd":
        stream = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
        yield f"{path} (decompressed)", stream.read()


def files_under(*roots: Path) -> list[Path]:
    """Every file under `roots`; os.walk, unlike rglob, passes over a directory Spark removes mid-walk."""
    return sorted(Path(top) / name for root in roots for top, _, names in os.walk(root) for name in names
                  if (Path(top) / name).is_file())


def find_needles(blobs: Iterable[tuple[str, bytes]], needles: dict[str, bytes]) -> list[str]:
    """'where: which form' for each needle found in each named blob."""
    return [f"{where}: {name}" for where, data in blobs for name, needle in needles.items() if needle in data]


def file_blobs(*roots: Path) -> Iterator[tuple[str, bytes]]:
    for path in files_under(*roots):
        yield from readable(path)


def arrow_column(values: list, dtype: pa.DataType) -> pa.Table:
    """The table a test sends to Spark: a row number `i` to restore order, and the values as `v`."""
    return pa.table({"i": pa.array(range(len(values)), pa.int64()), "v": pa.array(values, dtype)})


def assert_same_case(local: Path, spark: Path, *, ingest_engines: tuple[str, str] = ("local", "spark"),
                     required: tuple[str, ...] = ()) -> None:
    """Every case file of the two engines byte-identical, but the custody log (wall-clock times, argv, the engine)
    and ingest.json's engine name, which must be `ingest_engines`; `required` names files both must hold."""
    names = sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(spark)) for p in spark.rglob("*") if p.is_file())
    assert set(required) <= set(names)
    for name in names:
        if name == "custody.jsonl":
            continue
        if name == "ingest.json":
            here, there = (json.loads((root / name).read_bytes()) for root in (local, spark))
            assert (here.pop("engine"), there.pop("engine")) == ingest_engines
            assert here == there
            continue
        assert (local / name).read_bytes() == (spark / name).read_bytes(), name


# ---------------------------------------------------------------------------------------------- dirty logs

SINCE = datetime(2026, 4, 22, tzinfo=timezone.utc)
_TEXT = {
    "request_id": ["r1", "r2", "r3", "r4", "r5", "", " ", None],
    "account_id": ["acct1", "acct1 ", "ａcct1", "acct2", "acct3", "", None],
    "ip": ["198.51.100.7", "198.51.100.8", "2001:db8::1", "010.1.2.3", "not-an-ip", None],
    "prompt": ["Order 7 please. Think step by step.", "order 8  PLEASE. think step by step.", "hi", "", None],
    "model": ["m-large", "m-small", None],
}
DIRTY_ROW = st.fixed_dictionaries(
    {
        **{column: st.sampled_from(values) for column, values in _TEXT.items()},
        "offset_min": st.one_of(st.none(), st.integers(-90, 3 * 24 * 60)),  # before, inside and after the window
        "garbage": st.booleans(),
        "asn": st.one_of(st.none(), st.sampled_from([64500, 13335, -1, 2**33])),
        "tokens": st.one_of(st.none(), st.sampled_from([0, 17, 900, -5])),
    }
)
FIXED_ROWS = [
    {"request_id": rid, "account_id": acct, "ip": ip, "prompt": prompt, "model": "m-large", "offset_min": minute,
     "garbage": minute == 33, "asn": asn, "tokens": tokens}
    for rid, acct, ip, prompt, minute, asn, tokens in [
        ("r1", "acct1", "198.51.100.7", "Order 7 please", 5, 64500, 10),
        ("r1", "acct1", "198.51.100.7", "Order 7 please", 4, 64500, 10),  # a duplicate, earlier
        ("r2", "acct1 ", "2001:db8::1", "hi", 6, -1, 3),
        ("r3", None, "198.51.100.8", "hi", 7, 13335, 3),
        ("r4", "acct2", "198.51.100.7", None, 8, 13335, -5),
        ("r8", "acct2", "not-an-ip", "hi", 9, 13335, 1),
        ("r5", "ａcct1", "010.1.2.3", "Order 8 please", 33, None, None),
        ("r6", "ａcct1", None, "", 60 * 30, 64500, 2),  # a lookalike of acct1
        ("r7", "acct3", "198.51.100.9", "x", 60 * 60, 64500, 2),  # outside the window
        (" ", "acct3", "198.51.100.9", "x", 61, 64500, 2),
        ("r9", "acct3", "198.51.100.9", "x", None, 64500, 2),
    ]
]


def write_dirty_logs(directory: Path, files: list[list[dict]], timestamp_types: list[str]) -> None:
    """One Parquet file per row list; its timestamp column is text, timestamp[us, UTC] or epoch seconds."""
    directory.mkdir(parents=True, exist_ok=True)
    for number, (rows, kind) in enumerate(zip(files, timestamp_types)):
        moments = [None if r["offset_min"] is None else SINCE + timedelta(minutes=r["offset_min"]) for r in rows]
        if kind == "string":
            stamps = pa.array(
                [None if m is None else ("not a time" if r["garbage"] else m.isoformat()) for r, m in zip(rows, moments)],
                pa.string(),
            )
        elif kind == "timestamp":
            stamps = pa.array(moments, pa.timestamp("us", "UTC"))
        else:
            stamps = pa.array([None if m is None else int(m.timestamp()) for m in moments], pa.int64())
        table = pa.table(
            {
                **{column: pa.array([r[column] for r in rows], pa.string()) for column in _TEXT},
                "timestamp": stamps,
                "asn": pa.array([r["asn"] for r in rows], pa.int64()),
                "input_tokens": pa.array([r["tokens"] for r in rows], pa.int64()),
            }
        )
        pq.write_table(table, directory / f"part-{number}.parquet")


# ---------------------------------------------------------------------------------------------- small incidents

_PROMPTS = [f"Solve problem {n}. Show your reasoning step by step." for n in range(5)] + ["hi", "Translate: good day", ""]
EXTRA_ROW = st.fixed_dictionaries({
    "account": st.integers(0, 11),
    "ip": st.integers(0, 5),
    "prompt": st.one_of(st.none(), st.sampled_from(_PROMPTS)),
    "minute": st.integers(0, 36 * 60),
    "second": st.integers(0, 59),
    "model": st.sampled_from(["m-large", "m-small", "m-new", None]),
    "asn": st.sampled_from([None, 64500, 13335]),
    "tokens": st.one_of(st.none(), st.integers(0, 5000)),
    "agent": st.sampled_from(["curl/8", "Mozilla/5.0", None]),
})
# A crew: accounts 0-3 share two addresses and send the numbered prompts within seconds of each other.
_CREW = [
    {"account": a, "ip": a % 2, "prompt": _PROMPTS[n % 5], "minute": 30 * n, "second": a, "model": "m-large",
     "asn": 64500, "tokens": 900, "agent": "curl/8"}
    for n in range(24) for a in range(4)
]


def write_crew_logs(directory: Path, rows: list[dict]) -> None:
    """Two Parquet files of the crew's rows and `rows` (of EXTRA_ROW) after them."""
    rows = _CREW + rows
    directory.mkdir(parents=True)
    half = len(rows) // 2
    for number, part in enumerate((rows[:half], rows[half:])):
        table = pa.table({
            "request_id": pa.array([f"r{number}-{i}" for i in range(len(part))]),
            "account_id": pa.array([f"acct-{r['account']}" for r in part]),
            "timestamp": pa.array([SINCE + timedelta(minutes=r["minute"], seconds=r["second"]) for r in part],
                                  pa.timestamp("us", "UTC")),
            "ip": pa.array([f"203.0.113.{r['ip']}" for r in part]),
            "asn": pa.array([r["asn"] for r in part], pa.int64()),
            "prompt": pa.array([r["prompt"] for r in part], pa.string()),
            "model": pa.array([r["model"] for r in part], pa.string()),
            "input_tokens": pa.array([r["tokens"] for r in part], pa.int64()),
            "output_tokens": pa.array([None if r["tokens"] is None else 3 * r["tokens"] for r in part], pa.int64()),
            "user_agent": pa.array([r["agent"] for r in part], pa.string()),
        })
        pq.write_table(table, directory / f"part-{number}.parquet")


CLUSTER_OUTPUTS = ("features.parquet", "edges.parquet", "clusters.parquet", "timeline_daily.parquet",
                   "timeline_hourly.parquet", "graph.graphml", "clusters.json")


def assert_same_cluster_outputs(local: Path, spark: Path) -> None:
    """Two cases ingested by the local engine and clustered on two engines: every file the same but the custody log."""
    assert_same_case(local, spark, ingest_engines=("local", "local"), required=CLUSTER_OUTPUTS)


def assert_cluster_matches_local(session, work: Path, key_hex: str) -> None:
    """Ingest the crew's incident locally under `key_hex`, cluster it on both engines (on `session` for Spark) and
    compare the case files."""
    import shutil

    from forensics.detect.run import run_cluster
    from forensics.ingest import IngestOptions, run_ingest
    from forensics.params import ClusterParams

    from conftest import write_key

    write_crew_logs(work / "logs", [])
    options = IngestOptions(key_file=write_key(work / "case.key", key_hex), since=SINCE.isoformat())
    run_ingest([str(work / "logs")], work / "local", options)
    shutil.copytree(work / "local", work / "spark")
    params = ClusterParams(min_cluster_size=2, min_samples=2, min_flag_accounts=2, behaviour_min_requests=5)
    expected = run_cluster(work / "local", params)
    assert expected["edges"] > 0 and expected["clusters"] >= 1
    assert run_cluster(work / "spark", params, session=session, groups=3) == expected
    assert_same_cluster_outputs(work / "local", work / "spark")


def viewfs_mount(directory: Path) -> list[str]:
    """The --spark-conf items that make `directory` VIEWFS_LOGS: a Hadoop file system that only Spark reads
    (Python cannot open a viewfs:// URI), standing in for s3a://, abfss:// or hdfs://, none of which runs here.
    Uncached, since one JVM serves every session of a test process and would keep an earlier module's mount."""
    return [
        f"spark.hadoop.fs.viewfs.mounttable.forensics.link./logs={directory.as_uri()}",
        "spark.hadoop.fs.viewfs.impl.disable.cache=true",
    ]


VIEWFS_LOGS = "viewfs://forensics/logs"


def assert_ingest_matches_local(session, work: Path, key_hex: str, timestamp_types: list[str],
                                mounted: Path | None = None) -> None:
    """Ingest the fixed dirty logs (two files, their timestamps of `timestamp_types`) on both engines under
    `key_hex`, on `session` for Spark, and compare the case files. With `mounted` (the directory the session
    sees as VIEWFS_LOGS), the logs are written there and Spark reads them by their viewfs:// URI."""
    from forensics.ingest import IngestOptions, run_ingest

    from conftest import write_key

    logs = work / "logs" if mounted is None else mounted / work.name
    write_dirty_logs(logs, [FIXED_ROWS, FIXED_ROWS[:4]], timestamp_types)
    options = {"key_file": write_key(work / "case.key", key_hex), "since": SINCE.isoformat()}
    _, told = warned(run_ingest, [str(logs)], work / "local", IngestOptions(**options))
    spark_logs = str(logs) if mounted is None else f"{VIEWFS_LOGS}/{work.name}"
    _, told_spark = warned(run_ingest, [spark_logs], work / "spark", IngestOptions(engine="spark", **options),
                           session=session)
    assert told_spark == told and told[0].startswith("1 groups of account IDs")
    assert_same_case(work / "local", work / "spark")


def warned(fn, *args, **kwargs) -> tuple:
    """`fn`'s result and the messages of the ForensicsWarnings it gave (a run's warnings are part of its output)."""
    import warnings

    from forensics.errors import ForensicsWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ForensicsWarning)
        result = fn(*args, **kwargs)
    return result, [str(w.message) for w in caught if issubclass(w.category, ForensicsWarning)]
