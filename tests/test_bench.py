"""CI runs the benchmark script at tiny scale: it must produce its tables, never assert timings."""

from __future__ import annotations

import os
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
    # Ingest and end to end against both floors, and the share of ingest spent hashing.
    assert "| tiny | floor-4col |" in out and "x 4-column floor" in out
    assert re.search(r"\| ingest / floor \| [0-9.]+x \| [0-9.]+x \|", out)
    assert re.search(r"\| end to end / floor \| [0-9.]+x \| [0-9.]+x \|", out)
    assert re.search(r"of which hashing [0-9.]+ s \([0-9]+% of ingest's wall time\)", out)
    assert re.search(r"ingest used [0-9.]+ CPU s \([0-9.]+ cores busy\), of which [0-9.]+ s in the kernel, "
                     r"for [0-9,]+ page faults and [0-9,]+ MiB written", out)
    assert re.search(r"\| tiny \| ingest \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9,]+ \| [0-9,]+ \| [0-9,]+ \|", out)
    assert re.search(r"\| tiny \| ingest \|[^\n]*hashing [0-9.]+ s \(HMAC [0-9.]+, prompt shapes with MinHash [0-9.]+\)", out)
    # The keyed-hashing micro-benchmark: the way ingest hashed before issue 19, the fallback and libcrypto.
    for method in ("Python hmac, one value at a time", "polars-hash, SHA-256 twice", "libcrypto from the key's midstates"):
        assert re.search(rf"\| {re.escape(method)}[^|]*\| [0-9]+\.[0-9]+ \|", out), method
    assert "## Scaling" in out and "## Co-action against coordination-network-toolkit" in out
    assert "True" in out.split("## Co-action")[1].split("## Detection")[0]  # identical edges
    assert "## Detection quality" in out and "precision" in out
    assert (tmp_path / "results.json").is_file()


def test_instrumented_runs_keep_the_commands_process_settings(tmp_path):
    """bench/instrumented.py imports the modules it wraps before running the command: it must apply the CLI's
    process settings first, or the bench would measure cluster with numpy's huge-page advice on, unlike users."""
    code = (
        "import sys; sys.path.insert(0, 'bench'); import instrumented; "
        f"rc = instrumented.main([{str(tmp_path / 't.json')!r}, 'cluster', {str(tmp_path / 'missing')!r}, '--quiet']); "
        "import numpy._core.multiarray as m; print(rc, m._get_madvise_hugepage())"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True, env=env)
    code_, advice = out.stdout.split()[-2:]
    assert code_ != "0" and advice == "False"
