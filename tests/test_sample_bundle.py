"""The committed example bundle must be exactly what the pipeline makes from the committed sample incident.

A change to any output therefore shows up as a failing test until `make sample-bundle` is run and the new
bundle is reviewed and committed.
"""

from __future__ import annotations

import shutil

from tests.conftest import REPO, run_cli, tree_bytes


def test_committed_sample_bundle_is_reproduced_byte_for_byte(tmp_path):
    key = tmp_path / "sample.key"
    shutil.copy(REPO / "sample_logs" / "sample.key", key)
    key.chmod(0o600)
    case, bundle = tmp_path / "case", tmp_path / "bundle"
    steps = [
        ("ingest", REPO / "sample_logs" / "logs", "--accounts", REPO / "sample_logs" / "accounts.parquet",
         "--key-file", key, "--case", case, "-q"),
        ("cluster", case, "-q"),
        ("report", case, "--out", bundle, "--case-id", "sample-incident", "-q"),
    ]
    for step in steps:
        result = run_cli(*step)
        assert result.returncode == 0, result.stderr
    committed = tree_bytes(REPO / "reports" / "sample")
    regenerated = tree_bytes(bundle)
    assert sorted(regenerated) == sorted(committed)
    differing = [name for name in committed if committed[name] != regenerated[name]]
    assert not differing, f"run `make sample-bundle` and review: {differing}"
