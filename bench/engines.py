"""ingest and cluster on each engine, on one incident: the local engine, Spark local[2], and a standalone Spark
cluster of two one-core workers started on loopback from pyspark's sbin scripts. Prints wall time, the overhead
against the local engine, rows per second per core, and whether every case file is byte-identical to the local
engine's (ingest.json but its engine name; not the custody log). cluster runs on copies of the local engine's
case, so its comparison is of cluster's outputs alone; its time includes the account-level work (graph, HDBSCAN,
scoring), which runs on the driver on both engines.

Each run is its own process (as in bench/run.py). The Spark runs include starting the session; the standalone
cluster is started before its run and not timed. On a 2-core machine all three runs use both cores, so the
per-core rate is rows / (wall s x 2).

Usage: python bench/engines.py [--scale quarter] [--seed 1] [--work DIR] [--stages ingest,cluster]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from run import KEY_HEX, Measured, cli, ensure_incident, measure  # noqa: E402
from spark_support import FAST_JVM, StandaloneCluster, assert_same_case, assert_same_cluster_outputs  # noqa: E402

CORES = 2
# Driver and executor settings of the Spark runs: loopback, and enough heap for the cached rows of a 5M-row
# incident (Spark spills what does not fit).
SPARK_CONF = (
    "spark.driver.host=127.0.0.1",
    "spark.driver.bindAddress=127.0.0.1",
    "spark.driver.memory=3g",
    "spark.ui.enabled=false",
    f"spark.pyspark.python={sys.executable}",
)


def _identical(local: Path, other: Path, compare=assert_same_case) -> str:
    if local == other:
        return "yes (itself)"
    try:
        compare(local, other)
    except AssertionError as exc:
        return f"NO ({str(exc).splitlines()[0][:80]})"
    return "yes"


Results = list[tuple[Measured, str, str]]


def run(scale: str, seed: int, work: Path, stages: tuple[str, ...] = ("ingest", "cluster")) -> tuple[Results, Results]:
    """(ingest, cluster) on each engine: cluster runs on a copy of the local engine's ingested case each time. With
    `stages` ("cluster",), ingest runs once, locally, untimed against the others."""
    incident, _ = ensure_incident(scale, seed)
    work.mkdir(parents=True, exist_ok=True)
    key = work / "bench.key"
    if not key.exists():
        key.write_text(KEY_HEX)
        key.chmod(0o600)
    logs = str(incident / "logs")
    common = ["ingest", logs, "--accounts", str(incident / "accounts.parquet"), "--key-file", str(key), "--json", "--quiet"]
    conf = [f"--spark-conf={item}" for item in SPARK_CONF]
    local2 = ["--engine", "spark", "--spark-master", "local[2]", *conf, f"--spark-conf=spark.driver.extraJavaOptions={FAST_JVM}"]
    cases = {name: work / f"engines-{name}-{scale}" for name in ("local", "local2", "standalone")}
    clustered = {name: work / f"engines-cluster-{name}-{scale}" for name in cases}
    for path in [*cases.values(), *clustered.values()]:
        shutil.rmtree(path, ignore_errors=True)

    def cluster_case(name: str) -> list[str]:
        shutil.copytree(cases["local"], clustered[name])
        return ["cluster", str(clustered[name]), "--json", "--quiet"]

    engines = ("local", "local2", "standalone") if "ingest" in stages else ("local",)
    cases = {n: cases[n] for n in engines}
    ingest: dict[str, Measured] = {}
    cluster: dict[str, Measured] = {}
    ingest["local"] = measure("local", scale, cli(*common, "--case", str(cases["local"])))
    if "cluster" in stages:
        cluster["local"] = measure("local", scale, cli(*cluster_case("local")))
    if "ingest" in stages:
        ingest["local2"] = measure("spark local[2]", scale, cli(*common, "--case", str(cases["local2"]), *local2))
    if "cluster" in stages:
        cluster["local2"] = measure("spark local[2]", scale, cli(*cluster_case("local2"), *local2))
    with StandaloneCluster(work / f"standalone-{scale}", memory="2g") as standalone:
        on_cluster = ["--engine", "spark", "--spark-master", standalone.url, *conf, "--spark-conf=spark.executor.memory=1500m"]
        name = "spark standalone, 2 workers"
        if "ingest" in stages:
            ingest["standalone"] = measure(name, scale, cli(*common, "--case", str(cases["standalone"]), *on_cluster))
        if "cluster" in stages:
            cluster["standalone"] = measure(name, scale, cli(*cluster_case("standalone"), *on_cluster))
    return ([(m, _identical(cases["local"], cases[n]), str(cases[n])) for n, m in ingest.items()],
            [(m, _identical(clustered["local"], clustered[n], assert_same_cluster_outputs), str(clustered[n]))
             for n, m in cluster.items()])


def table(results: Results, rows: int) -> str:
    base = results[0][0].wall_s
    lines = ["| engine | wall s | x local | rows/s per core | case files identical to local |", "|---|---:|---:|---:|---|"]
    for m, same, _ in results:
        lines.append(f"| {m.stage} | {m.wall_s:.1f} | {m.wall_s / base:.2f} | {rows / (m.wall_s * CORES):,.0f} | {same} |")
    return "\n".join(lines)


def main() -> None:
    import json

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="quarter")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--stages", default="ingest,cluster", help="ingest, cluster or both (comma-separated)")
    args = parser.parse_args()
    stages = tuple(args.stages.split(","))
    ingest, cluster = run(args.scale, args.seed, args.work, stages)
    rows = json.loads(ingest[0][0].output)["rows_read"]
    if "ingest" in stages:
        print(f"ingest of the {args.scale} incident ({rows:,} rows) on each engine\n")
        print(table(ingest, rows))
    if "cluster" in stages:
        events = json.loads(ingest[0][0].output)["rows_accepted"]
        print(f"\ncluster of the {args.scale} incident's case ({events:,} events) on each engine\n")
        print(table(cluster, events))


if __name__ == "__main__":
    main()
