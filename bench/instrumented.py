"""Run one forensics command with the benchmark's instrumentation, which production code does not carry.

    python bench/instrumented.py TIMINGS.json ingest ...   # seconds in each phase of ingest, hashing among them
    python bench/instrumented.py TIMINGS.json cluster ...  # wall, CPU and own peak RSS of each sub-step

The command runs through the CLI's own entry point (cli.main) with the same arguments; the instrumentation wraps
functions from outside and writes TIMINGS.json when the command has finished.
- ingest: wall seconds inside `forensics.ingest.pseudonymise._keyed` (every keyed hash; with the number of values
  hashed) and `prompt_shapes` (skeletons, phrases and MinHash band keys, one compiled pass whose XXH64 cannot be
  timed apart), summed over the threads that ran them; and the same for each phase of the local engine (PHASES).
  Ingest overlaps its phases on threads, so their sum is not an exclusive slice of its wall time.
- cluster: each sub-step's wall and CPU seconds and its own peak RSS. On Linux the kernel's high-water mark is
  reset before each step (/proc/self/clear_refs), which also resets what wait4 reports for the whole process:
  the stage's peak is then the largest step peak.
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from collections import Counter
from pathlib import Path


class PhaseTimes:
    """Seconds spent inside wrapped functions, summed over the threads that called them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds: Counter = Counter()
        self.hmac_values = 0

    def add(self, what: str, seconds: float) -> None:
        with self.lock:
            self.seconds[what] += seconds

    def wrap(self, what: str, fn):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(what, time.perf_counter() - start)

        return timed

    def keyed(self, fn):
        """`_keyed(key, kind, values)`, timed and with its values counted."""
        hashing = self.wrap("hmac", fn)

        def timed(key, kind, values):
            with self.lock:
                self.hmac_values += len(values)
            return hashing(key, kind, values)

        return timed

    def reading(self, open_parquet):
        """open_parquet whose files time each record batch they decode (`iter_batches`, on ingest's main thread)."""
        def opened(*args, **kwargs):
            parquet = open_parquet(*args, **kwargs)
            batches = parquet.iter_batches

            def iter_batches(*a, **kw):
                source = batches(*a, **kw)
                while True:
                    start = time.perf_counter()
                    try:
                        batch = next(source)
                    except StopIteration:
                        return
                    finally:
                        self.add("read", time.perf_counter() - start)
                    yield batch

            parquet.iter_batches = iter_batches
            return parquet

        return opened

    def report(self) -> dict:
        hashing = {k: round(self.seconds[k], 3) for k in HASHING}
        phases = {k: round(self.seconds[k], 3) for k in sorted([*PHASES, "read", "ingest"])}  # 0 for a phase never entered
        return {**hashing, "hmac_values": self.hmac_values, "phases": phases}


# The two hashing timers; bench/run.py sums them into ingest's hashing seconds.
HASHING = ("hmac", "shapes_minhash")

# Ingest's phases on the local engine (forensics.engine.local): what each name times. "read" is the decoding of
# record batches; "derive" contains "hmac" and "shapes_minhash"; "rows" is every row pass, the others inside it;
# "ingest" is the whole stage after the imports.
PHASES = {
    "classify": "classify_frame",
    "derive": "derive_event_columns",
    "stage": "_stage_days",
    "quarantine": "quarantine_rows",
    "duplicates": "find_duplicates",
    "events": "write_events",
    "rows": "ingest_rows_locally",
}


class MeasuredSteps:
    """forensics.detect.run.Steps that also measures each step."""

    steps: dict[str, dict] = {}

    @staticmethod
    def _reset_peak() -> None:
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass

    @staticmethod
    def _peak_mb() -> float:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def run(self, name: str, fn, *args, **kwargs):
        self._reset_peak()
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn(*args, **kwargs)
        MeasuredSteps.steps[name] = {
            "wall_s": round(time.perf_counter() - w0, 3),
            "cpu_s": round(time.process_time() - c0, 3),
            "peak_rss_mb": round(self._peak_mb(), 1),
        }
        return result

    def handled(self, name: str, text: str) -> None:
        MeasuredSteps.steps[name]["handled"] = text


def main(argv: list[str]) -> int:
    target, args = Path(argv[0]), argv[1:]
    from forensics import cli

    cli.process_defaults(args[0])  # before the imports below load numpy: the run is measured as the CLI runs

    if args[0] == "ingest":
        from forensics import ingest
        from forensics.engine import local
        from forensics.ingest import pseudonymise

        times = PhaseTimes()
        pseudonymise._keyed = times.keyed(pseudonymise._keyed)
        pseudonymise.prompt_shapes = times.wrap("shapes_minhash", pseudonymise.prompt_shapes)
        for phase, name in PHASES.items():
            setattr(local, name, times.wrap(phase, getattr(local, name)))
        local.open_parquet = times.reading(local.open_parquet)
        ingest.run_ingest = times.wrap("ingest", ingest.run_ingest)
        code = cli.main(args)
        target.write_text(json.dumps(times.report()) + "\n")
    elif args[0] == "cluster":
        from forensics.detect import run as cluster

        cluster.Steps = MeasuredSteps
        code = cli.main(args)
        target.write_text(json.dumps(MeasuredSteps.steps) + "\n")
    else:
        raise SystemExit(f"instrumented.py: no instrumentation for {args[0]!r}")
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
