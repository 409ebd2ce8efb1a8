"""The responder's exports from the real pipeline (synth tiny -> ingest -> cluster -> report): timeline.jsonl in
Timesketch's import format with per-account events, and graph.graphml limited to the accounts of accounts.csv.

Expected figures are computed here straight from the case's events, account table and cluster assignment, not
from the report's own tables."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import real_pipeline

CASE_ID = "TS-2026-007"
GRAPHML = "{http://graphml.graphdrawing.org/xmlns}"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return real_pipeline(tmp_path_factory.mktemp("exports"), seed=5, title="Export test", case_id=CASE_ID)


def _accounts_csv(bundle: Path) -> dict[str, dict[str, str]]:
    text = (bundle / "data/accounts.csv").read_text(encoding="utf-8")
    return {row["account_pseudonym"]: row for row in csv.DictReader(io.StringIO(text))}


def _events(bundle: Path) -> list[dict]:
    return [json.loads(line) for line in (bundle / "data/timeline.jsonl").read_text(encoding="utf-8").splitlines()]


def _iso(value: datetime) -> str:
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")


def test_every_timeline_line_has_the_fields_timesketch_requires(pipeline) -> None:
    events = _events(pipeline["bundle"])
    assert events
    for event in events:
        assert event["case_id"] == CASE_ID
        assert isinstance(event["message"], str) and event["message"]
        assert isinstance(event["timestamp_desc"], str) and event["timestamp_desc"]
        moment = datetime.fromisoformat(event["datetime"])
        assert moment.utcoffset() is not None, event["datetime"]  # ISO 8601 with its offset, as the importer wants
        assert event["timestamp"] == round(moment.timestamp() * 1_000_000)
    # Sorted by time, so a reader (or `sort`) sees the file in its own order.
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)


def test_per_account_events_match_the_case_computed_independently(pipeline) -> None:
    case, bundle = pipeline["case"], pipeline["bundle"]
    listed = _accounts_csv(bundle)
    events = pl.read_parquet(sorted((case / "events").glob("*.parquet")), columns=["account_pseudonym", "timestamp"])
    span = {
        row["account_pseudonym"]: (row["first"], row["last"])
        for row in events.group_by("account_pseudonym")
        .agg(pl.col("timestamp").min().alias("first"), pl.col("timestamp").max().alias("last"))
        .iter_rows(named=True)
    }
    created = dict(pl.read_parquet(case / "accounts.parquet", columns=["account_pseudonym", "created_at"]).iter_rows())
    assignment = pl.read_parquet(case / "clusters.parquet")
    flagged = set(assignment.filter(pl.col("flagged"))["account_pseudonym"].to_list())
    cluster_of = dict(assignment.select("account_pseudonym", "cluster_id").iter_rows())
    assert flagged and flagged <= set(listed), "the tiny incident has flagged accounts, all listed in accounts.csv"

    expected: dict[tuple[str, str], str] = {}
    for account in listed:
        first, last = span[account]
        expected[(account, "forensics:account:first_request")] = _iso(first)
        expected[(account, "forensics:account:last_request")] = _iso(last)
        if created.get(account) is not None:
            expected[(account, "forensics:account:created")] = _iso(created[account])
        if account in flagged:  # joined: its first request, the first moment its activity is the group's
            expected[(account, "forensics:account:joined_group")] = _iso(first)

    found: dict[tuple[str, str], str] = {}
    for event in _events(bundle):
        if event["data_type"] == "forensics:timeline:daily":
            continue
        key = (event["account_pseudonym"], event["data_type"])
        assert key not in found, f"duplicate event {key}"
        found[key] = event["datetime"]
        assert event["cluster_id"] == cluster_of[event["account_pseudonym"]]
        assert event["flagged"] == (event["account_pseudonym"] in flagged)
        assert event["account_pseudonym"] in event["message"]
    assert found == expected
    assert any(kind == "forensics:account:created" for _, kind in found), "the tiny incident has sign-up times"
    assert any(kind == "forensics:account:joined_group" for _, kind in found)


def test_daily_totals_stay_in_the_timeline(pipeline) -> None:
    bundle = pipeline["bundle"]
    rows = list(csv.DictReader(io.StringIO((bundle / "data/timeline.csv").read_text(encoding="utf-8"))))
    daily = [e for e in _events(bundle) if e["data_type"] == "forensics:timeline:daily"]
    assert [(e["datetime"], e["series"], e["requests"]) for e in daily] == [
        (f"{r['day']}T00:00:00+00:00", r["series"], int(r["requests"])) for r in rows
    ]
    assert all(e["timestamp_desc"] == "Requests per UTC day" for e in daily)


def test_graphml_nodes_are_labelled_flagged_accounts_of_accounts_csv(pipeline) -> None:
    """Every node of the bundle's graph is an account of accounts.csv, with `label` and `flagged` as listed there,
    and every edge joins two such nodes and carries its combined `weight`."""
    bundle = pipeline["bundle"]
    listed = _accounts_csv(bundle)
    root = ET.parse(bundle / "data/graph.graphml").getroot()
    keys = {k.get("id"): (k.get("for"), k.get("attr.name")) for k in root.iter(f"{GRAPHML}key")}
    assert keys["label"] == ("node", "label") and keys["flagged"] == ("node", "flagged")
    nodes = list(root.iter(f"{GRAPHML}node"))
    assert nodes
    ids = set()
    for node in nodes:
        node_id = node.get("id")
        data = {d.get("key"): d.text for d in node.findall(f"{GRAPHML}data")}
        assert node_id in listed, node_id
        assert data["label"] == node_id[:8]
        assert data["flagged"] == listed[node_id]["flagged"]
        assert int(data["cluster_id"]) == int(listed[node_id]["cluster_id"])
        assert data["role"] == listed[node_id]["role"]
        ids.add(node_id)
    assert any(listed[i]["flagged"] == "true" for i in ids)
    edges = list(root.iter(f"{GRAPHML}edge"))
    assert edges
    for edge in edges:
        assert edge.get("source") in ids and edge.get("target") in ids
        data = {d.get("key"): float(d.text) for d in edge.findall(f"{GRAPHML}data")}
        assert 0.0 < data["weight"] <= 1.0
        assert set(data) - {"weight"} <= {k for k, (kind, _) in keys.items() if kind == "edge"}
