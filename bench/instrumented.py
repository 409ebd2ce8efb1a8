"""Run one forensics command with the benchmark's instrumentation, which production code does not carry.

    python bench/instrumented.py TIMINGS.json ingest ...   # seconds inside keyed hashing, and prompt shapes with MinHash
    python bench/instrumented.py TIMINGS.json cluster ...  # wall, CPU and own peak RSS of each sub-step

The command runs through the CLI's own entry point (cli.main) with the same arguments; the instrumentation wraps
functions from outside and writes TIMINGS.json when the command has finished.
- ingest: wall seconds inside `forensics.ingest.pseudonymise._keyed` (every keyed hash) and `prompt_shapes` (skeletons,
  phrases and MinHash band keys, one compiled pass whose XXH64 cannot be timed apart), summed over the threads
  that ran them. Ingest overlaps its stages on threads, so their sum is not an exclusive slice of its wall time.
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


class HashTimes:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds: Counter = Counter()

    def wrap(self, what: str, fn):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with self.lock:
                    self.seconds[what] += time.perf_counter() - start

        return timed

    def report(self) -> dict:
        return {k: round(v, 3) for k, v in sorted(self.seconds.items())}


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
        from forensics.ingest import pseudonymise

        times = HashTimes()
        pseudonymise._keyed = times.wrap("hmac", pseudonymise._keyed)
        pseudonymise.prompt_shapes = times.wrap("shapes_minhash", pseudonymise.prompt_shapes)
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
