"""Held-out benchmark: the incidents of two generators nobody here wrote the detector with, run through ingest and
cluster at the default settings and scored against their labels.

A, B and C come from bench/independent/generate.py, written by someone who did not write the detector and imports
nothing from it; its tradecraft (bulk campaigns on small datacenter pools, a "hydra" campaign on a residential pool
shared with benign customers, low-and-slow accounts with no shared infrastructure, agentic shell organisations, a
mobile farm, aged taken-over accounts) and its benign populations (evaluation organisations, developers running the
same app template, mobile carriers) were never searched for a setting. But each incident's failures under an
earlier detector shaped the current one (`SHAPED_THE_DETECTOR`), so their figures are likely better than the
detector would do on an incident nobody here has seen. D comes from bench/independent_d/generate.py, written later
by another hand that never read the detector (short-lived accounts on rotating residential proxies, an aged
campaign behind a consumer VPN), and was measured before anything was changed for it. All of them are generated
data.

Usage:
    .venv/bin/python bench/independent.py                        # A to D; prints a table
    .venv/bin/python bench/independent.py --rows default,5000000 --results forensics/data/detection_quality.json
                                                                 # both sizes, recorded for the report
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from detection import KEY_HEX, _ingest, _key_file, evaluate, labelled_flags  # noqa: E402

from forensics.detect.run import ClusterParams, run_cluster  # noqa: E402
from forensics.keys import CaseKey  # noqa: E402

INCIDENTS = ("A", "B", "C", "D")
# The incidents whose failures under an earlier detector were known to its developers before the current signals
# were built, and shaped them: A and B (issue 17: recall 0.12-0.28, an evaluation organisation flagged), and C
# with B at 5M rows (campaigns hidden in merged groups; an app's users asking the same questions flagged once
# the groups were split). The report says so beside their figures.
SHAPED_THE_DETECTOR = frozenset({"A", "B", "C"})
# Incident D has a generator of its own (bench/independent_d), written on 2026-12-04 by a helper that was told not to
# read the detector, `synth` or the first generator; its figures were recorded before anything was changed for it.
GENERATORS = {
    **{name: (ROOT / "bench" / "independent" / "generate.py", ["--incident", name]) for name in ("A", "B", "C")},
    "D": (ROOT / "bench" / "independent_d" / "generate.py", []),
}


def generator_argv(incident: str, out: Path, seed: int = 7, rows: int | None = None) -> list[str]:
    """The command that generates held-out incident `incident` into `out` (at its default size, or about `rows`)."""
    script, args = GENERATORS[incident]
    size = [] if rows is None else ["--rows", str(rows)]
    return [sys.executable, str(script), *args, "--out", str(out), "--seed", str(seed), *size]


def run_incident(work: Path, incident: str, seed: int = 7, rows: int | None = None) -> dict:
    """Generate (once; cached in `work`), ingest, cluster at the defaults and score one incident, at the generator's
    default size or at about `rows` rows (the generator scales the population with the rows)."""
    out = work / (f"independent-{incident}-s{seed}" if rows is None else f"independent-{incident}-{rows}rows-s{seed}")
    if not (out / "labels.parquet").exists():
        subprocess.run(generator_argv(incident, out, seed, rows), check=True, cwd=ROOT)
    case = out / "case"
    t0 = time.perf_counter()
    if (case / "ingest.json").exists() and json.loads((case / "ingest.json").read_text())["key_fingerprint"] != \
            CaseKey(bytes.fromhex(KEY_HEX)).fingerprint:
        shutil.rmtree(case)  # a case ingested under another key: its pseudonyms match no label
    if not (case / "ingest.json").exists():
        _ingest(out, _key_file(work))
    run_cluster(case, ClusterParams())
    wall = time.perf_counter() - t0
    ev = evaluate(case, out / "labels.parquet", CaseKey(bytes.fromhex(KEY_HEX)))
    rows_read = json.loads((case / "ingest.json").read_text())["rows_read"]
    benign = _benign_flagged(case, out / "labels.parquet")
    return {
        "name": f"independent {incident}", "incident": incident, "seed": seed, "rows": rows_read,
        "accounts": ev["accounts"], "campaign_accounts": ev["attack_accounts"], "flagged": ev["flagged"],
        "true_positives": ev["true_positives"], "precision": round(ev["precision"], 4), "recall": round(ev["recall"], 4),
        "campaigns": {name: round(c["recall"], 4) for name, c in ev["campaigns"].items()},
        "benign_flagged": benign, "shaped_the_detector": incident in SHAPED_THE_DETECTOR, "wall_s": round(wall, 1),
    }


def _benign_flagged(case: Path, labels_path: Path) -> dict[str, int]:
    """Flagged accounts per labelled population that is not a campaign (hard negatives and ordinary users)."""
    import polars as pl

    joined = labelled_flags(case, labels_path, CaseKey(bytes.fromhex(KEY_HEX)))
    hits = joined.filter((pl.col("label") != "attack") & pl.col("flagged")).group_by("group").len().sort("group")
    return {str(g): int(n) for g, n in hits.iter_rows()}


def format_table(results: list[dict]) -> str:
    lines = ["| incident | rows | campaign accounts | flagged | precision | recall | recall per campaign | flagged non-campaign accounts |",
             "|---|---:|---:|---:|---:|---:|---|---|"]
    for r in results:
        per = ", ".join(f"{k} {v:.3f}" for k, v in r["campaigns"].items())
        benign = ", ".join(f"{k} {v}" for k, v in r["benign_flagged"].items()) or "none"
        lines.append(f"| {r['incident']} | {r['rows']:,} | {r['campaign_accounts']:,} | {r['flagged']:,} | "
                     f"{r['precision']:.4f} | {r['recall']:.4f} | {per} | {benign} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--incidents", default=",".join(INCIDENTS))
    ap.add_argument("--rows", default="default",
                    help="Comma-separated sizes to run each incident at, in rows; `default` is the generator's own "
                         "(0.5-1.2M rows). The figures recorded in the package: default,5000000.")
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "cache")
    ap.add_argument("--results", type=Path, default=None,
                    help="Add the figures to this detection-quality file (its `independent` list).")
    args = ap.parse_args(argv)
    incidents = args.incidents.split(",")
    for name in incidents:
        if name not in INCIDENTS:
            ap.error(f"unknown incident {name!r}; choose from {', '.join(INCIDENTS)}")
    try:
        sizes = [None if size == "default" else int(size) for size in args.rows.split(",")]
    except ValueError:
        ap.error(f"--rows takes sizes in rows or `default`, not {args.rows!r}")
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for size in sizes:
        for name in incidents:
            results.append(run_incident(args.work, name, rows=size))
            print(f"done incident {name} ({results[-1]['rows']:,} rows): P={results[-1]['precision']:.4f} "
                  f"R={results[-1]['recall']:.4f}", file=sys.stderr)
    print(format_table(results))
    if args.results:
        doc = json.loads(args.results.read_text()) if args.results.exists() else {}
        doc["independent"] = [{k: v for k, v in r.items() if k != "wall_s"} for r in results]
        args.results.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
