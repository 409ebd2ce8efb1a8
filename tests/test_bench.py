"""CI runs the benchmark script at tiny scale: it must produce its tables, never assert timings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import polars as pl

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
    # Where ingest's time went, phase by phase, and its hashing share before and after issue 19.
    for phase in ("reading record batches", "classifying rows", "deriving event columns", "of which prompt shapes",
                  "keyed hashing", "staging by day", "finding duplicate request IDs", "writing the sorted events files",
                  "main thread otherwise", "after the row passes", "start-up"):
        assert re.search(rf"\| *{re.escape(phase)}[^|]*\| [0-9]+\.[0-9]+ \| [0-9]+% \|", out), phase
    assert re.search(r"the two derive threads were busy [0-9]+% of the time", out)
    assert re.search(r"hashing share after issue 19 \(this run\): [0-9.]+ s summed over threads, [0-9]+% of the phases' "
                     r"thread time \(HMAC [0-9]+%, prompt shapes with MinHash [0-9]+%\), [0-9]+% of ingest's wall time", out)
    assert re.search(r"phases outside one another sum to [0-9.]+ s against [0-9.]+ CPU s", out)
    assert "hashing share before issue 19 (commit fe49ce5; py-spy" in out
    # The least any ingest writing the case files could take: reading every column and writing the events files.
    assert re.search(r"\| tiny \| floor-write \| [0-9.]+ \|[^\n]*\| [0-9,]+ events rows sorted and written \|", out)
    assert re.search(r"reading every column \(the all-columns floor\) takes [0-9.]+ CPU s and writing the sorted events "
                     r"files [0-9.]+ CPU s \([0-9.]+ s on its own\): on [0-9]+ cores any ingest writing these case files "
                     r"takes at least [0-9.]+ s, [0-9.]+x the 4-column floor", out)
    assert re.search(r"the target of 3x the 4-column floor allows [0-9.]+ s, leaving [0-9.]+ CPU s for everything else; "
                     r"this ingest spent [0-9.]+ s keying [0-9,]+ values and [0-9.]+ s on prompt shapes", out)
    assert re.search(r"the [0-9,]+ values this ingest hashed, one at a time by Python's hmac at this scale's [0-9.]+ s per "
                     r"million prompts, would take [0-9.]+ s; they took [0-9.]+ s", out)
    # The keyed-hashing micro-benchmark on this scale's prompts: ingest's way before issue 19, the fallback, libcrypto.
    for method in ("Python hmac, one value at a time", "polars-hash, SHA-256 twice", "libcrypto from the key's midstates"):
        assert re.search(rf"\| {re.escape(method)}[^|]*\| [0-9]+\.[0-9]+ \|", out), method
    # Every stage also ran on a held-out incident of bench/independent, another generator's tradecraft.
    for stage in ("floor", "floor-4col", "ingest", "cluster", "report", "end-to-end"):  # "generate" only when not cached
        assert re.search(rf"\| independent-B \| {stage} \| [0-9.]+ \|", out), stage
    assert re.search(r"\| independent-B \| ingest \|[^\n]*\| [0-9,]+ rows; hashing", out)
    assert re.search(r"\| method \| tiny \([0-9]+-byte prompts\) \| independent-B \([0-9]+-byte prompts\) \|", out)
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


def test_instrumented_ingest_times_every_phase(tmp_path):
    """Every phase bench/run.py prints is measured: a phase whose function was renamed or moved would be missing."""
    sys.path.insert(0, str(REPO / "bench"))
    import instrumented  # noqa: PLC0415

    timings = tmp_path / "t.json"
    code = (
        "import sys; sys.path.insert(0, 'bench'); import instrumented; "
        f"sys.exit(instrumented.main([{str(timings)!r}, 'ingest', 'sample_logs/logs', '--key-file', 'sample_logs/sample.key', "
        f"'--case', {str(tmp_path / 'case')!r}, '--quiet']))"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True)
    measured = json.loads(timings.read_text())
    phases = measured["phases"]
    assert set(phases) == set(instrumented.PHASES) | {"read", "ingest"}
    # The sample has no bad row: the quarantine records are the one phase it never enters.
    assert all(phases[name] > 0 for name in phases if name != "quarantine"), phases
    assert 0 < measured["shapes_minhash"] <= phases["derive"] <= 2 * phases["rows"]
    assert 0 < phases["read"] < phases["rows"] < phases["ingest"]
    # Every pseudonym ingest made went through the counted function: at least one per distinct account.
    accounts = pl.scan_parquet(tmp_path / "case" / "events" / "*.parquet").select(pl.col("account_pseudonym").n_unique()).collect().item()
    assert measured["hmac_values"] >= accounts > 0


def test_ingest_bound_spreads_the_read_and_write_floors_cpu_over_every_core():
    """The least ingest could take is the CPU of reading every column and of writing the events files over the
    machine's cores; the 3x target's allowance is set against it, and what is left for everything else."""
    sys.path.insert(0, str(REPO / "bench"))
    import run as bench_run  # noqa: PLC0415

    cores = os.cpu_count() or 1
    m = lambda stage, wall, cpu: bench_run.Measured(stage, "x", wall, cpu, 0.0, "")  # noqa: E731
    floor, floor4, write = m("floor", 20.0, 36.0), m("floor-4col", 15.0, 28.0), m("floor-write", 26.0, 50.0)
    ingest = m("ingest", 120.0, 230.0)
    text = bench_run.ingest_bound(floor, floor4, write, ingest, {"hmac": 25.0, "hmac_values": 1000, "shapes_minhash": 48.0})
    least = 86.0 / cores
    assert f"takes at least {least:.1f} s, {least / 15.0:.1f}x the 4-column floor" in text
    assert f"allows 45.0 s, leaving {max(45.0 - least, 0.0) * cores:.1f} CPU s for everything else" in text
    assert "spent 25.0 s keying 1,000 values and 48.0 s on prompt shapes" in text
