"""Hostile and broken inputs: each gets a clean one-line error (exit 2) or is accepted with bad rows quarantined."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics.cli import main
from forensics.keys import load_key
from tests.conftest import REPO, TEST_KEY_HEX, tree_bytes

T0 = datetime(2026, 5, 1, tzinfo=timezone.utc)


def table(n: int = 5, **overrides) -> dict:
    columns = {
        "request_id": [f"r{i}" for i in range(n)],
        "timestamp": pa.array([T0 + timedelta(minutes=i) for i in range(n)], pa.timestamp("us", "UTC")),
        "account_id": [f"acct_{i % 3}" for i in range(n)],
        "ip": [f"198.51.100.{i}" for i in range(n)],
        "input_tokens": list(range(n)),
        "prompt": [f"prompt {i}" for i in range(n)],
    }
    columns.update(overrides)
    return columns


def write(path: Path, columns: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return path


def _raw_identities(logs: tuple) -> set[bytes]:
    """Every raw account ID and IP in the inputs that is long enough to be found by a byte search."""
    found: set[bytes] = set()
    for arg in logs:
        root = Path(arg)
        paths = [root] if root.is_file() else sorted(root.rglob("*.parquet")) if root.is_dir() else []
        for path in paths:
            try:  # the two columns only: a third of the time per file, which counts with ten thousand files
                with pq.ParquetFile(path) as parquet:
                    present = [name for name in ("account_id", "ip") if name in parquet.schema_arrow.names]
                    columns = parquet.read(columns=present).to_pydict()
            except Exception:  # unreadable inputs are refused anyway
                continue
            for name in ("account_id", "ip"):
                for value in columns.get(name, []):
                    text = value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else value
                    if isinstance(text, str) and len(text.strip()) >= 6:
                        found.add(text.encode("utf-8", "surrogatepass"))
    return found


def assert_no_raw_identities(case: Path, logs: tuple) -> None:
    needles = _raw_identities(logs)
    for path in case.rglob("*"):
        if path.is_file() and path.name not in ("quarantine.parquet",):
            blob = path.read_bytes()
            leaked = [n for n in needles if n in blob]
            assert not leaked, (path.name, leaked[:3])


def run(capsys, key_file: Path, case: Path, *logs, extra: tuple = ()) -> tuple[int, str, dict | None]:
    code = main(["ingest", *map(str, logs), "--case", str(case), "--key-file", str(key_file), "--json", *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    summary = json.loads(out) if code == 0 else None
    if summary is not None:
        assert_no_raw_identities(case, logs)
        assert summary["rows_read"] == summary["rows_accepted"] + summary["rows_quarantined"]
        for record in summary["inputs"]:
            assert record["rows"] == record["rows_accepted"] + record["rows_quarantined"]
        assert sum(summary["quarantine_reasons"].values()) == summary["rows_quarantined"]
    else:
        assert code == 2 and err.count("\n") == 1 and err.startswith("error: "), err
    tally = os.environ.get("FORENSICS_CORPUS_TALLY")  # optional: a JSON-lines record per case, for the issue note
    if tally:
        with open(tally, "a") as handle:
            handle.write(json.dumps({"exit": code, "quarantined": summary["rows_quarantined"] if summary else 0}) + "\n")
    return code, err, summary


# --------------------------------------------------------------------------------------------- files


def test_zero_rows_file_is_accepted(tmp_path, key_file, capsys):
    logs = write(tmp_path / "logs" / "empty.parquet", {k: v[:0] for k, v in table().items()})
    code, _, summary = run(capsys, key_file, tmp_path / "case", logs)
    assert code == 0 and summary["rows_read"] == 0 and summary["accounts"] == 0


def test_schema_drift_between_files(tmp_path, key_file, capsys):
    a = write(tmp_path / "logs" / "a.parquet", table())
    b = write(
        tmp_path / "logs" / "b.parquet",
        table(request_id=[f"s{i}" for i in range(5)], input_tokens=["1", "2", "x", "4", None],
              timestamp=[f"2026-05-01T0{i}:00:00+02:00" for i in range(5)]),
    )
    code, _, summary = run(capsys, key_file, tmp_path / "case", a, b)
    assert code == 0 and summary["rows_accepted"] == 9
    assert summary["quarantine_reasons"] == {"invalid_token_count": 1}


@pytest.mark.parametrize(
    "override, expected",
    [
        ({"input_tokens": [1.0, float("nan"), -3.0, 2.5, 1e300]}, {"invalid_token_count": 4}),
        ({"input_tokens": pa.array([0, 1, 2**63, 2**64 - 1, 5], pa.uint64())}, {"invalid_token_count": 2}),
        ({"input_tokens": [-1, 0, 1, -(2**63), 2]}, {"invalid_token_count": 2}),
        ({"ip": ["::1", "::ffff:198.51.100.1", "2001:db8::1", "300.1.1.1", "garbage"]}, {"invalid_ip": 2}),
        ({"ip": pa.nulls(5, pa.string()), "prompt": pa.nulls(5)}, {}),
        ({"account_id": pa.nulls(5)}, {"missing_account_id": 5}),
        ({"timestamp": ["2026-05-01T00:00:00Z", "2026-05-01T03:00:00+03:00", "2026-04-30T20:00:00-04:00",
                        "2026-05-01 00:00:00", "2026-05-01"]}, {"duplicate_request_id": 0}),
    ],
    ids=["float-tokens", "uint64-overflow", "negative-tokens", "ip-forms", "all-null-optional", "all-null-account",
         "mixed-time-zones"],
)
def test_value_faults_are_quarantined(tmp_path, key_file, capsys, override, expected):
    logs = write(tmp_path / "logs" / "v.parquet", table(**override))
    code, _, summary = run(capsys, key_file, tmp_path / "case", logs)
    assert code == 0
    assert summary["quarantine_reasons"] == {k: v for k, v in expected.items() if v}


def test_mixed_time_zones_agree(tmp_path, key_file, capsys):
    logs = write(
        tmp_path / "logs" / "tz.parquet",
        table(timestamp=["2026-05-01T04:00:00Z", "2026-05-01T07:00:00+03:00", "2026-05-01T00:00:00-04:00",
                         "2026-05-01 04:00:00", "2026-05-01T04:00:00.000000z"]),
    )
    assert run(capsys, key_file, tmp_path / "case", logs)[0] == 0
    stamps = pl.read_parquet(tmp_path / "case" / "events" / "*.parquet")["timestamp"].unique().to_list()
    assert stamps == [datetime(2026, 5, 1, 4, tzinfo=timezone.utc)]


def test_ipv4_mapped_ipv6_is_the_ipv4_address(tmp_path, key_file, capsys):
    logs = write(tmp_path / "logs" / "ip.parquet", table(ip=["198.51.100.7", "::ffff:198.51.100.7"] + ["::1"] * 3))
    run(capsys, key_file, tmp_path / "case", logs)
    frame = pl.read_parquet(tmp_path / "case" / "events" / "*.parquet").sort("request_id")
    key = load_key(key_file)
    assert frame["ip_pseudonym"][:2].to_list() == [key.pseudonym("ip", "198.51.100.7")] * 2
    assert frame["net_pseudonym"][2] == key.pseudonym("net", "::/48")


@pytest.mark.parametrize(
    "stamps, unit, reasons",
    [
        ([0, -1, 253402300799, 2**62, -(2**62)], "s", {"implausible_timestamp": 5}),
        ([1777636800, 0, 1777636800, 1777636800, 1777636800], "s", {"implausible_timestamp": 1}),
        ([2**63 - 1, -(2**63), 0, 1, 2], "us", {"implausible_timestamp": 5}),
    ],
)
def test_epoch_and_datetime_limits(tmp_path, key_file, capsys, stamps, unit, reasons):
    logs = write(tmp_path / "logs" / "e.parquet", table(timestamp=stamps, request_id=[f"e{i}" for i in range(5)]))
    code, _, summary = run(capsys, key_file, tmp_path / "case", logs, extra=("--epoch-unit", unit))
    assert code == 0 and summary["quarantine_reasons"] == reasons


def test_parquet_timestamps_at_type_limits(tmp_path, key_file, capsys):
    extremes = pa.array([datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59), datetime(1970, 1, 1),
                         datetime(2026, 5, 1), datetime(2262, 4, 11)], pa.timestamp("s"))
    logs = write(tmp_path / "logs" / "lim.parquet", table(timestamp=extremes))
    code, _, summary = run(capsys, key_file, tmp_path / "case", logs)
    assert code == 0 and summary["quarantine_reasons"] == {"implausible_timestamp": 4}


def test_milliseconds_without_unit_is_detected(tmp_path, key_file, capsys):
    logs = write(tmp_path / "logs" / "ms.parquet", table(timestamp=[1777636800000 + i for i in range(5)]))
    code, err, _ = run(capsys, key_file, tmp_path / "case", logs)
    assert code == 2 and "ms.parquet" in err and "--epoch-unit ms" in err


def test_ten_megabyte_prompt(tmp_path, key_file, capsys):
    huge = "step by step " * 800_000  # 10.4 MB
    logs = write(tmp_path / "logs" / "big.parquet", table(prompt=[huge, "a", "b", "c", "d"]))
    code, _, summary = run(capsys, key_file, tmp_path / "case", logs)
    assert code == 0 and summary["rows_accepted"] == 5
    frame = pl.read_parquet(tmp_path / "case" / "events" / "*.parquet").sort("request_id")
    assert frame["prompt_chars"][0] == len(huge) and frame["prompt_reasoning"][0]


def test_non_utf8_bytes_stay_distinct(tmp_path, key_file, capsys):
    ids = pa.array([b"acct\xff", b"acct\xfe", b"acct\xff", b"ok", b"\xc3\xa9t\xc3\xa9"], pa.binary())
    logs = write(tmp_path / "logs" / "bin.parquet", table(account_id=ids, prompt=pa.array([b"\xff\xfe"] * 5)))
    code, _, summary = run(capsys, key_file, tmp_path / "case", logs)
    assert code == 0 and summary["accounts"] == 4
    frame = pl.read_parquet(tmp_path / "case" / "events" / "*.parquet")
    assert load_key(key_file).pseudonym("account", "été") in frame["account_pseudonym"].to_list()


def test_lookalike_account_ids_are_reported_not_merged(tmp_path, key_file, capsys):
    ids = ["caf\u00e9", "cafe\u0301", "bob", "bob ", "\uff42ob"]  # NFC vs NFD, trailing space, full-width b
    logs = write(tmp_path / "logs" / "u.parquet", table(account_id=ids))
    code, err, summary = run(capsys, key_file, tmp_path / "case", logs)
    assert code == 0 and summary["accounts"] == 5
    assert summary["account_id_lookalikes"]["groups"] == 2
    assert [len(g) for g in summary["account_id_lookalikes"]["pseudonyms"]] in ([2, 3], [3, 2])
    assert "kept as separate accounts" in err


def test_duplicates_within_and_across_files(tmp_path, key_file, capsys):
    a = write(tmp_path / "logs" / "a.parquet", table(request_id=["x", "x", "y", "z", "w"]))
    b = write(tmp_path / "logs" / "b.parquet", table(request_id=["y", "q1", "q2", "q3", "q4"], prompt=["other"] * 5))
    code, _, summary = run(capsys, key_file, tmp_path / "case", a, b)
    assert code == 0 and summary["quarantine_reasons"] == {"duplicate_request_id": 2}


# --------------------------------------------------------------------------------------------- sizes and paths


def test_ten_thousand_tiny_files(tmp_path, key_file, capsys):
    directory = tmp_path / "many"
    directory.mkdir()
    template = pa.table(table(n=1))
    for i in range(10_000):
        pq.write_table(template.set_column(0, "request_id", pa.array([f"t{i}"])), directory / f"p{i:05d}.parquet")
    code, _, summary = run(capsys, key_file, tmp_path / "case", directory)
    assert code == 0 and summary["rows_accepted"] == 10_000 and len(summary["inputs"]) == 10_000


def test_directory_with_other_files_symlink_loop_and_odd_names(tmp_path, key_file, capsys):
    root = tmp_path / "dir with spaces ünï"
    write(root / "sub dir" / "läuft 1.parquet", table())
    write(root / "date=2026-05-01" / "part.parquet", table(request_id=[f"h{i}" for i in range(5)]))
    (root / "README.txt").write_text("not data")
    (root / "sub dir" / "notes.csv").write_text("a,b\n")
    (root / "sub dir" / "loop").symlink_to(root, target_is_directory=True)
    code, _, summary = run(capsys, key_file, tmp_path / "case é", root)
    assert code == 0 and summary["rows_accepted"] == 10
    assert summary["skipped_files"] == ["README.txt", "sub dir/notes.csv"]
    assert sorted(i["path"] for i in summary["inputs"]) == ["date=2026-05-01/part.parquet", "sub dir/läuft 1.parquet"]
    assert "date" in summary["ignored_columns"]


def test_glob_inputs(tmp_path, key_file, capsys):
    write(tmp_path / "logs" / "2026" / "a.parquet", table())
    write(tmp_path / "logs" / "2026" / "b.parquet", table(request_id=[f"b{i}" for i in range(5)]))
    code, _, summary = run(capsys, key_file, tmp_path / "case", str(tmp_path / "logs" / "**" / "*.parquet"))
    assert code == 0 and [i["path"] for i in summary["inputs"]] == ["2026/a.parquet", "2026/b.parquet"]


# --------------------------------------------------------------------------------------------- fuzz


MUTATIONS = ["null", "to_string", "to_int", "to_float", "garbage", "drop", "keep"]


def _mutate(name: str, values: list, how: str, n: int):
    if how == "null":
        return pa.nulls(n, pa.string())
    if how == "to_string":
        return pa.array([None if v is None else str(v) for v in values], pa.string())
    if how == "to_int":
        return pa.array([i * 7919 - 3 for i in range(n)], pa.int64())
    if how == "to_float":
        return pa.array([float("nan") if i % 3 == 0 else i * 1.5 for i in range(n)], pa.float64())
    if how == "garbage":
        return pa.array(["\x00\ufffd" + "x" * (i % 4) for i in range(n)], pa.string())
    return values


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plan=st.dictionaries(
        st.sampled_from(["request_id", "timestamp", "account_id", "ip", "input_tokens", "prompt"]),
        st.sampled_from(MUTATIONS),
    ),
    n=st.integers(0, 12),
)
def test_fuzz_mutated_inputs_never_crash(tmp_path_factory, capsys, plan, n):
    tmp = tmp_path_factory.mktemp("fuzz")
    key = tmp / "k"
    key.write_text(TEST_KEY_HEX)
    key.chmod(0o600)
    base = table(n=n)
    columns = {}
    for name, values in base.items():
        how = plan.get(name, "keep")
        if how == "drop":
            continue
        columns[name] = _mutate(name, values if isinstance(values, list) else values.to_pylist(), how, n)
    path = write(tmp / "logs" / "f.parquet", columns)
    code, err, summary = run(capsys, key, tmp / "case", path)
    if code == 0:
        assert summary["rows_read"] == n
    else:
        assert "f.parquet" in err


# --------------------------------------------------------------------------------------------- interruption


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "forensics.cli", *args]


def _big_logs(directory: Path, files: int = 6, rows: int = 40_000) -> Path:
    for f in range(files):
        base = T0 + timedelta(days=f)
        write(
            directory / f"part{f}.parquet",
            {
                "request_id": [f"{f}-{i}" for i in range(rows)],
                "timestamp": pa.array([base + timedelta(seconds=2 * i) for i in range(rows)], pa.timestamp("us", "UTC")),
                "account_id": [f"acct_{i % 997}" for i in range(rows)],
                "ip": [f"203.0.{i % 200}.{i % 251}" for i in range(rows)],
                "prompt": [f"explain item {i % 5000} step by step" for i in range(rows)],
            },
        )
    return directory


def test_sigkill_during_ingest_leaves_no_partial_case_and_rerun_matches(tmp_path, key_file):
    logs = _big_logs(tmp_path / "logs")
    reference = tmp_path / "reference"
    assert subprocess.run(_cli("ingest", str(logs), "--case", str(reference), "--key-file", str(key_file), "-q"),
                          cwd=REPO).returncode == 0
    expected = tree_bytes(reference)
    case = tmp_path / "case"
    for delay in (0.3, 1.0, 2.0, 3.5):
        proc = subprocess.Popen(_cli("ingest", str(logs), "--case", str(case), "--key-file", str(key_file), "-q"),
                                cwd=REPO)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if case.exists():  # either absent or a complete earlier run, never partial
            assert tree_bytes(case) == expected
    assert subprocess.run(_cli("ingest", str(logs), "--case", str(case), "--key-file", str(key_file), "-q"),
                          cwd=REPO).returncode == 0
    assert tree_bytes(case) == expected
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name or ".old-" in p.name]


def test_concurrent_ingest_into_one_case_fails_clearly(tmp_path, key_file):
    logs = _big_logs(tmp_path / "logs", files=3)
    case = tmp_path / "case"
    first = subprocess.Popen(_cli("ingest", str(logs), "--case", str(case), "--key-file", str(key_file), "-q"),
                             cwd=REPO, stderr=subprocess.PIPE, text=True)
    time.sleep(1.2)
    second = subprocess.run(_cli("ingest", str(logs), "--case", str(case), "--key-file", str(key_file), "-q"),
                            cwd=REPO, capture_output=True, text=True)
    assert first.wait() == 0
    if second.returncode != 0:  # the usual case: the first still held the lock
        assert second.returncode == 2 and "another forensics process is writing this case" in second.stderr
    assert (case / "ingest.json").is_file()
    assert json.loads((case / "ingest.json").read_text())["rows_read"] == 3 * 40_000


# --------------------------------------------------------------------------------------------- keys


def test_key_never_appears_in_outputs_errors_or_debug_traces(tmp_path, key_file):
    logs = write(tmp_path / "logs" / "a.parquet", table())
    bad = tmp_path / "bad.parquet"
    bad.write_text("nope")
    runs = [
        subprocess.run(_cli("ingest", str(logs), "--case", str(tmp_path / "case"), "--key-file", str(key_file),
                            "--json", "--debug"), cwd=REPO, capture_output=True, text=True),
        subprocess.run(_cli("ingest", str(bad), "--case", str(tmp_path / "c2"), "--key-file", str(key_file),
                            "--debug"), cwd=REPO, capture_output=True, text=True),
    ]
    wrong = tmp_path / "wrong.key"
    wrong.write_text(TEST_KEY_HEX[:-2] + "zz")
    wrong.chmod(0o600)
    runs.append(subprocess.run(_cli("ingest", str(logs), "--case", str(tmp_path / "c3"), "--key-file", str(wrong),
                                    "--debug"), cwd=REPO, capture_output=True, text=True))
    for result in runs:
        assert TEST_KEY_HEX not in result.stdout + result.stderr
        assert TEST_KEY_HEX[:-2] not in result.stdout + result.stderr
    assert runs[2].returncode == 2 and "non-hex" in runs[2].stderr
    for path in (tmp_path / "case").rglob("*"):
        if path.is_file():
            assert TEST_KEY_HEX.encode() not in path.read_bytes()


def test_sigkill_during_cluster_and_report_then_rerun_matches(tmp_path, key_file):
    from forensics.synth import generate

    incident = tmp_path / "incident"
    generate(incident, scale="tiny", seed=3)
    case = tmp_path / "case"
    reference_case = tmp_path / "reference-case"
    ingest_cmd = _cli("ingest", str(incident / "logs"), "--accounts", str(incident / "accounts.parquet"),
                      "--key-file", str(key_file), "--case", str(case), "-q")
    assert subprocess.run(ingest_cmd, cwd=REPO).returncode == 0
    shutil.copytree(case, reference_case)  # what is compared below is what cluster and report make of one case
    assert subprocess.run(_cli("cluster", str(reference_case), "-q"), cwd=REPO).returncode == 0
    bundle_ref = tmp_path / "bundle-ref"
    assert subprocess.run(_cli("report", str(reference_case), "--out", str(bundle_ref), "-q"), cwd=REPO).returncode == 0
    cluster_files = ("features.parquet", "edges.parquet", "graph.graphml", "clusters.parquet", "clusters.json")
    expected_case = {name: (reference_case / name).read_bytes() for name in cluster_files}

    for delay in (0.5, 2.0, 4.0):
        proc = subprocess.Popen(_cli("cluster", str(case), "-q"), cwd=REPO)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # clusters.json is written last: when it is there, every cluster output is complete and final.
        if (case / "clusters.json").exists():
            assert {n: (case / n).read_bytes() for n in cluster_files} == expected_case
    assert subprocess.run(_cli("cluster", str(case), "-q"), cwd=REPO).returncode == 0
    assert {n: (case / n).read_bytes() for n in cluster_files} == expected_case

    bundle = tmp_path / "bundle"
    for delay in (0.5, 2.0, 4.0):
        proc = subprocess.Popen(_cli("report", str(case), "--out", str(bundle), "--force", "-q"), cwd=REPO)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if bundle.exists():
            assert tree_bytes(bundle) == tree_bytes(bundle_ref)
    assert subprocess.run(_cli("report", str(case), "--out", str(bundle), "--force", "-q"), cwd=REPO).returncode == 0
    assert tree_bytes(bundle) == tree_bytes(bundle_ref)
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name or ".old-" in p.name]


def test_kernels_compile_without_a_writable_cache_directory() -> None:
    # numba finds nowhere to keep compiled code (a read-only install and home): njit(cache=True) raises at import.
    script = (
        "import numpy as np\n"
        "from numba.core import caching\n"
        "caching.CacheImpl._locator_classes = []\n"
        "from forensics import libcrypto, radix\n"
        "from forensics.detect import blocking, facts\n"
        "from forensics.ingest import kernels\n"
        "print(type(kernels.xxh64._cache).__name__, type(blocking._ring_scan._cache).__name__, "
        "int(kernels.xxh64(np.frombuffer(b'abc', np.uint8), 0, 3, np.uint64(0))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["NullCache", "NullCache", str(0x44BC2CF5AD770999)]


def test_kernels_are_cached_where_numba_can_write() -> None:
    from forensics import libcrypto, radix
    from forensics.detect import blocking, facts
    from forensics.ingest import kernels

    kernels_ = [kernels.xxh64, kernels.prompt_shapes, kernels.normalise_ascii, blocking._ring_scan, facts._sum_account_runs,
                libcrypto._kernel, radix._radix]
    assert {type(k._cache).__name__ for k in kernels_} == {"FunctionCache"}
