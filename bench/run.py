"""`make bench`: time every stage against two bare polars floors, at several scales, and run the peer and
detection benchmarks.

The floors: one streaming pass over all twelve log columns grouped by account, and a lighter one over the four
columns a per-account summary needs (account_id, ip, prompt, timestamp: count, distinct IPs, distinct prompts,
first time). Ingest's phases (its hashing among them) and cluster's sub-steps are measured by bench/instrumented.py,
which wraps the CLI from outside; bench/hmac_micro.py times the keyed hashing of each scale's prompts as ingest did
it before issue 19 and as it does now.

After the synth scales, the same measurements run on the held-out incidents of bench/independent/generate.py
(A, B and C at 5M rows by default: tradecraft synth does not produce, and prompts nearly all distinct), so that
the targets are measured on more than one generator's world.

Each stage runs as its own process so that its wall time, CPU time and peak RSS are its own (os.wait4).
Figures are only comparable within one run: quote ratios, not seconds.

Usage:
    .venv/bin/python bench/run.py                       # quarter, half and full seed scale (+ peer, engines, detection)
    .venv/bin/python bench/run.py --scales small --no-peer --no-detection
    .venv/bin/python bench/run.py --independent A --independent-rows 5000000 --scales seed
    .venv/bin/python bench/run.py --smoke               # tiny scale and a small held-out incident: what CI runs
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "cache"
KEY_HEX = "be7c" * 16
FLOOR_COLUMNS = ["request_id", "timestamp", "account_id", "ip", "asn", "country", "user_agent", "model",
                 "input_tokens", "output_tokens", "prompt", "system_prompt"]
FLOOR_SCRIPT = """
import sys, polars as pl
files = sys.argv[1]
cols = sys.argv[2].split(",")
other = [c for c in cols if c not in ("account_id", "ip", "prompt")]
out = (
    pl.scan_parquet(files).select(cols).group_by("account_id")
    .agg(pl.len(), pl.col("ip").n_unique(), pl.col("prompt").n_unique(), *[pl.col(c).null_count() for c in other])
    .collect(engine="streaming")
)
print(out.height)
"""
# The lighter floor: the four columns a per-account summary needs, with count, distinct IPs, distinct prompts and
# first time per account.
FLOOR4_COLUMNS = ["account_id", "ip", "prompt", "timestamp"]
FLOOR4_SCRIPT = """
import sys, polars as pl
out = (
    pl.scan_parquet(sys.argv[1]).select("account_id", "ip", "prompt", "timestamp").group_by("account_id")
    .agg(pl.len(), pl.col("ip").n_unique(), pl.col("prompt").n_unique(), pl.col("timestamp").min())
    .collect(engine="streaming")
)
print(out.height)
"""


# What ingest's last step costs on its own: the case's events files written again, each day sorted, by the function
# ingest writes them with, two days at a time as ingest does. With the all-columns floor (reading), it bounds from
# below what any ingest writing these case files can take (`ingest_bound`).
WRITE_FLOOR_SCRIPT = """
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import polars as pl
from forensics.ingest.run import write_events_day
days, out = sorted(Path(sys.argv[1]).glob("*.parquet")), Path(sys.argv[2])
out.mkdir(parents=True)
with ThreadPoolExecutor(max_workers=2) as pool:
    for _ in pool.map(lambda day: write_events_day(pl.scan_parquet(day), out / day.name), days):
        pass
print(sum(pl.scan_parquet(day).select(pl.len()).collect().item() for day in days))
"""


@dataclass
class Measured:
    stage: str
    scale: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    handled: str
    output: str = ""
    system_s: float | None = None  # of cpu_s, in the kernel: page faults and writes (wait4's ru_stime)
    minor_faults: int | None = None
    written_mb: float | None = None  # what the process wrote to the file system (ru_oublock, 512-byte blocks)


def measure(stage: str, scale: str, argv: list[str], handled: str = "", env: dict | None = None) -> Measured:
    """Run one process to completion; its own wall, CPU and peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    out_r = proc.stdout.read()  # type: ignore[union-attr]
    err_r = proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: {stage} failed ({proc.returncode}): {err_r.decode(errors='replace').strip()[-400:]}")
    return Measured(stage, scale, round(wall, 2), round(usage.ru_utime + usage.ru_stime, 2),
                    round(usage.ru_maxrss / 1024, 1), handled, out_r.decode(errors="replace"),
                    system_s=round(usage.ru_stime, 2), minor_faults=usage.ru_minflt,
                    written_mb=round(usage.ru_oublock * 512 / 2**20, 1))


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "forensics.cli", *args]


def instrumented(timings: Path, *args: str) -> list[str]:
    """The command line of a CLI command run with the benchmark's instrumentation (bench/instrumented.py)."""
    return [sys.executable, str(ROOT / "bench" / "instrumented.py"), str(timings), *args]


def _generated_once(target: Path, stage: str, scale: str, argv: list[str]) -> tuple[Path, Measured | None]:
    """The incident `argv` writes to `target`, generated (and measured) only if the cache does not hold it yet."""
    if (target / "labels.parquet").is_file():
        return target, None
    shutil.rmtree(target, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    return target, measure(stage, scale, argv)


def ensure_incident(scale: str, seed: int) -> tuple[Path, Measured | None]:
    """Generate the incident once and keep it in the git-ignored cache."""
    target = CACHE / f"{scale}-seed{seed}"
    return _generated_once(target, "synth", scale,
                           cli("synth", "--out", str(target), "--scale", scale, "--seed", str(seed), "--quiet"))


def _read_through(files: list[Path]) -> None:
    """Read the logs once, untimed, before the floor: otherwise the floor, which runs first, reads them from disk
    while ingest reads them from the page cache, and the ratio flatters us (quarter scale: a 10.5 s floor cold,
    5.1-5.5 s warm)."""
    for path in files:
        with path.open("rb") as f:
            while f.read(1 << 24):
                pass


# Each floor runs this many times, alternating, and the fastest run is the floor. On this VM one floor run can take
# twice as long as the next (seed scale, minutes apart: 32.6, 20.1 and 18.1 s), far more than the stages vary; the
# fastest run is the one least slowed by the machine, and it does not flatter the ratios.
FLOOR_RUNS = 3


def floors(scale: str, logs: str) -> tuple[Measured, Measured]:
    """The 12-column and the 4-column floor, each the fastest of FLOOR_RUNS runs (all listed in `handled`)."""
    runs: dict[str, list[Measured]] = {"floor": [], "floor-4col": []}
    for _ in range(FLOOR_RUNS):
        runs["floor"].append(measure("floor", scale, [sys.executable, "-c", FLOOR_SCRIPT, f"{logs}/*.parquet",
                                                      ",".join(FLOOR_COLUMNS)]))
        runs["floor-4col"].append(measure("floor-4col", scale, [sys.executable, "-c", FLOOR4_SCRIPT, f"{logs}/*.parquet"]))
    chosen = []
    for stage, columns in (("floor", FLOOR_COLUMNS), ("floor-4col", FLOOR4_COLUMNS)):
        best = min(runs[stage], key=lambda m: m.wall_s)
        walls = ", ".join(f"{m.wall_s:.2f}" for m in runs[stage])
        best.handled = f"{best.output.strip()} accounts, {len(columns)} columns; fastest of {walls} s"
        chosen.append(best)
    return chosen[0], chosen[1]


def ensure_independent(name: str, rows: int) -> tuple[Path, Measured | None]:
    """Held-out incident `name` (bench/independent.py: A to D) at about `rows` rows, generated once into the
    git-ignored cache."""
    target = CACHE / f"independent-{name}-{rows}rows-s7"
    sys.path.insert(0, str(ROOT / "bench"))
    from independent import generator_argv  # noqa: PLC0415

    return _generated_once(target, "generate", f"independent-{name}", generator_argv(name, target, 7, rows))


def run_scale(scale: str, seed: int, work: Path) -> list[Measured]:
    incident, synth = ensure_incident(scale, seed)
    return ([synth] if synth else []) + run_incident(scale, incident, work)


def run_incident(scale: str, incident: Path, work: Path) -> list[Measured]:
    """Both floors, then ingest, cluster and report, each its own process, over one incident's logs; `scale` names
    the incident in every table."""
    rows: list[Measured] = []
    key = work / "bench.key"
    if not key.exists():
        key.write_text(KEY_HEX)
        key.chmod(0o600)
    logs = str(incident / "logs")
    _read_through(sorted((incident / "logs").glob("*.parquet")))
    floor, floor4 = floors(scale, logs)
    case = work / f"case-{scale}"
    bundle = work / f"bundle-{scale}"
    timings = work / f"ingest-hashing-{scale}.json"
    timings.unlink(missing_ok=True)
    ingest = measure("ingest", scale, instrumented(timings, "ingest", logs, "--accounts", str(incident / "accounts.parquet"),
                                                   "--key-file", str(key), "--case", str(case), "--json", "--quiet"))
    summary = json.loads(ingest.output)
    phases = json.loads(timings.read_text())
    hashing_s = phases["hmac"] + phases["shapes_minhash"]
    ingest.handled = (f"{summary['rows_read']:,} rows; hashing {hashing_s:.1f} s "
                      f"(HMAC {phases['hmac']:.1f}, prompt shapes with MinHash {phases['shapes_minhash']:.1f})")
    MICRO[scale] = hmac_rates(Path(logs))
    step_times = work / f"cluster-steps-{scale}.json"
    cluster = measure("cluster", scale, instrumented(step_times, "cluster", str(case), "--json", "--quiet"))
    csum = json.loads(cluster.output)
    steps = json.loads(step_times.read_text())
    cluster.handled = f"{csum.get('accounts_total', 0):,} accounts"
    # The instrumentation resets the kernel's RSS high-water mark before each sub-step (to report each step's own
    # peak), which also resets what wait4 reports at exit: the stage's peak is the largest sub-step peak.
    steps_peak = max((step.get("peak_rss_mb", 0.0) for step in steps.values()), default=0.0)
    cluster.peak_rss_mb = max(cluster.peak_rss_mb, round(steps_peak, 1))
    report = measure("report", scale, cli("report", str(case), "--out", str(bundle), "--force", "--quiet"))
    report.handled = f"{csum.get('clusters', 0)} clusters"
    write = write_floor(scale, case, work)
    rows += [floor, floor4, write, ingest, cluster]
    for name, step in steps.items():
        rows.append(Measured(f"  cluster.{name}", scale, step["wall_s"], step["cpu_s"], step.get("peak_rss_mb", 0.0),
                             step.get("handled", "")))
    rows.append(report)
    total = ingest.wall_s + cluster.wall_s + report.wall_s
    stages = (ingest, cluster, report)
    rows.append(Measured("end-to-end", scale, round(total, 2), round(sum(m.cpu_s for m in stages), 2),
                         max(m.peak_rss_mb for m in stages),
                         f"{total / floor.wall_s:.1f}x floor, {total / floor4.wall_s:.1f}x 4-column floor",
                         system_s=round(sum(m.system_s or 0.0 for m in stages), 2),
                         minor_faults=sum(m.minor_faults or 0 for m in stages),
                         written_mb=round(sum(m.written_mb or 0.0 for m in stages), 1)))
    print(against_floors(scale, floor, floor4, ingest, total, hashing_s), flush=True)
    print(ingest_profile(ingest, phases, MICRO[scale]), flush=True)
    print(ingest_bound(floor, floor4, write, ingest, phases), flush=True)
    print(detection_at_scale(case, incident, key), flush=True)
    return rows


def write_floor(scale: str, case: Path, work: Path) -> Measured:
    """The write floor over the case's events, run after every stage so that its gigabytes of writes and deletes
    are not in the page cache or the disk's queue while a stage is timed."""
    rewritten = work / f"events-rewritten-{scale}"
    shutil.rmtree(rewritten, ignore_errors=True)
    write = measure("floor-write", scale, [sys.executable, "-c", WRITE_FLOOR_SCRIPT, str(case / "events"), str(rewritten)])
    shutil.rmtree(rewritten, ignore_errors=True)
    write.handled = f"{int(write.output):,} events rows sorted and written"
    return write


def detection_at_scale(case: Path, incident: Path, key: Path) -> str:
    """Precision, recall and flagged hard negatives of this scale's case against the incident's labels."""
    sys.path.insert(0, str(ROOT / "bench"))
    from detection import evaluate  # noqa: PLC0415

    from forensics.keys import load_key  # noqa: PLC0415

    ev = evaluate(case, incident / "labels.parquet", load_key(key))
    lines = [f"detection: precision {ev['precision']:.4f}, recall {ev['recall']:.4f}, {ev['flagged']:,} flagged, "
             f"{ev['true_positives']:,} of {ev['attack_accounts']:,} campaign accounts, "
             f"{ev['benign_flagged']:,} background accounts flagged"]
    for name, c in ev["campaigns"].items():
        lines.append(f"  {name}: {c['accounts']:,} accounts, recall {c['recall']:.4f}, dominant group {c['dominant_share']:.4f}")
    for name, h in ev["hard_negatives"].items():
        lines.append(f"  {name}: {h['accounts']:,} accounts, {h['flagged']:,} flagged, {h['in_cluster']:,} in a cluster")
    return "\n".join(lines)


def against_floors(scale: str, floor: Measured, floor4: Measured, ingest: Measured, total: float, hashing_s: float) -> str:
    """Ingest and end to end against both floors, and ingest's hashing share.

    The hashing seconds are wall time inside the keyed-hash calls and the prompt-shape pass, which computes the
    MinHash band keys with the skeletons and phrases (bench/instrumented.py), summed
    over the threads that ran them; ingest runs its stages on overlapping
    threads, so the share is of ingest's wall time, not an exclusive slice of it."""
    lines = [
        f"| {scale} | all-columns floor | 4-column floor |",
        "|---|---:|---:|",
        f"| floor s | {floor.wall_s:.2f} | {floor4.wall_s:.2f} |",
        f"| ingest / floor | {ingest.wall_s / floor.wall_s:.1f}x | {ingest.wall_s / floor4.wall_s:.1f}x |",
        f"| end to end / floor | {total / floor.wall_s:.1f}x | {total / floor4.wall_s:.1f}x |",
        "",
        f"ingest {ingest.wall_s:.2f} s, of which hashing {hashing_s:.2f} s ({hashing_s / ingest.wall_s:.0%} of ingest's wall time)",
        f"ingest used {ingest.cpu_s:.1f} CPU s ({ingest.cpu_s / ingest.wall_s:.2f} cores busy), of which {ingest.system_s:.1f} s "
        f"in the kernel, for {ingest.minor_faults:,} page faults and {ingest.written_mb:,.0f} MiB written",
    ]
    return "\n".join(lines)


# Keyed hashing rates of each scale's prompts (bench/hmac_micro.py --json), by scale.
MICRO: dict[str, dict] = {}


def hmac_rates(logs: Path) -> dict:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "hmac_micro.py"), str(logs), "--json"], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


# Ingest's hashing share before issue 19, from the profile taken then: the code it measured hashed one value at a
# time in Python and computed MinHash with polars' unstable hash, and no longer exists to be run.
BEFORE_ISSUE_19 = ("before issue 19 (commit fe49ce5; py-spy at 25 Hz of its ingest of a 5.13M-row independent incident "
                   "whose prompts are all distinct, shares of active samples): Python HMAC 9.0% and its memo lookups "
                   "6.5%, MinHash 4.6%: 14-20% of ingest; with the skeletons (4.4%), which the prompt-shape pass now "
                   "computes with MinHash, 18-25%")

# Ingest's phases (bench/instrumented.py PHASES), in pipeline order, with what each is.
PHASE_ROWS = (
    ("read", "reading record batches (main thread)"),
    ("classify", "classifying rows, addresses' pseudonyms included (main thread)"),
    ("quarantine", "quarantine records (main thread)"),
    ("derive", "deriving event columns (2 helper threads)"),
    ("shapes_minhash", "  of which prompt shapes with MinHash"),
    ("hmac", "keyed hashing, in every phase"),
    ("stage", "staging by day (1 helper thread)"),
    ("duplicates", "finding duplicate request IDs"),
    ("events", "writing the sorted events files (2 threads)"),
)


# Phases no other phase contains (hmac runs inside classify and derive, shapes_minhash inside derive).
SEPARATE_PHASES = ("read", "classify", "quarantine", "derive", "stage", "duplicates", "events")


def ingest_profile(ingest: Measured, phases: dict, micro: dict) -> str:
    """Where ingest's time went, phase by phase (seconds summed over the threads that ran each phase), what it
    would have spent hashing one value at a time in Python, and its hashing share before issue 19."""
    seconds = {**phases["phases"], "hmac": phases["hmac"], "shapes_minhash": phases["shapes_minhash"]}
    wall = ingest.wall_s
    lines = ["| ingest phase | s, summed over threads | of ingest's wall time |", "|---|---:|---:|"]
    for name, label in PHASE_ROWS:
        lines.append(f"| {label} | {seconds[name]:.2f} | {seconds[name] / wall:.0%} |")
    after_rows = seconds["duplicates"] + seconds["events"]  # the main thread's work once every row has streamed
    main_streaming = seconds["read"] + seconds["classify"] + seconds["quarantine"]
    waiting = max(seconds["rows"] - main_streaming - after_rows, 0.0)
    streaming = max(seconds["rows"] - after_rows, 1e-9)
    threads = max(sum(seconds[k] for k in SEPARATE_PHASES), 1e-9)
    finishing, start_up = seconds["ingest"] - seconds["rows"], max(wall - seconds["ingest"], 0.0)
    lines += [
        f"| main thread otherwise: waiting for the helpers, joining batches | {waiting:.2f} | {waiting / wall:.0%} |",
        f"| after the row passes: quarantine file, accounts, summary, custody | {finishing:.2f} | {finishing / wall:.0%} |",
        f"| start-up: interpreter, imports, compiled kernels loaded | {start_up:.2f} | {start_up / wall:.0%} |",
        "",
        f"a phase's seconds are wall time on the threads that ran it, waiting for a core included: ingest ran up to four "
        f"threads of its own (and polars' pool) on {os.cpu_count()} cores, so the phases outside one another sum to "
        f"{threads:.1f} s against {ingest.cpu_s:.1f} CPU s",
        f"while the rows streamed ({streaming:.1f} s), the two derive threads were busy {seconds['derive'] / (2 * streaming):.0%} "
        f"of the time and the main thread read, classified and quarantined for {main_streaming:.1f} s",
    ]
    hashing = phases["hmac"] + phases["shapes_minhash"]
    lines.append(f"hashing share after issue 19 (this run): {hashing:.1f} s summed over threads, {hashing / threads:.0%} of "
                 f"the phases' thread time (HMAC {phases['hmac'] / threads:.0%}, prompt shapes with MinHash "
                 f"{phases['shapes_minhash'] / threads:.0%}), {hashing / wall:.0%} of ingest's wall time")
    lines.append(f"hashing share {BEFORE_ISSUE_19}")
    python, libcrypto = micro["rates"]["python"], micro["rates"]["libcrypto"]
    if python is not None:
        lines.append(f"the {phases['hmac_values']:,} values this ingest hashed, one at a time by Python's hmac at this "
                     f"scale's {python:.2f} s per million prompts, would take {phases['hmac_values'] * python / 1e6:.1f} s; "
                     f"they took {phases['hmac']:.1f} s" + (f" (libcrypto here: {libcrypto:.2f} s per million)" if libcrypto else ""))
    return "\n".join(lines)


# Ingest's target, as a multiple of the 4-column floor (issue 19).
INGEST_TARGET = 3.0


def ingest_bound(floor: Measured, floor4: Measured, write: Measured, ingest: Measured, phases: dict) -> str:
    """The least time any ingest that writes this case's files could take on this machine: the CPU seconds of
    reading every column (the all-columns floor) and of writing the sorted events files (the write floor), each
    measured as a process of its own, spread over every core. Everything else ingest does (keyed hashing,
    classifying, normalising, the prompt shapes, staging, duplicates) comes on top, and what the target leaves
    for it is set against what this ingest spent on its two largest parts."""
    cores = os.cpu_count() or 1
    least = (floor.cpu_s + write.cpu_s) / cores
    allowed = INGEST_TARGET * floor4.wall_s
    return "\n".join([
        f"reading every column (the all-columns floor) takes {floor.cpu_s:.1f} CPU s and writing the sorted events files "
        f"{write.cpu_s:.1f} CPU s ({write.wall_s:.2f} s on its own): on {cores} cores any ingest writing these case files "
        f"takes at least {least:.1f} s, {least / floor4.wall_s:.1f}x the 4-column floor, before any other work",
        f"the target of {INGEST_TARGET:.0f}x the 4-column floor allows {allowed:.1f} s, leaving "
        f"{max(allowed - least, 0.0) * cores:.1f} CPU s for everything else; this ingest spent {phases['hmac']:.1f} s "
        f"keying {phases['hmac_values']:,} values and {phases['shapes_minhash']:.1f} s on prompt shapes with MinHash "
        f"(summed over threads), and {ingest.cpu_s:.1f} CPU s in all",
    ])


def table(rows: list[Measured]) -> str:
    """Every measured process and sub-step. The kernel's share of the CPU time, the page faults and the bytes
    written are wait4's for a whole process (blank for a cluster sub-step): on a VM they can cost as much as the
    work itself."""
    lines = ["| scale | stage | wall s | CPU s | of which system s | minor page faults | written MiB | peak RSS MiB | handled |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    blank = lambda value, form: "" if value is None else format(value, form)  # noqa: E731
    for r in rows:
        lines.append(f"| {r.scale} | {r.stage} | {r.wall_s:.2f} | {r.cpu_s:.2f} | {blank(r.system_s, '.2f')} | "
                     f"{blank(r.minor_faults, ',')} | {blank(r.written_mb, ',.0f')} | {r.peak_rss_mb:,.0f} | {r.handled} |")
    return "\n".join(lines)


def scaling(rows: list[Measured], scales: list[str]) -> str:
    ends = {r.scale: r for r in rows if r.stage == "end-to-end"}
    floors = {r.scale: r for r in rows if r.stage == "floor"}
    floors4 = {r.scale: r for r in rows if r.stage == "floor-4col"}
    ingests = {r.scale: r for r in rows if r.stage == "ingest"}
    lines = ["| scale | rows | end-to-end s | vs previous scale | floor s | ratio to floor | 4-column floor s | "
             "ratio to it | ingest / 4-column floor | peak RSS MiB |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    previous = None
    for scale in scales:
        if scale not in ends:
            continue
        e, f, f4, i = ends[scale], floors[scale], floors4[scale], ingests[scale]
        growth = f"{e.wall_s / previous.wall_s:.2f}x" if previous else "-"
        lines.append(f"| {scale} | {i.handled.split(';')[0]} | {e.wall_s:.1f} | {growth} | {f.wall_s:.1f} | "
                     f"{e.wall_s / f.wall_s:.1f} | {f4.wall_s:.1f} | {e.wall_s / f4.wall_s:.1f} | "
                     f"{i.wall_s / f4.wall_s:.1f} | {e.peak_rss_mb:,.0f} |")
        previous = e
    return "\n".join(lines)


def keyed_hashing(scales: list[str]) -> str:
    """bench/hmac_micro.py's seconds per million of each scale's own prompts, fastest of three runs."""
    sys.path.insert(0, str(ROOT / "bench"))
    from hmac_micro import METHODS  # noqa: PLC0415

    lines = ["| method | " + " | ".join(f"{scale} ({MICRO[scale]['mean_bytes']:.0f}-byte prompts)" for scale in scales) + " |",
             "|---|" + "---:|" * len(scales)]
    for name, label in METHODS.items():
        rates = [MICRO[scale]["rates"][name] for scale in scales]
        lines.append(f"| {label} | " + " | ".join("unavailable" if r is None else f"{r:.2f}" for r in rates) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="quarter,half,seed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="tiny scale only, for CI")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--no-detection", action="store_true")
    parser.add_argument("--no-engines", action="store_true", help="skip ingest and cluster on Spark (bench/engines.py)")
    parser.add_argument("--independent", default="A,B,C",
                        help="held-out incidents (bench/independent) to run every stage on too, after the scales; '' for none")
    parser.add_argument("--independent-rows", type=int, default=5_000_000)
    parser.add_argument("--engines-scale", default="quarter")
    parser.add_argument("--peer-sizes", default="1000000,5000000")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    scales = ["tiny"] if args.smoke else [scale for scale in args.scales.split(",") if scale]
    if args.smoke:  # one held-out incident, small: the smoke run goes through every table
        args.independent, args.independent_rows = "B", 20_000
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    rows: list[Measured] = []
    for scale in scales:
        rows += run_scale(scale, args.seed, work)
        print(table([r for r in rows if r.scale == scale]), flush=True)
        print(flush=True)
    held_out = {f"independent-{name}": name for name in args.independent.split(",") if name}  # label -> incident
    for label, name in held_out.items():
        incident, generated = ensure_independent(name, args.independent_rows)
        rows += ([generated] if generated else []) + run_incident(label, incident, work)
        print(table([r for r in rows if r.scale == label]), flush=True)
        print(flush=True)
    print("## Pipeline\n")
    print(table(rows))
    print("\n## Scaling\n")
    print(scaling(rows, scales))
    (work / "results.json").write_text(json.dumps([asdict(r) | {"output": ""} for r in rows], indent=2))
    print("\n## Keyed hashing, per million prompts\n", flush=True)
    print(keyed_hashing([*scales, *held_out]))
    if not args.no_peer:
        sizes = ["2000"] if args.smoke else args.peer_sizes.split(",")
        limit = ["--peer-timeout", "60" if args.smoke else "1800"]
        print("\n## Co-action against coordination-network-toolkit\n", flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / "peer_coaction.py"), "--sizes", *sizes, *limit], cwd=ROOT,
                       check=True)
    if not (args.no_engines or args.smoke):  # Spark's equality is tested by make test; its timing costs minutes
        print("\n## Engines: local, Spark local[2], Spark standalone\n", flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / "engines.py"), "--scale", args.engines_scale,
                        "--seed", str(args.seed), "--work", str(work)], cwd=ROOT, check=True)
    if not args.no_detection:
        print("\n## Detection quality\n", flush=True)
        extra = (["--scale", "tiny", "--seeds", "1", "--stealth", "0.5", "--families", "bulk-datacenter", "--no-lofo"]
                 if args.smoke else ["--results", str(ROOT / "forensics" / "data" / "detection_quality.json")])
        subprocess.run([sys.executable, str(ROOT / "bench" / "detection.py"), *extra], cwd=ROOT, check=True)
        if not args.smoke:
            print("\n## Detection on independently generated incidents\n", flush=True)
            subprocess.run([sys.executable, str(ROOT / "bench" / "independent.py"), "--results",
                            str(ROOT / "forensics" / "data" / "detection_quality.json")], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
