"""CI runs the benchmark script at tiny scale: it must produce its tables, never assert timings."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import REPO


def test_bench_smoke_prints_every_table(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--smoke", "--work", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for stage in ("| tiny | floor |", "| tiny | ingest |", "| tiny | cluster |", "cluster.hdbscan", "cluster.features",
                  "cluster.edges.coaction", "| tiny | report |", "| tiny | end-to-end |", "x floor"):
        assert stage in out, stage
    # Every cluster sub-step says what it handled (the "rows or accounts handled" column).
    for step, unit in (("codes", "accounts"), ("features", "accounts"), ("edges.coaction", "shared values"),
                       ("edges.template", "shared values"), ("edges.write", "edges"), ("graph", "pairs"),
                       ("hdbscan", "accounts"), ("links", "edges"), ("scoring", "clusters")):
        assert re.search(rf"\| tiny \|   cluster\.{re.escape(step)} \|[^\n]*\| [0-9,]+ [^\n]*{unit} \|", out), step
    assert "## Scaling" in out and "## Co-action against coordination-network-toolkit" in out
    assert "True" in out.split("## Co-action")[1].split("## Detection")[0]  # identical edges
    assert "## Detection quality" in out and "precision" in out
    assert (tmp_path / "results.json").is_file()
