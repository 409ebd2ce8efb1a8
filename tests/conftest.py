"""Shared fixtures: every path lives under tmp_path, every key is fixed, every dataset is small and seeded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TEST_KEY_HEX = "00112233445566778899aabbccddeeff" * 2
REPO = Path(__file__).resolve().parents[1]


@pytest.hookimpl(optionalhook=True)  # a hook of xdist's: ignored where xdist is not loaded
def pytest_xdist_make_scheduler(config, log):
    """Under `-n N` (xdist's `load` mode), every tests/test_spark_* test goes to one worker, which starts the JVMs,
    the standalone cluster and the Connect server once, and takes them first (the largest unit is scheduled first);
    the other tests are handed out one at a time, as `load` does. xdist's own `--dist loadgroup` cannot do this
    under pytest 9: it marks the group in `item._nodeid`, which pytest 9 no longer reads."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SparkTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "spark" if nodeid.startswith("tests/test_spark_") else nodeid

    return SparkTogether(config, log)


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


def real_pipeline(root: Path, *, seed: int, title: str, case_id: str) -> dict[str, Path]:
    """synth tiny -> ingest -> cluster -> report, in process, with the real stages."""
    from forensics.cluster import ClusterParams, run_cluster
    from forensics.ingest import IngestOptions, run_ingest
    from forensics.report import build_bundle
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
