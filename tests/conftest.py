"""Shared fixtures: every path lives under tmp_path, every key is fixed, every dataset is small and seeded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

TEST_KEY_HEX = "00112233445566778899aabbccddeeff" * 2
REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config) -> None:
    """Compile forensics/ to bytecode once, before the tests start the CLI and the benchmark scripts (some 140
    Python processes that import it): where PYTHONDONTWRITEBYTECODE is set, as on the VM the suite is measured on,
    each of them compiled the package again, 0.2 to 0.4 s of CPU. Python still checks each .pyc against its
    source, so an edited module is compiled afresh; the files go where Python puts them anyway (__pycache__,
    git-ignored)."""
    if not hasattr(config, "workerinput"):  # once, in the process that starts the xdist workers
        import compileall

        compileall.compile_dir(REPO / "forensics", quiet=2)


# What xdist hands out whole under `-n N`, first, in this order (longest first, so that no worker starts a long
# unit while the other is about to run out of work): every test whose node ID starts with one of a unit's prefixes.
# The Spark tests share JVMs, a standalone cluster and a Connect server. A module whose module- or session-scoped
# fixture runs the pipeline goes whole, so that the fixture is built once instead of once on each worker
# (`sample`: the two modules that read `sample_run`). The longest single tests follow. Every other test is handed
# out one at a time after these, in collection order, as xdist's `load` mode does.
UNITS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sample", ("tests/test_verify_md.py", "tests/test_sample_bundle.py")),
    ("spark", ("tests/test_spark_",)),
    ("verify", ("tests/test_verify.py",)),
    ("report", ("tests/test_report.py",)),
    ("cli", ("tests/test_cli.py",)),
    ("custody", ("tests/test_custody.py",)),
    ("kill-cluster-report", ("tests/test_hardening.py::test_sigkill_during_cluster_and_report",)),
    ("bench", ("tests/test_bench.py",)),
    ("reveal", ("tests/test_reveal.py",)),
    ("cluster", ("tests/test_cluster.py",)),
    ("many-files", ("tests/test_hardening.py::test_ten_thousand_tiny_files",)),
    ("pdf", ("tests/test_pdf.py",)),
    ("score", ("tests/test_score.py",)),
    ("peer", ("tests/test_peer.py",)),
    ("timesketch", ("tests/test_timesketch.py",)),
)


def scheduling_unit(nodeid: str) -> str:
    """The unit of UNITS a test belongs to, or its own node ID."""
    return next((name for name, prefixes in UNITS if nodeid.startswith(prefixes)), nodeid)


@pytest.hookimpl(optionalhook=True)  # a hook of xdist's: ignored where xdist is not loaded
def pytest_xdist_make_scheduler(config, log):
    """Under `-n N` (xdist's `load` mode), each unit of UNITS goes to one worker, the units first and in their
    order; the other tests are handed out one at a time, as `load` does. xdist's own `--dist loadgroup` cannot do
    this under pytest 9: it marks the group in `item._nodeid`, which pytest 9 no longer reads."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    rank = {name: i for i, (name, _) in enumerate(UNITS)}

    class Units(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scheduling_unit(nodeid)

        def _assign_work_unit(self, node) -> None:
            # xdist hands out the first unit of its queue: put the best-ranked there (min keeps the queue's order
            # among equals, so the other tests keep collection order).
            first = min(self.workqueue, key=lambda unit: rank.get(unit, len(UNITS)))
            self.workqueue.move_to_end(first, last=False)
            super()._assign_work_unit(node)

    return Units(config, log)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "case.key"
    path.write_text(TEST_KEY_HEX + "\n")
    path.chmod(0o600)
    return path


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess, as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "forensics.cli", *map(str, args)],
        capture_output=True, text=True, env=full_env, cwd=cwd or REPO, timeout=300,
    )


def tree_bytes(root: Path, *, with_custody: bool = False) -> dict[str, bytes]:
    """Relative path -> content of every file below root (for byte-identity checks).

    By the documented rule, the custody log (custody.jsonl, the one record of wall-clock time, user and host) is
    left out, with its line in a bundle's tag manifest, unless `with_custody`: two runs never write the same log.
    """
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    if not with_custody and files.pop("custody.jsonl", None) is not None and "tagmanifest-sha256.txt" in files:
        lines = files["tagmanifest-sha256.txt"].splitlines(keepends=True)
        files["tagmanifest-sha256.txt"] = b"".join(x for x in lines if not x.endswith(b"  custody.jsonl\n"))
    return files


def write_key(path: Path, key_hex: str = TEST_KEY_HEX) -> Path:
    path.write_text(key_hex + "\n")
    path.chmod(0o600)
    return path


_P1, _P2, _P3, _P4, _P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x85EBCA77C2B2AE63,
                           0x27D4EB2F165667C5)
_M64 = (1 << 64) - 1


def xxh64_reference(data: bytes, seed: int) -> int:
    """XXH64 from its specification (github.com/Cyan4973/xxHash, doc/xxhash_spec.md), independent of polars-hash."""
    rotl = lambda x, r: ((x << r) | (x >> (64 - r))) & _M64  # noqa: E731
    lane = lambda acc, v: (rotl((acc + v * _P2) & _M64, 31) * _P1) & _M64  # noqa: E731
    u64 = lambda i: int.from_bytes(data[i:i + 8], "little")  # noqa: E731
    n, i = len(data), 0
    if n >= 32:
        acc = [(seed + _P1 + _P2) & _M64, (seed + _P2) & _M64, seed, (seed - _P1) & _M64]
        while i + 32 <= n:
            acc = [lane(a, u64(i + 8 * k)) for k, a in enumerate(acc)]
            i += 32
        h = (rotl(acc[0], 1) + rotl(acc[1], 7) + rotl(acc[2], 12) + rotl(acc[3], 18)) & _M64
        for a in acc:
            h = (((h ^ lane(0, a)) * _P1) + _P4) & _M64
    else:
        h = (seed + _P5) & _M64
    h = (h + n) & _M64
    while i + 8 <= n:
        h = (rotl(h ^ lane(0, u64(i)), 27) * _P1 + _P4) & _M64
        i += 8
    if i + 4 <= n:
        h = (rotl(h ^ ((int.from_bytes(data[i:i + 4], "little") * _P1) & _M64), 23) * _P2 + _P3) & _M64
        i += 4
    for byte in data[i:]:
        h = (rotl(h ^ ((byte * _P5) & _M64), 11) * _P1) & _M64
    h = ((h ^ (h >> 33)) * _P2) & _M64
    h = ((h ^ (h >> 29)) * _P3) & _M64
    return h ^ (h >> 32)


def real_pipeline(root: Path, *, seed: int, title: str, case_id: str) -> dict[str, Path]:
    """synth tiny -> ingest -> cluster -> report, in process, with the real stages."""
    from forensics.bundle.run import build_bundle
    from forensics.detect.run import ClusterParams, run_cluster
    from forensics.ingest import IngestOptions, run_ingest
    from forensics.synth import generate

    key = write_key(root / "case.key")
    incident = root / "incident"
    generate(incident, scale="tiny", seed=seed)
    case = root / "case"
    run_ingest([str(incident / "logs")], case, IngestOptions(accounts=incident / "accounts.parquet", key_file=key))
    run_cluster(case, ClusterParams())
    bundle = root / "bundle"
    build_bundle(case, bundle, title=title, case_id=case_id, force=False)
    return {"root": root, "key": key, "incident": incident, "case": case, "bundle": bundle}


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The committed sample incident through the real CLI, as `make sample-bundle` runs it: built once and read by
    test_sample_bundle.py and test_verify_md.py (one scheduling unit, so one build in all). Its bundle is only
    read; a test that changes files works on a copy."""
    root = tmp_path_factory.mktemp("sample")
    key = root / "sample.key"
    shutil.copy(REPO / "sample_logs" / "sample.key", key)
    key.chmod(0o600)
    case, bundle = root / "case", root / "bundle"
    for step in (
        ("ingest", REPO / "sample_logs" / "logs", "--accounts", REPO / "sample_logs" / "accounts.parquet",
         "--key-file", key, "--case", case, "-q"),
        ("cluster", case, "-q"),
        ("report", case, "--out", bundle, "--case-id", "sample-incident", "-q"),
    ):
        done = run_cli(*step)
        assert done.returncode == 0, done.stderr
    return {"root": root, "key": key, "case": case, "bundle": bundle}


def occurring(needles: Iterable, haystack: str | bytes, *, prefix: int = 16) -> list:
    """`[n for n in needles if n in haystack]`, the same list, for thousands of needles in megabytes of text.

    A needle can occur only where a window of the haystack as long as its first `prefix` characters (or bytes)
    has the same polynomial hash (mod 2**64); the hashes of all windows of one length come from one pass over
    prefix sums. Only the needles whose hash is among them are searched for with `in`.
    """
    import numpy as np

    def codes(text: str | bytes) -> np.ndarray:
        if isinstance(text, bytes):
            return np.frombuffer(text, dtype=np.uint8).astype(np.uint64)
        return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.uint64)

    def powers(base: int, count: int) -> np.ndarray:  # base**0 .. base**count, mod 2**64
        return np.concatenate(([np.uint64(1)], np.cumprod(np.full(count, base, dtype=np.uint64))))

    needles, text = list(needles), codes(haystack)
    n, base = len(text), 1_000_003
    up, down = powers(base, n), powers(pow(base, -1, 2**64), n)
    sums = np.concatenate(([np.uint64(0)], np.cumsum(text * up[:n])))  # sums[i]: hash of text[:i]
    by_length: dict[int, list] = {}
    for needle in needles:
        by_length.setdefault(min(len(needle), prefix), []).append(needle)
    candidates = set(by_length.pop(0, []))  # the empty needle occurs everywhere
    for length, group in by_length.items():
        if length > n:
            continue
        wanted = np.array([int((codes(needle[:length]) * up[:length]).sum()) for needle in group], dtype=np.uint64)
        order = np.argsort(wanted)
        windows = (sums[length:] - sums[: n - length + 1]) * down[: n - length + 1]
        at = np.minimum(np.searchsorted(wanted[order], windows), len(group) - 1)
        seen = set(windows[wanted[order][at] == windows].tolist())
        candidates.update(needle for needle, value in zip(group, wanted.tolist()) if value in seen)
    return [needle for needle in needles if needle in candidates and needle in haystack]
