"""The evidence bundle: a BagIt bag holding the plain-language report, tables, timelines and figures.

Everything in the bundle is computed from the case files only (never quarantine.parquet, the one file with
raw values), sorted before it is written, and formatted with fixed rules, so the same case gives the same
bytes whatever the directory, thread count or hash seed. The bag is built in a staging directory beside the
target and renamed into place.
"""

from __future__ import annotations

import csv
import hashlib
import html
import heapq
import io
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import networkx as nx
import polars as pl

from forensics import __version__, jsonio
from forensics.bundle import figures
from forensics.bundle import render as r
from forensics.bundle.bag import (
    CUSTODY, MANIFEST, BAG_INFO, BAGIT, seal, sha256_bytes, sign_tagmanifest, unsealed_bag_files, write_files,
)
from forensics.bundle.case_metadata import CaseMetadata, bag_info_fields
from forensics.casefiles import TIMELINE_BACKGROUND, TIMELINE_DAILY_FILE, TIMELINE_HOURLY_FILE
from forensics.detect.timelines import read_timelines, series_of
from forensics.errors import BadInputError, CaseError, InternalError
from forensics.fsio import case_lock, staged_dir
from forensics.progress import Progress, SilentProgress

ACCOUNT = "account_pseudonym"
DEFAULT_TITLE = "Distillation campaign evidence report"
_PSEUDONYM = re.compile(r"[0-9a-f]{32}")
_CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+-]{0,99}")


# --------------------------------------------------------------------------------------------- loading


@dataclass
class CaseData:
    ingest: dict
    clusters_meta: dict
    timelines: tuple[dict, dict]  # timelines.read_timelines: daily and hourly requests by series
    activity: pl.DataFrame  # per account: requests, tokens, first and last request, active days (features.parquet)
    assignment: pl.DataFrame  # account_pseudonym, cluster_id, membership, outlier_score, role, flagged
    accounts: pl.DataFrame | None
    graph: nx.Graph
    graph_bytes: bytes  # the bundle's graph.graphml: the case's, limited to the accounts of accounts.csv

    @property
    def flagged_ids(self) -> list[int]:
        return flagged_cluster_ids(self.clusters_meta)


def flagged_cluster_ids(clusters_meta: dict) -> list[int]:
    """The ids of the flagged groups of a clusters.json, in order."""
    return sorted(c["cluster_id"] for c in clusters_meta.get("clusters", []) if c.get("flagged"))


def clustered(assignment: pl.DataFrame) -> pl.DataFrame:
    """The assignment rows of the accounts in a group: the rows of accounts.csv, and the nodes of the bundle's graph."""
    return assignment.filter(pl.col("cluster_id") >= 0)


def load_case(case: Path) -> CaseData:
    """Read exactly the files the case format promises to `report`; quarantine.parquet is never opened."""
    case = Path(case)
    if not (case / "ingest.json").is_file():
        raise CaseError(f"{case}: not a case directory (no ingest.json); run `forensics ingest` first")
    if not (case / "clusters.json").is_file():
        raise CaseError(f"{case}: no clusters.json; run `forensics cluster {case.name}` before `report`")
    ingest = jsonio.read(case / "ingest.json")
    meta = jsonio.read(case / "clusters.json")
    if meta.get("key_fingerprint") != ingest.get("key_fingerprint"):
        raise CaseError(f"{case}: clusters.json was made with a different key than ingest.json; re-run cluster")
    for name in ("clusters.parquet", "graph.graphml", "features.parquet", TIMELINE_DAILY_FILE, TIMELINE_HOURLY_FILE):
        if not (case / name).is_file():
            raise CaseError(f"{case}: {name} is missing; re-run `forensics cluster`")
    activity = pl.read_parquet(case / "features.parquet", columns=list(ACTIVITY_COLUMNS))
    assignment = pl.read_parquet(case / "clusters.parquet").select(
        ACCOUNT, "cluster_id", "membership", "outlier_score", "role", "flagged"
    )
    assignment = assignment.sort(ACCOUNT)
    accounts = None
    if (case / "accounts.parquet").is_file():
        accounts = pl.read_parquet(case / "accounts.parquet").sort(ACCOUNT)
    drawn = set(assignment.filter(pl.col("cluster_id").is_in(flagged_cluster_ids(meta)))[ACCOUNT].to_list())
    listed = set(clustered(assignment)[ACCOUNT].to_list())
    graph, graph_bytes = read_graph((case / "graph.graphml").read_bytes(), listed, drawn)
    return CaseData(ingest, meta, read_timelines(case), activity, assignment, accounts, graph, graph_bytes)


def read_graph(graphml: bytes, listed: set[str], drawn: set[str]) -> tuple[nx.Graph, bytes]:
    """One streaming pass over the case's GraphML: every node checked to be a pseudonym; the bundle's copy, with only
    the nodes in `listed` (the accounts of accounts.csv) and the edges among them, in the same order and format, so
    that every node of the bundle's graph is an account of its tables; and the subgraph among `drawn` (the flagged
    groups' members, the only ones drawn) with edge weights. The full graph can be large; neither keeps more."""
    import xml.etree.ElementTree as ET

    ns = "http://graphml.graphdrawing.org/xmlns"
    ET.register_namespace("", ns)
    head = graphml.split(b'<graph edgedefault="undirected">', 1)[0]
    lines = [head.decode("utf-8") + '<graph edgedefault="undirected">']
    weight_key = None
    graph = nx.Graph()
    try:
        for _, element in ET.iterparse(io.BytesIO(graphml), events=("end",)):
            tag = element.tag.removeprefix("{" + ns + "}")
            if tag == "key" and element.get("for") == "edge" and element.get("attr.name") == "weight":
                weight_key = element.get("id")
            elif tag == "node":
                node = element.get("id") or ""
                if not _PSEUDONYM.fullmatch(node):
                    raise InternalError("graph.graphml holds a node that is not a pseudonym; refusing to copy it")
                if node in listed:
                    lines.append(_element_text(element, ns))
                if node in drawn:
                    graph.add_node(node)
                element.clear()
            elif tag == "edge":
                u, v = element.get("source"), element.get("target")
                if u in listed and v in listed:
                    lines.append(_element_text(element, ns))
                if u in drawn and v in drawn:
                    weights = [d.text for d in element if d.get("key") == weight_key and d.text]
                    graph.add_edge(u, v, weight=float(weights[0]) if weights else 1.0)
                element.clear()
    except ET.ParseError:
        raise CaseError("graph.graphml is not valid GraphML; re-run `forensics cluster`") from None
    lines.append("  </graph>\n</graphml>\n")
    return graph, "\n".join(lines).encode("utf-8")


def _element_text(element, ns: str) -> str:
    """A node or edge element as our GraphML writer lays it out (one data element a line)."""
    tag = element.tag.removeprefix("{" + ns + "}")
    attrs = f'id="{element.get("id")}"' if tag == "node" else f'source="{element.get("source")}" target="{element.get("target")}"'
    data = [f'      <data key="{d.get("key")}">{html.escape(d.text or "", quote=False)}</data>' for d in element]
    return "\n".join([f"    <{tag} {attrs}>", *data, f"    </{tag}>"])


# ------------------------------------------------------------------------------------------ formatting


def iso(value: datetime | None) -> str:
    """UTC timestamps as ISO-8601 with Z, seconds unless sub-second detail exists."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    spec = "microseconds" if value.microsecond else "seconds"
    return value.isoformat(timespec=spec) + "Z"


def cell(value: Any) -> str:
    """One CSV cell: integers plain, floats with 6 decimals, booleans true/false, null empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.6f}"
        return "0.000000" if text == "-0.000000" else text
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_bytes(headers: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return buffer.getvalue().encode("utf-8")


def jsonl_bytes(records: list[dict]) -> bytes:
    import json

    return "".join(
        json.dumps(jsonio._canonical(rec), sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
        for rec in records
    ).encode("utf-8")


label = r.label


# ------------------------------------------------------------------------------------------ computation


@dataclass
class Tables:
    days: list[date]
    account_rows: list[list[Any]]
    daily: dict[str, dict[date, tuple[int, int, int, int]]]  # series -> day -> (requests, accounts, in, out)
    hourly: dict[str, list[int]]
    creation: tuple[list[date], list[int], list[int]] | None
    creation_reason: str


def _series_of(data: CaseData) -> pl.DataFrame:
    return series_of(data.assignment)


def _window_days(data: CaseData) -> list[date]:
    window = data.ingest.get("window") or {}
    start = window.get("since") or window.get("first_seen")
    end = window.get("until")
    last = window.get("last_seen")
    if not start or not (end or last):
        return []
    first_day = datetime.fromisoformat(start.replace("Z", "+00:00")).date()
    if end:
        last_day = (datetime.fromisoformat(end.replace("Z", "+00:00")) - timedelta(microseconds=1)).date()
    else:
        last_day = datetime.fromisoformat(last.replace("Z", "+00:00")).date()
    if last:  # never cut off observed data
        last_day = max(last_day, datetime.fromisoformat(last.replace("Z", "+00:00")).date())
    first = window.get("first_seen")
    if first:
        first_day = min(first_day, datetime.fromisoformat(first.replace("Z", "+00:00")).date())
    return [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]


def compute_tables(data: CaseData) -> Tables:
    """The report's tables, from the small tables cluster wrote (it never reads the events)."""
    days = _window_days(data)
    members = clustered(data.assignment)
    series = _series_of(data)
    daily, hourly = data.timelines
    per_account = {row[ACCOUNT]: row for row in data.activity.iter_rows(named=True)}
    observed = sorted({d for per_day in daily.values() for d in per_day})
    if observed and (not days or observed[0] < days[0] or observed[-1] > days[-1]):
        start = min(observed[0], days[0]) if days else observed[0]
        end = max(observed[-1], days[-1]) if days else observed[-1]
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    created = {}
    if data.accounts is not None and "created_at" in data.accounts.columns:
        created = {
            row[ACCOUNT]: row["created_at"]
            for row in data.accounts.select(ACCOUNT, "created_at").iter_rows(named=True)
        }
    account_rows = []
    for row in members.iter_rows(named=True):
        stats_row = per_account.get(row[ACCOUNT], {})
        account_rows.append(
            [
                row[ACCOUNT], int(row["cluster_id"]), float(row["membership"]),
                bool(row["flagged"]), row["role"], int(stats_row.get("requests") or 0),
                int(stats_row.get("input_tokens") or 0), int(stats_row.get("output_tokens") or 0),
                stats_row.get("first_seen"), stats_row.get("last_seen"), int(stats_row.get("active_days") or 0),
                created.get(row[ACCOUNT]),
            ]
        )
    account_rows.sort(key=lambda a: (a[1], a[0]))
    creation = None
    reason = ""
    if data.accounts is None:
        reason = "No account table (--accounts) was supplied, so sign-up times are unknown."
    elif not any(v is not None for v in created.values()):
        reason = "The account table has no sign-up times (created_at)."
    else:
        flagged_members = set(series[ACCOUNT].to_list())
        per_day_flagged: dict[date, int] = {}
        per_day_other: dict[date, int] = {}
        for account, when in created.items():
            if when is None:
                continue
            target = per_day_flagged if account in flagged_members else per_day_other
            target[when.date()] = target.get(when.date(), 0) + 1
        all_days = sorted(set(per_day_flagged) | set(per_day_other))
        span = [all_days[0] + timedelta(days=i) for i in range((all_days[-1] - all_days[0]).days + 1)]
        creation = (span, [per_day_flagged.get(d, 0) for d in span], [per_day_other.get(d, 0) for d in span])
    return Tables(days, account_rows, daily, hourly, creation, reason)


# ------------------------------------------------------------------------------------------- the files


ACCOUNT_HEADERS = [
    "account_pseudonym", "cluster_id", "membership", "flagged", "role", "requests", "input_tokens", "output_tokens",
    "first_seen", "last_seen", "active_days", "created_at",
]
CLUSTER_HEADERS = [
    "cluster_id", "flagged", "suspicion_score", "accounts", "flagged_accounts", "weakly_attached", "left_out",
    "requests", "input_tokens", "output_tokens", "first_seen", "last_seen", "coordination", "extraction", "automation",
    "infrastructure", "strong_indicators", "benign_explanation",
]
TIMELINE_HEADERS = ["day", "series", "cluster_id", "flagged", "requests", "accounts", "input_tokens", "output_tokens"]


def _component(cluster: dict, name: str) -> float | None:
    value = (cluster.get("score_components") or {}).get(name)
    return None if value is None else float(value)


def timeline_rows(tables: Tables, flagged: list[int]) -> list[list[Any]]:
    """Days with at least one request, per flagged cluster and for the background (everyone else)."""
    order = [f"cluster-{cid}" for cid in flagged] + [TIMELINE_BACKGROUND]
    rows = []
    for day in tables.days:
        for name in order:
            counts = tables.daily.get(name, {}).get(day)
            if counts is None or counts[0] == 0:
                continue
            cid = int(name.split("-")[1]) if name != TIMELINE_BACKGROUND else None
            rows.append([day, name, cid, cid is not None, *counts])
    return rows


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# At one moment, events sort in this order (then by group and pseudonym), so the file's order is fixed.
TIMESKETCH_KINDS = {
    "forensics:timeline:daily": "Requests per UTC day",
    "forensics:account:created": "Account created",
    "forensics:account:first_request": "First request",
    "forensics:account:joined_group": "Joined flagged group (first request)",
    "forensics:account:last_request": "Last request",
}
_KIND_RANK = {kind: rank for rank, kind in enumerate(TIMESKETCH_KINDS)}


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _event(kind: str, moment: datetime, message: str, case_id: str, **fields: Any) -> dict:
    """One Timesketch event: the importer's required `message`, `datetime` (ISO 8601 with offset) and
    `timestamp_desc`, plus `timestamp` in microseconds since the epoch, which older importers require."""
    moment = _utc(moment)
    return {
        "case_id": case_id,
        "message": message,
        "datetime": moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds"),
        "timestamp": (moment - _EPOCH) // timedelta(microseconds=1),
        "timestamp_desc": TIMESKETCH_KINDS[kind],
        "data_type": kind,
        **fields,
    }


def account_events(account_rows: list[list[Any]], case_id: str) -> list[dict]:
    """Per-account events for the accounts of accounts.csv (pseudonyms only): created, first request, last request
    and, for accounts counted as flagged, joining their group.

    Accounts are grouped on their activity over the whole window, not at a moment, so the join is dated at the
    account's first request in the window: the first moment its activity is part of the group's. It is not a
    claim about when the account was recruited or registered.
    """
    events = []
    for (account, cid, membership, flagged, role, requests, _in, _out,
         first_seen, last_seen, _days, created_at) in account_rows:
        who = f"Account {account} ({label(cid)}, {'flagged' if flagged else 'not flagged: ' + role})"
        common = {"account_pseudonym": account, "cluster_id": cid, "flagged": flagged, "role": role,
                  "membership": round(float(membership), 6)}
        if created_at is not None:
            events.append(_event("forensics:account:created", created_at, f"{who}: account created", case_id, **common))
        if first_seen is not None:
            events.append(_event("forensics:account:first_request", first_seen,
                                 f"{who}: first request in the incident window", case_id, requests=requests, **common))
            if flagged:
                events.append(_event(
                    "forensics:account:joined_group", first_seen,
                    f"{who}: joined flagged {label(cid)} (its first request; grouping covers the whole window)",
                    case_id, **common,
                ))
        if last_seen is not None:
            events.append(_event("forensics:account:last_request", last_seen,
                                 f"{who}: last request in the incident window", case_id, requests=requests, **common))
    return events


def timesketch_records(rows: list[list[Any]], account_rows: list[list[Any]], *, case_id: str) -> list[dict]:
    """Timesketch JSONL: one event per series and UTC day (at 00:00 UTC) and the per-account events, sorted by
    time, then kind, then group (background last) and pseudonym."""
    records = []
    for day, name, cid, is_flagged, requests, accounts, tokens_in, tokens_out in rows:
        moment = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        who = f"{label(cid)} (flagged)" if is_flagged else "Background (all accounts outside flagged clusters)"
        records.append(_event(
            "forensics:timeline:daily", moment,
            f"{who}: {requests} requests from {accounts} accounts on {day.isoformat()} (UTC day)", case_id,
            series=name, cluster_id=cid, flagged=is_flagged, requests=requests, accounts=accounts,
            input_tokens=tokens_in, output_tokens=tokens_out,
        ))
    records += account_events(account_rows, case_id)

    def order(rec: dict) -> tuple:
        cid = rec["cluster_id"]
        return (rec["timestamp"], _KIND_RANK[rec["data_type"]], cid is None, cid or 0, rec.get("account_pseudonym", ""))

    return sorted(records, key=order)


def _versions() -> dict[str, str]:
    """The running environment's versions (see forensics/environment.py, shared with the custody log)."""
    from forensics.environment import versions

    return versions()


def bagging_date(data: CaseData, override: tuple[str, str] | None = None) -> tuple[str, str]:
    """(YYYY-MM-DD, source): SOURCE_DATE_EPOCH if set, else the last day of the incident window."""
    if override:
        return override
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            moment = datetime.fromtimestamp(int(epoch), tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise BadInputError(f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix time in seconds") from None
        return moment.date().isoformat(), "SOURCE_DATE_EPOCH"
    window = data.ingest.get("window") or {}
    if window.get("until"):
        end = datetime.fromisoformat(window["until"].replace("Z", "+00:00")) - timedelta(microseconds=1)
        return end.date().isoformat(), "window_until"
    if window.get("last_seen"):
        return datetime.fromisoformat(window["last_seen"].replace("Z", "+00:00")).date().isoformat(), "last_seen"
    return "1970-01-01", "no_events"


def default_case_id(ingest: dict) -> str:
    """A stable case ID from the input files' hashes when none is given."""
    digest = hashlib.sha256("".join(f"{i['sha256']}\n" for i in ingest.get("inputs", [])).encode()).hexdigest()
    return f"case-{digest[:12]}"


def build_summary(
    data: CaseData,
    title: str,
    case_id: str,
    date_text: str,
    date_source: str,
    *,
    metadata: CaseMetadata | None = None,
    versions: dict[str, str] | None = None,
) -> dict:
    """summary.json. `metadata` (the user's case metadata) goes into the `case` section and the report
    parameters, so `verify --logs` replays it. `versions` replaces the running environment's versions only for
    `verify --logs`, which rebuilds with the recorded ones to compare everything else (see verify.rerun)."""
    ingest, meta = data.ingest, data.clusters_meta
    metadata = metadata or CaseMetadata()
    unavailable = sorted(set(ingest.get("signals_unavailable", [])) | set(meta.get("signals_unavailable", [])))
    return {
        "bundle_format": "forensics-evidence-bundle/1",
        "title": title,
        "case_id": case_id,
        "bagging_date": date_text,
        "bagging_date_source": date_source,
        "tool_version": __version__,
        "versions": dict(versions) if versions is not None else _versions(),
        "case": {"case_id": case_id, **metadata.as_dict()},
        "key_fingerprint": ingest.get("key_fingerprint"),
        "window": ingest.get("window"),
        "rows_read": ingest.get("rows_read"),
        "rows_accepted": ingest.get("rows_accepted"),
        "rows_quarantined": ingest.get("rows_quarantined"),
        "quarantine_reasons": ingest.get("quarantine_reasons", {}),
        "accounts": ingest.get("accounts"),
        "requests": ingest.get("requests"),
        "input_tokens": ingest.get("input_tokens"),
        "output_tokens": ingest.get("output_tokens"),
        "inputs": ingest.get("inputs", []),
        "accounts_input": ingest.get("accounts_input"),
        "skipped_files": ingest.get("skipped_files", []),
        "columns_present": ingest.get("columns_present", []),
        "ignored_columns": ingest.get("ignored_columns", []),
        "signals_unavailable": unavailable,
        "parameters": {
            "ingest": ingest.get("parameters", {}),
            "cluster": meta.get("parameters", {}),
            "report": {"title": title, "case_id": case_id, **metadata.as_dict()},
        },
        "graph": {
            "accounts_total": meta.get("accounts_total"),
            "accounts_in_graph": meta.get("accounts_in_graph"),
            "edge_kinds": meta.get("edge_kinds", {}),
            "coaction_fingerprints_skipped": meta.get("coaction_fingerprints_skipped"),
        },
        "clusters": meta.get("clusters", []),
        "flagged_clusters": data.flagged_ids,
        "high_volume_accounts": meta.get("high_volume_accounts", []),
    }


def build_payload(
    data: CaseData, *, title: str, case_id: str, date_text: str, date_source: str, progress: Progress,
    case_metadata: CaseMetadata | None = None, versions: dict[str, str] | None = None,
) -> tuple[dict[str, bytes], dict]:
    """Every file under data/, as bytes, keyed by its path relative to data/."""
    task = progress.task("report", total=5)
    tables = compute_tables(data)
    task.advance()
    flagged = data.flagged_ids
    clusters = {c["cluster_id"]: c for c in data.clusters_meta["clusters"]}
    summary = build_summary(data, title, case_id, date_text, date_source, metadata=case_metadata, versions=versions)
    payload: dict[str, bytes] = {}
    payload["summary.json"] = jsonio.dumps(summary).encode("utf-8")
    payload["accounts.csv"] = csv_bytes(ACCOUNT_HEADERS, tables.account_rows)
    payload["clusters.csv"] = csv_bytes(
        CLUSTER_HEADERS,
        [
            [
                c["cluster_id"], c["flagged"], float(c["suspicion_score"]), c["accounts"], c["flagged_accounts"],
                c["weakly_attached"], sum(c["left_out"].values()), c["requests"], c["input_tokens"], c["output_tokens"],
                c["first_seen"], c["last_seen"],
                *[_component(c, k) for k in ("coordination", "extraction", "automation", "infrastructure")],
                ";".join(r.strong_indicators(c)), c.get("benign_explanation"),
            ]
            for c in sorted(clusters.values(), key=lambda c: c["cluster_id"])
        ],
    )
    rows = timeline_rows(tables, flagged)
    payload["timeline.csv"] = csv_bytes(TIMELINE_HEADERS, rows)
    payload["timeline.jsonl"] = jsonl_bytes(timesketch_records(rows, tables.account_rows, case_id=case_id))
    payload["graph.graphml"] = data.graph_bytes
    task.advance()

    figs: dict[str, bytes] = {}
    meta: dict[str, dict] = {}

    def add(path: str, drawn: tuple[bytes, dict]) -> None:
        figs[path], meta[path] = drawn

    series_names = {f"cluster-{cid}": label(cid) for cid in flagged}
    daily_counts = {
        series_names[s]: [tables.daily.get(s, {}).get(d, (0,))[0] for d in tables.days] for s in series_names
    }
    background = [tables.daily.get(TIMELINE_BACKGROUND, {}).get(d, (0,))[0] for d in tables.days]
    add("figures/daily-requests.svg", figures.daily_requests(tables.days, daily_counts, background))
    if tables.creation is not None:
        add("figures/account-creation.svg", figures.account_creation(*tables.creation))
    else:
        add("figures/account-creation.svg", figures.account_creation(None, None, None, tables.creation_reason))
    add("figures/hour-of-day.svg", figures.hour_of_day(
        {series_names[s]: tables.hourly.get(s, [0] * 24) for s in series_names},
        tables.hourly.get(TIMELINE_BACKGROUND, [0] * 24),
    ))
    for cid in flagged:
        series = tables.daily.get(f"cluster-{cid}", {})
        add(f"figures/cluster-{cid}-daily.svg", figures.group_daily(
            f"cluster-{cid}", f"{label(cid)}: activity per day (UTC)", tables.days,
            [series.get(d, (0, 0))[0] for d in tables.days], [series.get(d, (0, 0))[1] for d in tables.days],
        ))
        members = sorted(data.assignment.filter(pl.col("cluster_id") == cid)[ACCOUNT].to_list())
        shown = drawn_members(data.graph, members)
        sub = data.graph.subgraph(shown)
        edges = sorted(
            (min(u, v), max(u, v), float(attrs.get("weight", 1.0))) for u, v, attrs in sub.edges(data=True)
        )
        title = f"{label(cid)}: {len(members):,} accounts and the links between them"
        if len(shown) < len(members):
            title = f"{label(cid)}: {len(shown):,} of {len(members):,} accounts, around the most connected one"
        add(f"figures/cluster-{cid}-graph.svg", figures.cluster_graph(
            f"cluster-{cid}", shown, edges, {m: m[:8] for m in shown}, title
        ))
    task.advance()
    payload.update(figs)

    names = sorted(set(payload) | {"report.html", "report.md", "report.pdf", "VERIFY.md"})
    doc = r.report_document(summary, tables, figs, payload_names=names, meta=meta)
    payload["report.html"] = r.to_html(doc)
    payload["report.md"] = r.to_markdown(doc)
    payload["report.pdf"] = r.to_pdf(doc)
    payload["VERIFY.md"] = r.verify_document(summary, tables)
    task.advance()
    return payload, summary


MAX_DRAWN_ACCOUNTS = 300


def drawn_members(graph: nx.Graph, members: list[str], limit: int = MAX_DRAWN_ACCOUNTS) -> list[str]:
    """All members, or for a large cluster `limit` of them grown outward from the member with the highest
    weighted degree inside it: each step takes the strongest member linked to one already taken (ties by name).

    A layout of thousands of dots is slow and unreadable. Taking the `limit` strongest members regardless of
    their links drew some of them as loose dots, their neighbours not being drawn.
    """
    if len(members) <= limit:
        return members
    sub = graph.subgraph(members)
    strength = {m: round(sum(a.get("weight", 1.0) for _, _, a in sub.edges(m, data=True)), 9) if m in sub else 0.0
                for m in members}
    by_rank = sorted(members, key=lambda m: (-strength[m], m))
    rank = {m: i for i, m in enumerate(by_rank)}
    chosen: set[str] = set()
    waiting: list[int] = []  # ranks of members linked to a chosen one
    strongest_left = 0
    while len(chosen) < limit:
        if not waiting:  # no links lead on (the first step, or a part of the cluster drawn whole)
            while by_rank[strongest_left] in chosen:
                strongest_left += 1
            waiting.append(strongest_left)
        member = by_rank[heapq.heappop(waiting)]
        if member in chosen:
            continue
        chosen.add(member)
        for neighbour in sub.neighbors(member) if member in sub else ():
            if neighbour not in chosen:
                heapq.heappush(waiting, rank[neighbour])
    return sorted(chosen)


def _check_title(title: str, case_id: str) -> None:
    if not title.strip() or len(title) > 200 or any(ch in title for ch in "\r\n\t"):
        raise BadInputError("--title must be one line of at most 200 characters")
    if not _CASE_ID.fullmatch(case_id):
        raise BadInputError(
            "--case-id must be 1-100 characters of letters, digits and . _ : / + - , starting with a letter or digit"
        )


def _check_no_local_strings(payload: dict[str, bytes], paths: list[Path]) -> None:
    """Belt and braces: no absolute path of this machine may appear in any bundle file."""
    needles = set()
    for path in [*paths, Path.home()]:
        resolved = path.resolve()
        if len(resolved.parts) >= 3 and len(str(resolved)) >= 8:  # "/a/b" or longer; "/data" is too generic
            needles.add(str(resolved).encode())
    for name, blob in payload.items():
        for needle in needles:
            if needle in blob:
                raise InternalError(f"bundle file {name} would contain a local path; refusing to write it")


def build_bundle(
    case: Path,
    out: Path,
    *,
    title: str = DEFAULT_TITLE,
    case_id: str | None,
    force: bool,
    progress: Progress = SilentProgress(),
    recorded_bagging_date: tuple[str, str] | None = None,
    sign_key: Path | None = None,
    metadata: CaseMetadata | None = None,
    recorded_versions: dict[str, str] | None = None,
    argv: list[str] | None = None,
) -> dict:
    """Write the evidence bundle for a clustered case; return {files, bytes, flagged, case_id, bagging_date}.

    `recorded_bagging_date` (date, source) and `recorded_versions` are for `verify`, which re-runs with the
    original bundle's date and recorded environment. `sign_key` (an OpenSSH private key) adds a detached
    signature over the tag manifest. `metadata` is the user's case metadata (bag-info.txt, summary.json).

    The custody log travels in the bag as the tag file custody.jsonl, and must hold this run's own line.
    Order: the payload, its manifest, bagit.txt and bag-info.txt are computed first; this run's line records
    their SHA-256 as its outputs (manifest-sha256.txt stands for every payload file) and the case files it read
    as its inputs. The tag manifest cannot be among them, since it lists custody.jsonl. The bag's custody.jsonl
    is the case's log plus that line; the tag manifest (and signature) seal it; the bag is renamed into place;
    only then is the same line appended to CASE/custody.jsonl, so a failed report adds no line to the case.
    """
    from forensics import custody

    case, out = Path(case), Path(out)
    if out.resolve() == case.resolve() or case.resolve().is_relative_to(out.resolve()):
        raise BadInputError(f"{out}: the bundle cannot replace or contain the case directory")
    if out.resolve().is_relative_to(case.resolve()):
        raise BadInputError(f"{out}: write the bundle outside the case directory")
    if out.exists() and not force:
        from forensics.errors import OutputExistsError

        raise OutputExistsError(f"{out}: already exists; pass --force to replace it")
    metadata = metadata or CaseMetadata()
    inputs = custody.Background(report_inputs, case)  # hashed while the report is computed
    data = load_case(case)
    case_id = case_id or default_case_id(data.ingest)
    _check_title(title, case_id)
    date_text, source = bagging_date(data, recorded_bagging_date)
    payload, summary = build_payload(
        data, title=title, case_id=case_id, date_text=date_text, date_source=source, progress=progress,
        case_metadata=metadata, versions=recorded_versions,
    )
    _check_no_local_strings(payload, [case, out, Path.cwd()])
    unsealed = unsealed_bag_files(payload, bag_info_fields(summary))
    line = custody.record_line(_custody_record(case, out, unsealed, summary, sign_key, argv, inputs.result()))
    with case_lock(out), staged_dir(out, replace=force) as stage:
        files = write_files(stage, seal(unsealed, {CUSTODY: custody.read_log(case) + line}))
        if sign_key is not None:
            signature = sign_tagmanifest(stage, sign_key)
            files[signature.name] = signature.read_bytes()
    custody.append_line(case / custody.CUSTODY_LOG, line)
    return {
        "files": len(files),
        "bytes": sum(len(b) for b in files.values()),
        "flagged": len(data.flagged_ids),
        "case_id": case_id,
        "bagging_date": date_text,
        "signed": sign_key is not None,
    }


REPORT_INPUTS = (
    "ingest.json", "clusters.json", "clusters.parquet", "graph.graphml", "features.parquet", TIMELINE_DAILY_FILE, TIMELINE_HOURLY_FILE,
    "accounts.parquet",
)
# What the report takes from features.parquet for each account of a group.
ACTIVITY_COLUMNS = (ACCOUNT, "requests", "input_tokens", "output_tokens", "first_seen", "last_seen", "active_days")


def report_inputs(case: Path) -> list[dict]:
    """{path, bytes, sha256} of every case file load_case reads, sorted by path."""
    from forensics import custody

    return custody.case_entries(case, REPORT_INPUTS, events=False)


def _custody_record(
    case: Path, out: Path, unsealed: dict[str, bytes], summary: dict, sign_key: Path | None, argv: list[str] | None,
    inputs: list[dict],
) -> dict:
    """The report's custody record: the case files load_case reads, and the bag files that exist before the tag
    manifest (see build_bundle)."""
    from forensics import custody

    outputs = [
        {"path": rel, "bytes": len(unsealed[rel]), "sha256": sha256_bytes(unsealed[rel])}
        for rel in (BAGIT, BAG_INFO, MANIFEST)
    ]
    parameters = {
        "case": str(case), "out": str(out), **summary["parameters"]["report"],
        "sign_key": str(sign_key) if sign_key is not None else None,  # the path only
        "bagging_date": summary["bagging_date"],
    }
    return custody.make_record(
        "report", argv=argv, parameters=parameters, inputs=inputs,
        outputs=outputs, key_fingerprint=summary.get("key_fingerprint"),
    )
