"""Our co-action edges against QUT's coordination-network-toolkit (co_retweet) on its fixture and real data.

The peer data lives outside the repository, in ../shared/peer-data (see its README.md).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl
import pytest

from forensics.detect.coaction import coaction_edges

PEER_DATA = Path(__file__).resolve().parents[2] / "shared" / "peer-data"
FIXTURE = PEER_DATA / "qut_coretweet_fixture.csv"
CORTWEET = PEER_DATA / "cortweet_russian_coord_tweets.parquet"

pytestmark = pytest.mark.skipif(
    not PEER_DATA.is_dir(), reason=f"peer data directory {PEER_DATA} is absent (it sits beside the repository)"
)

EDGE_SCHEMA = {"src": pl.String, "dst": pl.String, "count": pl.Int64}


def as_events(frame: pl.DataFrame, *, account: str, key: str, seconds: str, request: str) -> pl.LazyFrame:
    return frame.lazy().select(
        pl.col(request).cast(pl.String).alias("request_id"),
        pl.col(account).cast(pl.String).alias("account_pseudonym"),
        pl.col(key).cast(pl.String).alias("prompt_fingerprint"),
        pl.from_epoch(pl.col(seconds).cast(pl.Int64), time_unit="s").dt.replace_time_zone("UTC").alias("timestamp"),
    )


def toolkit_co_retweet(db: Path, window_s: int, min_weight: int) -> pl.DataFrame:
    """The peer's own co_retweet computation; directed edges without self-loops."""
    from coordination_network_toolkit.compute_networks import compute_co_retweet_parallel

    compute_co_retweet_parallel(str(db), window_s, n_threads=2, min_edge_weight=min_weight)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select user_1, user_2, weight from co_retweet_network where user_1 != user_2").fetchall()
    return pl.DataFrame(rows, schema=EDGE_SCHEMA, orient="row").sort("src", "dst")


# ---- the toolkit's own test fixture ---------------------------------------------------------------------

# (window s, minimum edge weight, self-loops kept) -> nodes, from the table in peer-data/README.md.
FIXTURE_NODES = [
    ((1, 1, False), 2),
    ((1, 1, True), 3),
    ((1, 2, False), 0),
    ((1, 2, True), 1),
    ((60, 1, False), 6),
    ((60, 1, True), 7),
]


@pytest.fixture(scope="module")
def fixture_events() -> pl.LazyFrame:
    # The CSV starts with a UTF-8 byte order mark; polars drops it, and this fails loudly if it did not.
    frame = pl.read_csv(FIXTURE, schema_overrides={"message_id": pl.String, "timestamp": pl.Int64})
    assert frame.columns[:4] == ["message_id", "user_id", "username", "repost_id"]
    return as_events(frame, account="user_id", key="repost_id", seconds="timestamp", request="message_id")


@pytest.mark.parametrize(("settings", "nodes"), FIXTURE_NODES, ids=[str(s) for s, _ in FIXTURE_NODES])
def test_qut_fixture_node_counts(fixture_events, settings, nodes):
    window_s, min_weight, loops = settings
    result = coaction_edges(
        fixture_events, window_s=window_s, min_count=min_weight, max_accounts=0, include_self_loops=loops
    )
    accounts = set(result.edges["src"]) | set(result.edges["dst"])
    assert len(accounts) == nodes


@pytest.mark.parametrize(("window_s", "min_weight"), [(1, 1), (1, 2), (60, 1), (60, 2)])
def test_qut_fixture_edges_equal_the_toolkit(fixture_events, tmp_path, window_s, min_weight):
    from coordination_network_toolkit.preprocess import preprocess_csv_files

    db = tmp_path / "fixture.db"
    preprocess_csv_files(str(db), [str(FIXTURE)])
    expected = toolkit_co_retweet(db, window_s, min_weight)
    ours = coaction_edges(fixture_events, window_s=window_s, min_count=min_weight, max_accounts=0).edges
    assert ours.equals(expected), (ours, expected)


# ---- real CooRTweet data --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cortweet() -> pl.DataFrame:
    return pl.read_parquet(CORTWEET)


@pytest.fixture(scope="module")
def cortweet_db(cortweet, tmp_path_factory) -> Path:
    from coordination_network_toolkit.preprocess import preprocess_data

    db = tmp_path_factory.mktemp("cortweet") / "peer.db"
    preprocess_data(
        str(db),
        (
            (content_id, account_id, account_id, object_id, None, "", timestamp, None)
            for content_id, account_id, object_id, timestamp in cortweet.select(
                "content_id", "account_id", "object_id", "timestamp_share"
            ).iter_rows()
        ),
    )
    return db


@pytest.fixture(scope="module")
def cortweet_peer(cortweet_db):
    """The toolkit's co_retweet edges per (window, min count), computed once per module."""
    cache: dict[tuple[int, int], pl.DataFrame] = {}

    def edges(window_s: int, min_count: int) -> pl.DataFrame:
        if (window_s, min_count) not in cache:
            cache[window_s, min_count] = toolkit_co_retweet(cortweet_db, window_s, min_count)
        return cache[window_s, min_count]

    return edges


@pytest.mark.parametrize(("window_s", "min_count"), [(10, 1), (60, 1), (60, 2)])
def test_cortweet_edges_equal_the_toolkit(cortweet, cortweet_peer, window_s, min_count):
    expected = cortweet_peer(window_s, min_count)
    events = as_events(
        cortweet, account="account_id", key="object_id", seconds="timestamp_share", request="content_id"
    )
    result = coaction_edges(events, window_s=window_s, min_count=min_count, max_accounts=0)
    assert expected.height >= 50  # the comparison is about real, non-trivial graphs (95 edges at 60 s, 2)
    assert result.rows_considered == cortweet.height
    assert result.fingerprints_skipped == 0
    assert result.edges.equals(expected), (result.edges, expected)


# ---- the same check through the real pipeline: ingest, then cluster -------------------------------------


@pytest.fixture(scope="module")
def cortweet_case(tmp_path_factory) -> tuple[Path, Path]:
    from forensics.cli import main

    work = tmp_path_factory.mktemp("cortweet-case")
    key = work / "case.key"
    assert main(["keygen", "--out", str(key), "--quiet"]) == 0
    case = work / "case"
    argv = ["ingest", str(CORTWEET), "--case", str(case), "--key-file", str(key), "--quiet"]
    argv += ["--map", "prompt=object_id", "--map", "timestamp=timestamp_share", "--map", "request_id=content_id"]
    assert main(argv) == 0
    return case, key


@pytest.mark.slow
@pytest.mark.parametrize(("window_s", "min_count"), [(10, 1), (60, 1), (60, 2)])
def test_cortweet_pipeline_coaction_edges_equal_the_toolkit(cortweet_case, cortweet_peer, window_s, min_count):
    from forensics.cli import main
    from forensics.keys import load_key

    case, key_file = cortweet_case
    argv = ["cluster", str(case), "--coaction-window", str(window_s), "--min-coaction", str(min_count)]
    assert main([*argv, "--coaction-max-accounts", "0", "--quiet"]) == 0
    ours = (
        pl.read_parquet(case / "edges.parquet")
        .filter(pl.col("kind") == "coaction")
        .select("src", "dst", pl.col("count").cast(pl.Int64))
        .sort("src", "dst")
    )
    key = load_key(key_file)
    peer = cortweet_peer(window_s, min_count)
    ids = sorted(set(peer["src"]) | set(peer["dst"]))
    pseudonym = dict(zip(ids, key.pseudonyms("account", ids), strict=True))
    expected = peer.select(
        pl.col("src").replace_strict(pseudonym),
        pl.col("dst").replace_strict(pseudonym),
        "count",
    ).sort("src", "dst")
    assert expected.height >= 50
    assert ours.equals(expected), (ours, expected)
