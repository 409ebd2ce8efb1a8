"""Detection-quality benchmark: synth -> ingest -> cluster over seeds, stealth levels and scenario mixes.

Prints, per run and per scenario: precision and recall of flagged accounts against the labels (attack is
the positive class), per-campaign recall and the share of each campaign in its dominant cluster, and the
flagged accounts per hard-negative group. Targets at the default settings: precision >= 0.995,
recall >= 0.95, every campaign >= 0.9 in one dominant cluster, zero flagged hard-negative accounts.

Usage:
    .venv/bin/python bench/detection.py                      # default grid at scale "small"
    .venv/bin/python bench/detection.py --scale tiny --seeds 1 --stealth 0.5 --scenarios default
    .venv/bin/python bench/detection.py --perf-scale medium  # also time `cluster` on one bigger incident
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from forensics.cluster import ClusterParams, run_cluster  # noqa: E402
from forensics.keys import CaseKey  # noqa: E402
from forensics.synth import SCALES, SCENARIOS  # noqa: E402

KEY_HEX = "5eed" * 16
TARGETS = {"precision": 0.995, "recall": 0.95, "dominant": 0.9, "hard_negative_flagged": 0}


@dataclass
class RunResult:
    scenario: str
    seed: int
    stealth: float
    accounts: int
    attack_accounts: int
    flagged: int
    true_positives: int
    precision: float
    recall: float
    campaigns: dict[str, dict] = field(default_factory=dict)
    hard_negatives: dict[str, dict] = field(default_factory=dict)
    cluster_wall_s: float = 0.0

    @property
    def min_dominant(self) -> float:
        return min((c["dominant_share"] for c in self.campaigns.values()), default=1.0)

    @property
    def hard_negative_flagged(self) -> int:
        return sum(h["flagged"] for h in self.hard_negatives.values())


def evaluate(case: Path, labels_path: Path, key: CaseKey) -> dict:
    """Compare a clustered case with synth labels. Returns precision, recall, per-campaign and per-hard-negative figures."""
    labels = pl.read_parquet(labels_path)
    labels = labels.with_columns(
        pl.Series("account_pseudonym", key.pseudonyms("account", labels["account_id"].cast(pl.String).to_list()))
    )
    clusters = pl.read_parquet(case / "clusters.parquet")
    joined = labels.join(clusters.select("account_pseudonym", "cluster_id", "flagged"), on="account_pseudonym", how="left").with_columns(
        pl.col("cluster_id").fill_null(-1), pl.col("flagged").fill_null(False)
    )
    attack = pl.col("label") == "attack"
    tp = joined.filter(attack & pl.col("flagged")).height
    flagged = joined.filter(pl.col("flagged")).height
    positives = joined.filter(attack).height
    campaigns = {}
    for (group,), g in joined.filter(attack).group_by("group", maintain_order=True):
        in_clusters = g.filter(pl.col("cluster_id") >= 0)
        dominant = in_clusters.group_by("cluster_id").len()["len"].max() if in_clusters.height else 0
        campaigns[str(group)] = {
            "accounts": g.height,
            "recall": g["flagged"].mean(),
            "dominant_share": (dominant or 0) / g.height,
        }
    hard = {}
    for (group,), g in joined.filter(pl.col("label") == "hard_negative").group_by("group", maintain_order=True):
        hard[str(group)] = {"accounts": g.height, "flagged": int(g["flagged"].sum()),
                            "in_cluster": int((g["cluster_id"] >= 0).sum())}
    return {
        "accounts": joined.height,
        "attack_accounts": positives,
        "flagged": flagged,
        "true_positives": tp,
        "precision": tp / flagged if flagged else 1.0,
        "recall": tp / positives if positives else 1.0,
        "campaigns": dict(sorted(campaigns.items())),
        "hard_negatives": dict(sorted(hard.items())),
    }


def _ingest(out: Path, key_file: Path) -> None:
    """Ingest in a child process, as a user would run it (and so no helper process of ingest outlives it)."""
    argv = [sys.executable, "-m", "forensics.cli", "ingest", str(out / "logs"), "--case", str(out / "case"),
            "--key-file", str(key_file), "--quiet"]
    if (out / "accounts.parquet").exists():
        argv += ["--accounts", str(out / "accounts.parquet")]
    subprocess.run(argv, check=True, cwd=ROOT)


def run_one(
    work: Path, *, scale: str, seed: int, stealth: float, scenario: str, params: ClusterParams, resume: bool = False
) -> RunResult:
    from forensics.synth import generate

    out = work / f"{scenario}-s{seed}-st{stealth}"
    saved = out / "result.json"
    if resume and saved.exists():
        return RunResult(**json.loads(saved.read_text()))
    if out.exists():
        shutil.rmtree(out)
    generate(out, scale=scale, seed=seed, stealth=stealth, scenario=scenario)
    key_file = work / "bench.key"
    if not key_file.exists():
        key_file.write_text(KEY_HEX + "\n")
        key_file.chmod(0o600)
    case = out / "case"
    _ingest(out, key_file)
    t0 = time.perf_counter()
    run_cluster(case, params)
    wall = time.perf_counter() - t0
    ev = evaluate(case, out / "labels.parquet", CaseKey(bytes.fromhex(KEY_HEX)))
    shutil.rmtree(out / "logs", ignore_errors=True)
    result = RunResult(scenario=scenario, seed=seed, stealth=stealth, cluster_wall_s=wall, **ev)
    saved.write_text(json.dumps(result.__dict__))
    return result


def format_table(results: list[RunResult]) -> str:
    lines = [
        "| scenario | seed | stealth | attack accts | flagged | precision | recall | min campaign recall | min dominant share | flagged hard-neg |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        min_recall = min((c["recall"] for c in r.campaigns.values()), default=1.0)
        lines.append(
            f"| {r.scenario} | {r.seed} | {r.stealth:g} | {r.attack_accounts:,} | {r.flagged:,} | {r.precision:.4f} | "
            f"{r.recall:.4f} | {min_recall:.3f} | {r.min_dominant:.3f} | {r.hard_negative_flagged} |"
        )
    lines.append("")
    lines.append("| scenario | runs | precision (pooled) | recall (pooled) | worst dominant share | flagged hard-neg (total) | meets targets |")
    lines.append("|---|---|---|---|---|---|---|")
    for scenario in sorted({r.scenario for r in results}):
        rs = [r for r in results if r.scenario == scenario]
        tp, fl, pos = sum(r.true_positives for r in rs), sum(r.flagged for r in rs), sum(r.attack_accounts for r in rs)
        p, rc = (tp / fl if fl else 1.0), (tp / pos if pos else 1.0)
        dom, hn = min(r.min_dominant for r in rs), sum(r.hard_negative_flagged for r in rs)
        ok = p >= TARGETS["precision"] and rc >= TARGETS["recall"] and dom >= TARGETS["dominant"] and hn == 0
        lines.append(f"| {scenario} | {len(rs)} | {p:.4f} | {rc:.4f} | {dom:.3f} | {hn} | {'yes' if ok else 'NO'} |")
    return "\n".join(lines)


def format_details(results: list[RunResult]) -> str:
    lines = []
    for r in results:
        lines.append(f"{r.scenario} seed={r.seed} stealth={r.stealth:g}  (cluster {r.cluster_wall_s:.1f} s)")
        for name, c in r.campaigns.items():
            lines.append(f"  campaign {name}: {c['accounts']} accounts, recall {c['recall']:.3f}, dominant cluster {c['dominant_share']:.3f}")
        for name, h in r.hard_negatives.items():
            lines.append(f"  hard negative {name}: {h['accounts']} accounts, {h['flagged']} flagged, {h['in_cluster']} in a cluster")
    return "\n".join(lines)


def perf_run(work: Path, scale: str, seed: int) -> dict:
    """Time `forensics cluster` on one bigger incident in a fresh process, for wall time and peak RSS."""
    from forensics.synth import generate

    out = work / f"perf-{scale}-s{seed}"
    if not (out / "case" / "ingest.json").exists():
        if out.exists():
            shutil.rmtree(out)
        generate(out, scale=scale, seed=seed)
        key_file = work / "bench.key"
        if not key_file.exists():
            key_file.write_text(KEY_HEX + "\n")
            key_file.chmod(0o600)
        _ingest(out, key_file)
    code = (
        "import json, resource, sys, time; from pathlib import Path;"
        "from forensics.cluster import ClusterParams, run_cluster;"
        "t=time.perf_counter(); s=run_cluster(Path(sys.argv[1]), ClusterParams());"
        "s['wall_s']=time.perf_counter()-t; s['peak_rss_mb']=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024;"
        "print(json.dumps(s))"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(out / "case")], capture_output=True, text=True, check=True, cwd=ROOT)
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    ingest = json.loads((out / "case" / "ingest.json").read_text())
    summary["rows"] = ingest["rows_accepted"]
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="small")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--stealth", default="0.3,0.6,0.9")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="Comma-separated (default: all of them).")
    ap.add_argument("--work", type=Path, default=None, help="Working directory (default: a temporary one).")
    ap.add_argument("--perf-scale", default=None, help="Also time `cluster` on one incident of this scale.")
    ap.add_argument("--json", type=Path, default=None, help="Also write the results as JSON here.")
    ap.add_argument("--resume", action="store_true", help="Reuse finished runs found in --work.")
    args = ap.parse_args(argv)
    # Checked before the first run, which takes minutes: a misspelt name must not fail half-way through.
    for name, known in ((args.scale, SCALES), *((s, SCENARIOS) for s in args.scenarios.split(","))):
        if name not in known:
            ap.error(f"unknown scale or scenario {name!r}; choose from {', '.join(known)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="forensics-detection-"))
    work.mkdir(parents=True, exist_ok=True)
    params = ClusterParams()
    results = []
    for scenario in args.scenarios.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            for stealth in (float(s) for s in args.stealth.split(",")):
                r = run_one(work, scale=args.scale, seed=seed, stealth=stealth, scenario=scenario, params=params, resume=args.resume)
                results.append(r)
                print(f"done {scenario} seed={seed} stealth={stealth:g}: P={r.precision:.4f} R={r.recall:.4f}", file=sys.stderr)
    print(format_table(results))
    print()
    print(format_details(results))
    perf = None
    if args.perf_scale:
        perf = perf_run(work, args.perf_scale, 1)
        print()
        print(f"cluster on {perf['rows']:,} rows ({args.perf_scale}): wall {perf['wall_s']:.1f} s, "
              f"peak RSS {perf['peak_rss_mb']:.0f} MB, {perf['clusters']} clusters, {perf['flagged']} flagged")
        for name, st in perf["steps"].items():
            print(f"  {name:16s} wall {st['wall_s']:8.2f} s  cpu {st['cpu_s']:8.2f} s  rss {st['peak_rss_mb']:8.0f} MB")
    if args.json:
        args.json.write_text(json.dumps({"runs": [r.__dict__ for r in results], "perf": perf}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
