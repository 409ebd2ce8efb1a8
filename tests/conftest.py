"""Shared fixtures: every path lives under tmp_path, every key is fixed, every dataset is small and seeded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TEST_KEY_HEX = "00112233445566778899aabbccddeeff" * 2
REPO = Path(__file__).resolve().parents[1]


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


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Relative path -> content of every file below root (for byte-identity checks)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
