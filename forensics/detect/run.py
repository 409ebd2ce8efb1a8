"""`forensics cluster`: features, evidence edges, the account graph, HDBSCAN clusters and their scores.

Reads the case files written by ingest (events/*.parquet, accounts.parquet, ingest.json) and writes
features.parquet, edges.parquet, graph.graphml, clusters.parquet and, last, clusters.json.
The row-level work (features, blocking joins) is polars lazy queries; what crosses into the in-memory
graph work is the per-account features and the edge table.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import polars as pl
import pyarrow.parquet as pq

from forensics import __version__, jsonio
from forensics.casefiles import CLUSTER_OUTPUTS, CODED_SCHEMA, EDGE_SCHEMA, KIND, TIMELINE_DAILY_FILE, TIMELINE_HOURLY_FILE
from forensics.codes import ACCOUNT, AccountOrder, codes_of, decode
from forensics.detect.behaviour import BehaviourParams, behaviour_evidence, behaviour_pairs, behaviour_vectors
from forensics.detect.blocking import Blocking, BlockingStats, release_freed_memory
from forensics.detect.coaction import CoactionResult
from forensics.detect.facts import ACCOUNT_KINDS, KEY_KINDS, EdgeSet, account_facts, decode_edges, key_edges
from forensics.detect.features import scan_accounts
from forensics.detect.graph import build_graph, cluster_graph, write_graphml
from forensics.detect.groups import GROUP_KINDS, NOVELTY_KIND, FactStore
from forensics.detect.score import high_volume_accounts, score_clusters
from forensics.engine.local import LocalEvents
from forensics.errors import CaseError
from forensics.fsio import case_lock, replace_file_atomic
from forensics.params import ClusterParams
from forensics.progress import Progress, SilentProgress

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from forensics.engine.spark import SparkTarget

# Scratch space for the facts the edge step hands to scoring; removed when the stage ends.
SCRATCH = ".cluster-facts"


class EventRows(Protocol):
    """cluster's passes over the case's events, the row-level work: `engine.local.LocalEvents` runs them in this
    process, `engine.spark_cluster.SparkEvents` on Spark. Everything after them works on per-account tables."""

    @property
    def engine(self) -> dict:
        """The custody record's description of the engine: {"engine": "local"} or Spark's target."""

    def account_codes(self) -> pl.DataFrame:
        """Every account pseudonym with its UInt32 `code`, in name order (`codes.account_codes`)."""

    def features(self, accounts: pl.LazyFrame | None, codes: pl.DataFrame) -> pl.DataFrame:
        """`detect.features.collect_features`."""

    def coaction(self, *, window_s: int, min_count: int, max_accounts: int) -> CoactionResult:
        """`detect.coaction.coaction_edges` over the events."""

    def facts(self, kinds: Sequence[str], codes: pl.DataFrame, slot_s: int) -> dict[str, pl.DataFrame]:
        """The facts of events kinds (`detect.facts.event_facts_many`), in any row order, repeats allowed."""

    def behaviour_cells(self, codes: pl.DataFrame) -> pl.DataFrame:
        """`detect.behaviour.behaviour_cells` of every account, in any row order."""

    def timelines(self, assignment: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """`detect.timelines.timelines`."""


class Steps:
    """How run_cluster runs its sub-steps: it names each and says what it handled. Here a step is just a call;
    the benchmark substitutes a class that also measures each one (bench/instrumented.py)."""

    def run(self, name: str, fn, *args, **kwargs):
        return fn(*args, **kwargs)

    def handled(self, name: str, text: str) -> None:
        """What step `name` handled (rows, accounts, pairs)."""


def _check_case(case: Path) -> dict:
    if not (case / "ingest.json").is_file() or not (case / "events").is_dir():
        raise CaseError(f"{case}: not a case directory (run `forensics ingest` first)")
    if not any((case / "events").glob("*.parquet")):
        raise CaseError(f"{case}: the case holds no events")
    return jsonio.read(case / "ingest.json")


def _write_parquet(df: pl.DataFrame, path: Path) -> None:
    with replace_file_atomic(path) as tmp:
        df.write_parquet(tmp, compression="zstd", statistics=False)


def _write_edges(coded: pl.DataFrame, names: pl.Series, path: Path, chunk_rows: int = 1 << 20) -> None:
    """edges.parquet with pseudonyms, decoded a chunk at a time (one row group each): the whole table as
    strings would take several GB at the seed scale."""
    schema = pl.DataFrame(schema=EDGE_SCHEMA).to_arrow().schema
    with replace_file_atomic(path) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd", write_statistics=False) as writer:
        for start in range(0, max(coded.height, 1), chunk_rows):
            table = decode_edges(coded.slice(start, chunk_rows), names).to_arrow().cast(schema)
            writer.write_table(table, row_group_size=chunk_rows)


def _coaction_set(co, codes: pl.DataFrame) -> EdgeSet:
    """The directed co-action edges (both directions) renumbered from co-action's own account codes to the
    case's. Both follow pseudonym order, so the renumbering keeps the (src, dst) order."""
    to_case = codes_of(co.accounts, codes)
    coded = co.codes.select(
        to_case.gather(co.codes["src"]).alias("src"),
        to_case.gather(co.codes["dst"]).alias("dst"),
        pl.col("count").cast(pl.Int64),
        pl.lit(None, dtype=pl.Float64).alias("expected"),
        pl.lit(None, dtype=pl.Float64).alias("surprise"),
        pl.col("count").cast(pl.Float64).alias("weight"),
    )
    used = co.fingerprints_total - co.fingerprints_skipped
    stats = BlockingStats(coded.height // 2, used, 0, co.fingerprints_skipped, int(co.accounts.len()))
    return EdgeSet("coaction", coded, decode(codes), stats)


def behaviour_set(
    rows: EventRows, codes: pl.DataFrame, features: pl.DataFrame, store: FactStore, order: AccountOrder, params: ClusterParams
) -> EdgeSet:
    """Behaviour links between near-identical accounts (see `forensics.detect.behaviour`)."""
    bp = BehaviourParams(
        min_requests=params.behaviour_min_requests, min_cosine=params.behaviour_min_cosine,
        evidence_max=params.behaviour_evidence_max,
    )
    active, vectors = behaviour_vectors(rows.behaviour_cells(codes), features, store, bp)
    pairs = behaviour_pairs(active, vectors, order, bp)
    coded = pairs.select(
        "src", "dst", pl.lit(1, dtype=pl.Int64).alias("count"), pl.lit(None, dtype=pl.Float64).alias("expected"),
        pl.col("cosine").alias("surprise"), behaviour_evidence(pl.col("cosine"), bp).round(6).alias("weight"),
    ).filter(pl.col("weight") > 0).cast(CODED_SCHEMA)
    return EdgeSet("behaviour", coded, decode(codes), BlockingStats(coded.height, 0, 0, 0, len(active)))


EVENT_PASS_ONE = ("ip", "net", "slot", "slot_asn", "user_agent", "system_prompt")
EVENT_PASS_TWO = ("template", "skeleton", "opening", "closing", NOVELTY_KIND)


def _kind_edges(kind: str, facts: pl.DataFrame, key_kinds: dict, store: FactStore, sets: list, steps: Steps,
                blocking: Blocking, names: pl.Series) -> None:
    """Keep a kind's facts for the group step (group kinds) and block on them (pair kinds)."""
    if kind in GROUP_KINDS or kind == NOVELTY_KIND:
        facts = steps.run(f"store.{kind}", store.put, kind, facts)
    if kind in key_kinds:
        sets.append(steps.run(f"edges.{kind}", key_edges, key_kinds[kind], facts, blocking, names,
                              prepared=kind in GROUP_KINDS))


def build_edges(
    rows: EventRows,
    accounts: pl.LazyFrame | None,
    codes: pl.DataFrame,
    order: AccountOrder,
    features: pl.DataFrame,
    params: ClusterParams,
    steps: Steps,
    store: FactStore,
) -> tuple[pl.DataFrame, pl.Series, dict[str, BlockingStats]]:
    """Every edge kind, as one table of account codes (`codes`) sorted by (kind, src, dst), the pseudonym of
    each code, and the per-kind accounting. The facts of every group kind are left in `store` for scoring."""
    co = steps.run(
        "edges.coaction",
        rows.coaction,
        window_s=params.coaction_window_s,
        min_count=params.min_coaction,
        max_accounts=params.coaction_max_accounts,
    )
    sets: list[EdgeSet] = [_coaction_set(co, codes)]
    del co
    names = decode(codes)
    blocking = Blocking(params.key_all_pairs_max, params.key_partners, params.key_max_accounts, order.rank)

    key_kinds = {kind.name: kind for kind in KEY_KINDS}
    # Event kinds in two passes over the events (network, time and clients; then prompts): each pass reads and
    # codes every batch once for all its kinds; its facts then go one kind at a time to blocking.
    stored = {*key_kinds, *GROUP_KINDS, NOVELTY_KIND}
    passes = [[k for k in EVENT_PASS_ONE if k in stored], [k for k in EVENT_PASS_TWO if k in stored]]
    for number, kinds in enumerate(passes, 1):
        facts = steps.run(f"facts.pass{number}", rows.facts, kinds, codes, slot_s=params.sync_bucket_s)
        for kind in kinds:
            _kind_edges(kind, facts.pop(kind), key_kinds, store, sets, steps, blocking, names)
        # Once per pass, not per kind: memory handed back is taken again from the kernel, page by page.
        release_freed_memory()
    for kind in ACCOUNT_KINDS:
        if accounts is not None:
            facts = steps.run(f"facts.{kind}", account_facts, kind, accounts, codes, burst_s=params.signup_burst_s)
            _kind_edges(kind, facts, key_kinds, store, sets, steps, blocking, names)
    sets.append(steps.run("edges.behaviour", behaviour_set, rows, codes, features, store, order, params))
    stats: dict[str, BlockingStats] = {}
    for s in sets:
        stats[s.kind] = s.stats
        steps.handled(f"edges.{s.kind}", f"{s.stats.pairs:,} pairs from {s.stats.keys_used:,} shared values")
    # Each set is sorted by (src, dst); concatenated in kind order, the table is sorted by (kind, src, dst).
    frames = [
        s.coded.cast(CODED_SCHEMA).with_columns(pl.lit(s.kind, dtype=KIND).alias("kind"))
        for s in sorted(sets, key=lambda s: s.kind)
    ]
    edges = pl.concat(frames).select("src", "dst", "kind", "count", "expected", "surprise", "weight")
    return edges, names, stats


def _cluster_inputs(case: Path) -> list[dict]:
    """{path, bytes, sha256} of the case files cluster reads (ingest.json, events, accounts), sorted by path."""
    from forensics import custody

    return custody.case_entries(case, ("ingest.json", "accounts.parquet"))


def _record_custody(case: Path, params: ClusterParams, ingest: dict, argv: list[str] | None, inputs: list[dict],
                    engine: dict) -> None:
    """Append this run to CASE/custody.jsonl once every output is written: the case files read (hashed while the
    stage ran; cluster never writes them) and written, each hashed in streaming chunks. The engine is recorded
    here only: every output is the same on both."""
    from forensics import custody

    outputs = [custody.file_entry(name, case / name) for name in CLUSTER_OUTPUTS]
    record = custody.make_record(
        "cluster", argv=argv, parameters={"case": str(case), **dataclasses.asdict(params), **engine}, inputs=inputs,
        outputs=outputs, key_fingerprint=ingest.get("key_fingerprint"),
    )
    custody.append(case, record)


@contextmanager
def event_rows(case: Path, spark: SparkTarget | None, session: SparkSession | None = None,
               groups: int | None = None) -> Iterator[EventRows]:
    """The engine of cluster's row-level passes: this process, or a Spark session (`session`, or one built for the
    stage from `spark`) whose failures become one SparkJobError."""
    if spark is None and session is None:
        yield LocalEvents(case)
        return
    from forensics.engine.spark import engine_record, spark_stage
    from forensics.engine.spark_cluster import SparkEvents

    with spark_stage(spark, session) as active:
        yield SparkEvents(active, case, groups, engine_record(spark, active))


def run_cluster(
    case: Path, params: ClusterParams, progress: Progress = SilentProgress(), argv: list[str] | None = None,
    spark: SparkTarget | None = None, session: SparkSession | None = None, groups: int | None = None,
) -> dict:
    """Run the whole cluster stage on a case directory and return a summary.

    `argv` (the command line, from the CLI) goes into the custody log line this run appends. With `spark` (or a
    running `session`), the passes over the events run on Spark, in `groups` groups of accounts (see
    `engine.spark_cluster.SparkEvents`); the outputs are the same.
    """
    case = Path(case)
    params.validate()
    ingest = _check_case(case)
    steps = Steps()
    task = progress.task("cluster", total=6)
    with case_lock(case), event_rows(case, spark, session, groups) as rows:
        from forensics.custody import Background

        inputs = Background(_cluster_inputs, case)  # hashed beside the work
        stale = case / "clusters.json"
        if stale.exists():
            stale.unlink()
        shutil.rmtree(case / SCRATCH, ignore_errors=True)
        accounts = scan_accounts(case)

        # Only accounts that sent requests take part: an account-table row without traffic has no features
        # and cannot be scored, so payment or signup ties to it would leave unscorable members in a cluster.
        codes = steps.run("codes", rows.account_codes)
        steps.handled("codes", f"{codes.height:,} accounts")
        features = steps.run("features", rows.features, accounts, codes)
        steps.handled("features", f"{features.height:,} accounts")
        _write_parquet(features, case / "features.parquet")
        order = AccountOrder.from_digests(features["activity_digest"].to_numpy())
        task.advance()

        store = FactStore(case / SCRATCH)
        edges, names, edge_stats = build_edges(rows, accounts, codes, order, features, params, steps, store)
        co_skipped = edge_stats["coaction"].keys_dropped
        steps.run("edges.write", _write_edges, edges, names, case / "edges.parquet")
        steps.handled("edges.write", f"{edges.height:,} edges")
        task.advance()

        gp = params.graph_params()
        graph_edges = steps.run("graph", build_graph, edges, order, gp)
        steps.handled("graph", f"{edges.height:,} edges to {graph_edges.height:,} pairs")
        task.advance()
        clustering = steps.run("hdbscan", cluster_graph, graph_edges, names, gp, order)
        steps.handled("hdbscan", f"{len(clustering.nodes):,} accounts")
        cl_frame = clustering.frame()
        task.advance()

        # Scoring needs only the co-action edges (its groups' linked members); the edge table (1 GiB at seed scale)
        # is freed first.
        edge_count = edges.height
        coaction = steps.run("links", edges.filter, pl.col("kind") == "coaction")
        steps.handled("links", f"{coaction.height:,} co-action edges kept of {edge_count:,} edges")
        del edges
        sp = params.score_params()
        scored, roles = steps.run(
            "scoring",
            score_clusters,
            features,
            cl_frame,
            codes,
            graph_edges,
            coaction.select("src", "dst", "kind"),
            store,
            sp,
            coaction_window_s=params.coaction_window_s,
            strong_similarity=1.0 - params.cluster_epsilon,
            min_samples=params.min_samples,
            rank=features.select(ACCOUNT).with_columns(pl.Series("rank", order.rank)),
        )
        flagged_ids = {c["cluster_id"] for c in scored if c["flagged"]}
        steps.handled("scoring", f"{len(scored):,} clusters")
        # Accounts that joined a flagged group after clustering take its cluster_id, with membership 0: HDBSCAN
        # did not place them.
        attached = roles.filter(pl.col("role") == "attached")
        joined = attached.join(cl_frame.select(ACCOUNT, "outlier_score"), on=ACCOUNT, how="left").select(
            ACCOUNT, "cluster_id", "membership", pl.col("outlier_score").fill_null(1.0), "role", "flagged"
        )
        # Roles carry the final cluster ids and memberships (groups merged by scoring take one id; a group judged
        # as its sub-groups gives their memberships, and its accounts in none of them are ungrouped).
        cl_frame = pl.concat([
            cl_frame.join(attached.select(ACCOUNT), on=ACCOUNT, how="anti").drop("cluster_id", "membership")
            .join(roles.select(ACCOUNT, "cluster_id", "role", "flagged", "membership"), on=ACCOUNT, how="left")
            .with_columns(pl.col("cluster_id").fill_null(-1), pl.col("role").fill_null("unclustered"),
                          pl.col("flagged").fill_null(False), pl.col("membership").fill_null(0.0))
            .select(ACCOUNT, "cluster_id", "membership", "outlier_score", "role", "flagged"),
            joined,
        ])
        _write_parquet(cl_frame.sort(ACCOUNT), case / "clusters.parquet")
        shutil.rmtree(case / SCRATCH, ignore_errors=True)
        daily, hourly = steps.run("timelines", rows.timelines, cl_frame)
        _write_parquet(daily, case / TIMELINE_DAILY_FILE)
        _write_parquet(hourly, case / TIMELINE_HOURLY_FILE)
        task.advance()

        with replace_file_atomic(case / "graph.graphml") as tmp:
            steps.run("graphml", write_graphml, tmp, graph_edges, names, cl_frame)
        steps.handled("graphml", f"{len(clustering.nodes):,} accounts")

        doc = {
            "tool_version": __version__,
            "key_fingerprint": ingest.get("key_fingerprint"),
            "parameters": dataclasses.asdict(params),
            "signals_unavailable": ingest.get("signals_unavailable", []),
            "edge_kinds": {k: v.as_dict() for k, v in sorted(edge_stats.items())},
            "coaction_fingerprints_skipped": co_skipped,
            "accounts_total": features.height,
            "accounts_in_graph": len(clustering.nodes),
            "clusters": scored,
            "high_volume_accounts": high_volume_accounts(features, sp),
        }
        jsonio.write(case / "clusters.json", doc)
        _record_custody(case, params, ingest, argv, inputs.result(), rows.engine)
        task.advance()
    return {
        "clusters": len(scored),
        "flagged": len(flagged_ids),
        "flagged_accounts": int(sum(c["flagged_accounts"] for c in scored if c["flagged"])),
        "accounts_total": features.height,
        "accounts_in_graph": len(clustering.nodes),
        "edges": edge_count,
        "coaction_fingerprints_skipped": co_skipped,
    }
