"""The evidence bundle from the real pipeline (synth tiny -> ingest -> cluster -> report): contents, third-party
verification, no raw values, no machine paths, atomic replacement, byte-identical re-runs, and a browser render."""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics import jsonio
from forensics.bundle.run import build_bundle
from forensics.errors import BadInputError, CaseError, OutputExistsError

from tests.conftest import REPO, TEST_KEY_HEX, occurring, real_pipeline, run_cli, tree_bytes

SEED = 3
SAFE_NAME = re.compile(r"[a-z0-9._/-]+")


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return real_pipeline(
        tmp_path_factory.mktemp("pipeline"), seed=SEED, title="Test incident report", case_id="TEST-2026-001"
    )


def _files(bundle: Path) -> list[str]:
    return sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_bundle_holds_every_required_file(pipeline) -> None:
    bundle = pipeline["bundle"]
    files = _files(bundle)
    required = {
        "bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt",
        "data/summary.json", "data/accounts.csv", "data/clusters.csv", "data/timeline.csv", "data/timeline.jsonl",
        "data/report.html", "data/report.md", "data/graph.graphml", "data/VERIFY.md",
        "data/figures/daily-requests.svg", "data/figures/account-creation.svg", "data/figures/hour-of-day.svg",
    }
    assert required <= set(files)
    summary = json.loads((bundle / "data/summary.json").read_text())
    assert summary["flagged_clusters"], "the tiny incident has campaigns; the test needs flagged clusters"
    for cid in summary["flagged_clusters"]:
        assert f"data/figures/cluster-{cid}-graph.svg" in files
    for name in files:
        assert name == "data/VERIFY.md" or SAFE_NAME.fullmatch(name), name
    assert not [p for p in pipeline["root"].iterdir() if p.name.startswith(".bundle")], "staging left behind"


def test_bag_info_records_case_tool_and_window_date(pipeline) -> None:
    info = dict(
        line.split(": ", 1) for line in (pipeline["bundle"] / "bag-info.txt").read_text().splitlines()
    )
    ingest = jsonio.read(pipeline["case"] / "ingest.json")
    assert info["Internal-Sender-Identifier"] == "TEST-2026-001"  # External-Identifier is the user's own reference
    assert info["Bag-Software-Agent"] == "forensics 0.1.0"
    # No SOURCE_DATE_EPOCH in the test environment and no --until: the date of the last accepted request.
    assert os.environ.get("SOURCE_DATE_EPOCH") is None
    assert ingest["window"]["until"] is None
    assert info["Bagging-Date"] == ingest["window"]["last_seen"][:10]


def test_summary_is_canonical_and_complete(pipeline) -> None:
    raw = (pipeline["bundle"] / "data/summary.json").read_bytes()
    summary = json.loads(raw)
    assert jsonio.dumps(summary).encode() == raw
    ingest = jsonio.read(pipeline["case"] / "ingest.json")
    clusters = jsonio.read(pipeline["case"] / "clusters.json")
    assert summary["window"] == ingest["window"]
    for key in ("rows_read", "rows_accepted", "rows_quarantined", "quarantine_reasons", "accounts", "requests",
                "input_tokens", "output_tokens", "key_fingerprint", "inputs", "signals_unavailable"):
        assert key in summary and summary[key] == ingest[key] or key == "signals_unavailable", key
    assert summary["rows_read"] == summary["rows_accepted"] + summary["rows_quarantined"]
    assert [i["sha256"] for i in summary["inputs"]] == [i["sha256"] for i in ingest["inputs"]]
    assert all(not i["path"].startswith("/") for i in summary["inputs"])
    assert summary["parameters"]["cluster"] == clusters["parameters"]
    assert summary["parameters"]["ingest"] == ingest["parameters"]
    no_metadata = {"source_organization": None, "contact_name": None, "contact_email": None,
                   "external_identifier": None, "analysis_date": None}  # none given, none defaulted
    assert summary["parameters"]["report"] == {"title": "Test incident report", "case_id": "TEST-2026-001", **no_metadata}
    assert summary["case"] == {"case_id": "TEST-2026-001", **no_metadata}
    for name in ("python", "forensics", "polars", "networkx", "hdbscan", "matplotlib", "numpy", "scipy"):
        assert summary["versions"][name]
    assert summary["clusters"] == clusters["clusters"]
    for cluster in summary["clusters"]:
        for key in ("cluster_id", "accounts", "requests", "input_tokens", "output_tokens", "first_seen",
                    "last_seen", "suspicion_score", "flagged", "evidence"):
            assert key in cluster


def test_accounts_csv_matches_cluster_membership(pipeline) -> None:
    rows = _csv(pipeline["bundle"] / "data/accounts.csv")
    members = pl.read_parquet(pipeline["case"] / "clusters.parquet").filter(pl.col("cluster_id") >= 0)
    assert sorted(r["account_pseudonym"] for r in rows) == sorted(members["account_pseudonym"].to_list())
    flagged = set(json.loads((pipeline["bundle"] / "data/summary.json").read_text())["flagged_clusters"])
    events = pl.read_parquet(sorted((pipeline["case"] / "events").glob("*.parquet")))
    counts = dict(events.group_by("account_pseudonym").len().iter_rows())
    for row in rows:
        assert re.fullmatch(r"[0-9a-f]{32}", row["account_pseudonym"])
        assert row["flagged"] == ("true" if int(row["cluster_id"]) in flagged else "false")
        assert int(row["requests"]) == counts.get(row["account_pseudonym"], 0)
        assert 0.0 <= float(row["membership"]) <= 1.0
    assert [(int(r["cluster_id"]), r["account_pseudonym"]) for r in rows] == sorted(
        (int(r["cluster_id"]), r["account_pseudonym"]) for r in rows
    )


def test_clusters_csv_has_one_row_per_cluster(pipeline) -> None:
    rows = _csv(pipeline["bundle"] / "data/clusters.csv")
    clusters = jsonio.read(pipeline["case"] / "clusters.json")["clusters"]
    assert [int(r["cluster_id"]) for r in rows] == [c["cluster_id"] for c in clusters]
    assert [r["flagged"] for r in rows] == [("true" if c["flagged"] else "false") for c in clusters]


def test_timeline_counts_add_up_and_timesketch_lines_match(pipeline) -> None:
    bundle = pipeline["bundle"]
    rows = _csv(bundle / "data/timeline.csv")
    summary = json.loads((bundle / "data/summary.json").read_text())
    assert sum(int(r["requests"]) for r in rows) == summary["requests"]
    for cid in summary["flagged_clusters"]:
        cluster = next(c for c in summary["clusters"] if c["cluster_id"] == cid)
        assert sum(int(r["requests"]) for r in rows if r["series"] == f"cluster-{cid}") == cluster["flagged_requests"]
    events = [json.loads(line) for line in (bundle / "data/timeline.jsonl").read_text().splitlines()]
    daily = [e for e in events if e["data_type"] == "forensics:timeline:daily"]  # the rest: tests/test_timesketch.py
    assert len(daily) == len(rows)
    for event, row in zip(daily, rows):
        assert {"case_id", "message", "datetime", "timestamp_desc"} <= set(event)
        assert event["datetime"] == f"{row['day']}T00:00:00+00:00"
        assert event["requests"] == int(row["requests"]) and event["series"] == row["series"]


def test_third_party_verifiers_accept_the_bundle(pipeline) -> None:
    bundle = pipeline["bundle"]
    done = subprocess.run([sys.executable, "-m", "bagit", "--validate", str(bundle)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "is valid" in done.stderr
    for manifest in ("manifest-sha256.txt", "tagmanifest-sha256.txt"):
        done = subprocess.run(["sha256sum", "-c", "--strict", manifest], cwd=bundle, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "FAILED" not in done.stdout


def _raw_values(incident: Path) -> set[str]:
    logs = pl.read_parquet(sorted((incident / "logs").glob("*.parquet")))
    accounts = pl.read_parquet(incident / "accounts.parquet")
    values: set[str] = set()
    for frame, columns in (
        (logs, ("account_id", "ip", "prompt", "system_prompt", "user_agent")),
        (accounts, ("account_id", "email_domain", "payment_fingerprint", "org_id")),
    ):
        for column in columns:
            if column in frame.columns:
                values |= {v for v in frame[column].drop_nulls().unique().to_list() if len(v) >= 6}
    return values


def test_no_raw_value_of_the_inputs_appears_anywhere_in_the_bundle(pipeline) -> None:
    values = _raw_values(pipeline["incident"])
    assert len(values) > 500  # the incident really has raw identities to leak
    files = _files(pipeline["bundle"])
    blob = b"\n\0".join((pipeline["bundle"] / name).read_bytes() for name in files)
    leaks = occurring([v.encode("utf-8") for v in values], blob)  # every v whose bytes are in blob
    assert leaks == []
    # The prompts' first 40 characters as well, lower-cased, to catch a partial or case-folded copy.
    logs = pl.read_parquet(sorted((pipeline["incident"] / "logs").glob("*.parquet")), columns=["prompt"])
    starts = {p[:40].lower() for p in logs["prompt"].drop_nulls().to_list() if len(p) >= 40}
    text = blob.decode("utf-8", "replace").lower()
    assert occurring(starts, text) == []


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="ab\u00e9\u65e5\U0001f600\x00", max_size=60), picks=st.lists(st.tuples(
    st.integers(0, 60), st.integers(0, 20)), max_size=12), others=st.lists(st.text("ab\u00e9", max_size=5)),
    prefix=st.integers(1, 20))
def test_the_fast_leak_search_finds_what_in_finds(text: str, picks, others, prefix: int) -> None:
    """`occurring`, which the leak checks use, must return exactly what `[n for n in needles if n in haystack]`
    returns, for characters and for bytes."""
    needles = [text[i : i + size] for i, size in picks] + others
    assert occurring(needles, text, prefix=prefix) == [n for n in needles if n in text]
    encoded = [n.encode() for n in needles]
    assert occurring(encoded, text.encode(), prefix=prefix) == [n for n in encoded if n in text.encode()]


def test_no_machine_path_user_or_host_name_in_the_bundle(pipeline) -> None:
    needles = {str(pipeline["root"]), str(pipeline["root"].resolve()), str(REPO), socket.gethostname()}
    user = getpass.getuser()
    if len(user) >= 4:
        needles.add(user)
    home = os.path.expanduser("~")
    if len(home) > 5:
        needles.add(home)
    for name in _files(pipeline["bundle"]):
        if name == "custody.jsonl":  # by design the one record of who ran each stage, where and when
            continue
        blob = (pipeline["bundle"] / name).read_bytes()
        if name.endswith(".pdf"):
            # Compressed streams hold any short byte sequence by chance (a host name like "vm"): search what a
            # reader of the PDF sees, its text and its document information.
            from pypdf import PdfReader

            reader = PdfReader(io.BytesIO(blob))
            blob = "\n".join([*(page.extract_text() for page in reader.pages),
                               *(str(v) for v in (reader.metadata or {}).values())]).encode()
        for needle in needles:
            assert needle.encode() not in blob, (name, needle)


def test_html_is_self_contained_and_has_the_lawyer_sections(pipeline) -> None:
    html = (pipeline["bundle"] / "data/report.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#|data:)""", html)
    assert "<link" not in html and "@import" not in html and "url(http" not in html
    assert "default-src 'none'" in html
    summary_at = html.index("What was observed.")
    for phrase in ("What this does not establish.", "2 Evidence per flagged group", "Exhibit 1. Cluster",
                   "5 How the method works", "6 How accurate is this method", "7 How to verify and reproduce",
                   "8 Limitations and alternative explanations", "9 Glossary", "Appendix A. Methods in technical terms"):
        assert html.index(phrase) > summary_at, phrase
    assert html.count("<svg") >= 4
    assert "forensics verify &lt;bundle&gt; --logs &lt;logs&gt; --key-file &lt;key-file&gt;" in html
    assert "@page" in html and "@media print" in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "inline SVG ids must be unique in the page"


def test_markdown_has_the_same_sections_and_numbers(pipeline) -> None:
    md = (pipeline["bundle"] / "data/report.md").read_text(encoding="utf-8")
    html = (pipeline["bundle"] / "data/report.html").read_text(encoding="utf-8")
    headings_md = re.findall(r"^#{2,3} (.+)$", md, flags=re.M)
    headings_html = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<h[23][^>]*>(.*?)</h[23]>", html)]
    assert headings_md == [h.replace("&#x27;", "'") for h in headings_html]
    summary = json.loads((pipeline["bundle"] / "data/summary.json").read_text())
    assert f"{summary['requests']:,}" in md
    assert "![" in md and "figures/daily-requests.svg" in md


def test_report_counts_the_values_each_evidence_kind_ignored(pipeline) -> None:
    """A lawyer must see, per kind and in numbers, how many values were compared, how many along the salting ring,
    and how many were left out as too common to be specific."""
    from forensics.bundle.render import EDGE_KIND_NAMES

    md = (pipeline["bundle"] / "data/report.md").read_text(encoding="utf-8")
    kinds = json.loads((pipeline["case"] / "clusters.json").read_text())["edge_kinds"]
    table = md.split(". Kinds of evidence links found*")[1].split(". Every parameter used*")[0]
    for kind, stats in kinds.items():
        line = next(x for x in table.splitlines() if x.startswith(f"| {kind} | "))
        assert line.endswith(
            f" | {stats['pairs']:,} | {stats['keys_used']:,} | {stats['keys_salted']:,} | {stats['keys_dropped']:,} |"
        ), line
    # Template links count prompts and their MinHash band keys alike: the table says so beneath it.
    assert "template" in kinds and "can therefore be counted up to 3 times: the count is of shared values" in table
    caveats = [x for x in md.splitlines() if "values ignored)" in x]
    ignored = {k: v for k, v in kinds.items() if v["keys_dropped"]}
    assert len(caveats) == (1 if ignored else 0)
    for kind, stats in ignored.items():
        name = EDGE_KIND_NAMES[kind]
        assert f"{name}: {stats['keys_dropped']:,} of {stats['keys_used'] + stats['keys_dropped']:,}" in caveats[0]


def test_ignored_values_caveat_lists_only_kinds_that_ignored_values() -> None:
    from forensics.bundle.render import _ignored_values_caveat

    assert _ignored_values_caveat({"slot": {"pairs": 5, "keys_used": 10, "keys_dropped": 0}}) == []
    (text,) = _ignored_values_caveat({
        "net": {"pairs": 1, "keys_used": 5, "keys_dropped": 0},
        "template": {"pairs": 2_156, "keys_used": 2_959_594, "keys_dropped": 235_431},
    })
    assert "(shared prompt templates: 235,431 of 3,195,025 values ignored)" in text and "networks:" not in text


def test_verify_md_covers_the_independent_checks(pipeline) -> None:
    text = (pipeline["bundle"] / "data/VERIFY.md").read_text()
    for needle in ("bagit.py --validate", "sha256sum -c --strict manifest-sha256.txt",
                   "sha256sum -c --strict tagmanifest-sha256.txt", "openssl dgst -sha256 -mac HMAC -macopt hexkey:",
                   "account:<account-id>", "forensics verify <bundle>", "rewrites"):
        assert needle in text, needle


def _openssl(message: str, chars: int) -> str:
    """VERIFY.md's recipe, literally, through bash and openssl."""
    cmd = (
        f"printf '%s' '{message}' | openssl dgst -sha256 -mac HMAC -macopt hexkey:{TEST_KEY_HEX} "
        f"| awk '{{print $NF}}' | cut -c1-{chars}"
    )
    return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, check=True).stdout.strip()


def test_verify_md_openssl_recipe_rederives_a_pseudonym(pipeline) -> None:
    """Follow VERIFY.md step 4 with openssl for accounts of flagged groups and for one outside any group."""
    from forensics.keys import CaseKey

    key = CaseKey(bytes.fromhex(TEST_KEY_HEX))  # only to pick which raw IDs to look up
    rows = {r["account_pseudonym"]: r for r in _csv(pipeline["bundle"] / "data/accounts.csv")}
    ids = pl.read_parquet(pipeline["incident"] / "accounts.parquet")["account_id"].sort().to_list()
    flagged = [a for a in ids if rows.get(key.pseudonym("account", a), {}).get("flagged") == "true"][:2]
    outside = [a for a in ids if key.pseudonym("account", a) not in rows][:1]
    assert flagged and outside
    for account_id in flagged:
        assert rows[_openssl(f"account:{account_id}", 32)]["flagged"] == "true"
    assert _openssl(f"account:{outside[0]}", 32) not in rows
    fingerprint = _openssl("fingerprint", 16)
    assert f"`{fingerprint}`" in (pipeline["bundle"] / "data/VERIFY.md").read_text()


def test_existing_target_is_refused_without_force_and_replaced_with_it(pipeline, tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep.txt").write_text("precious")
    with pytest.raises(OutputExistsError):
        build_bundle(pipeline["case"], target, title="t", case_id="X-1", force=False)
    assert (target / "keep.txt").read_text() == "precious"
    build_bundle(pipeline["case"], target, title="Test incident report", case_id="TEST-2026-001", force=True)
    assert not (target / "keep.txt").exists()
    assert tree_bytes(target) == tree_bytes(pipeline["bundle"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_report_refuses_an_unclustered_case_and_bad_arguments(pipeline, tmp_path: Path) -> None:
    case = tmp_path / "case"
    shutil.copytree(pipeline["case"], case)
    (case / "clusters.json").unlink()
    with pytest.raises(CaseError, match="forensics cluster"):
        build_bundle(case, tmp_path / "b", title="t", case_id="X-1", force=False)
    with pytest.raises(BadInputError):
        build_bundle(pipeline["case"], tmp_path / "b2", title="two\nlines", case_id="X-1", force=False)
    with pytest.raises(BadInputError):
        build_bundle(pipeline["case"], tmp_path / "b3", title="t", case_id="../etc", force=False)
    with pytest.raises(BadInputError):
        build_bundle(pipeline["case"], pipeline["case"] / "bundle", title="t", case_id="X-1", force=True)
    assert not (tmp_path / "b").exists() and not (tmp_path / "b2").exists()


def test_source_date_epoch_sets_the_bagging_date(pipeline, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780000000")  # 2026-05-28
    build_bundle(pipeline["case"], tmp_path / "b", title="t", case_id="X-1", force=False)
    assert "Bagging-Date: 2026-05-28\n" in (tmp_path / "b" / "bag-info.txt").read_text()
    summary = json.loads((tmp_path / "b" / "data/summary.json").read_text())
    assert summary["bagging_date_source"] == "SOURCE_DATE_EPOCH"
    assert "SOURCE_DATE_EPOCH=" in (tmp_path / "b" / "data/report.md").read_text()


def test_figures_are_svg_without_dates(pipeline) -> None:
    for path in sorted((pipeline["bundle"] / "data/figures").glob("*.svg")):
        text = path.read_text()
        assert text.startswith("<?xml") and "<svg" in text
        assert "<dc:date>" not in text
        assert not re.search(r"20\d\d-\d\d-\d\dT\d\d:\d\d", text)


@pytest.mark.slow
def test_byte_identical_across_seeds_threads_order_and_directories(pipeline, tmp_path: Path) -> None:
    """A CLI run that differs from the fixture's in-process run in everything that must not matter
    (hash seed, thread count, input order, file list vs directory, every directory) gives identical bytes."""
    incident = pipeline["incident"]
    logs = sorted((incident / "logs").glob("*.parquet"))
    where = tmp_path / "other place" / "deeper"
    (where / "copied logs").mkdir(parents=True)
    for path in logs[::-1]:  # copies created in the reverse order, under differently named directories
        shutil.copy(path, where / "copied logs" / path.name)
    shutil.copy(incident / "accounts.parquet", where / "accounts.parquet")
    shutil.copy(pipeline["key"], where / "k.key")
    (where / "k.key").chmod(0o600)
    env = {"PYTHONHASHSEED": "4242", "POLARS_MAX_THREADS": "1"}
    inputs = [str(where / "copied logs" / p.name) for p in logs[::-1]]  # explicit files, reversed
    steps = [
        ["ingest", *inputs, "--accounts", str(where / "accounts.parquet"), "--key-file", str(where / "k.key"),
         "--case", str(where / "c"), "--quiet"],
        ["cluster", str(where / "c"), "--quiet"],
        ["report", str(where / "c"), "--out", str(where / "b"), "--case-id", "TEST-2026-001",
         "--title", "Test incident report", "--quiet"],
    ]
    for step in steps:
        done = run_cli(*step, env=env, cwd=where)
        assert done.returncode == 0, (step[0], done.stderr)
    again, first = tree_bytes(where / "b"), tree_bytes(pipeline["bundle"])
    assert sorted(again) == sorted(first)
    assert [name for name in first if first[name] != again[name]] == []
    assert os.environ.get("PYTHONHASHSEED") != "4242"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_renders_in_headless_chromium(pipeline, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (make test installs it with apt); cannot render report.html")
    from PIL import Image

    png = tmp_path / "page.png"
    html = pipeline["bundle"] / "data/report.html"
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
         f"--screenshot={png}", "--window-size=1200,1600", html.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    problems = [
        line for line in done.stderr.splitlines()
        if re.search(r"CONSOLE|Refused to|ERR_|Failed to load|Uncaught|net::", line)
    ]
    assert problems == []
    image = Image.open(png).convert("L")
    assert image.size == (1200, 1600)
    histogram = image.histogram()
    dark = sum(histogram[:128])
    assert dark > 5000, "the page rendered (almost) blank"


def test_killed_run_leftovers_are_cleared_and_never_visible_at_the_target(pipeline, tmp_path: Path) -> None:
    """A staging directory from a run killed mid-write (a PID that no longer exists) is removed by the next run."""
    stale = tmp_path / ".out.staging-999999999"
    (stale / "data").mkdir(parents=True)
    (stale / "data" / "half.csv").write_text("partial")
    assert not (tmp_path / "out").exists()
    build_bundle(pipeline["case"], tmp_path / "out", title="Test incident report", case_id="TEST-2026-001", force=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert tree_bytes(tmp_path / "out") == tree_bytes(pipeline["bundle"])


@pytest.mark.slow
def test_sigkill_during_report_leaves_nothing_partial_and_the_next_run_matches(pipeline, tmp_path: Path) -> None:
    import signal
    import time

    from forensics.bundle.bag import check_bag

    target = tmp_path / "out"
    cmd = [sys.executable, "-m", "forensics.cli", "report", str(pipeline["case"]), "--out", str(target),
           "--case-id", "TEST-2026-001", "--title", "Test incident report", "--quiet", "--force"]
    for delay in (0.8, 2.0, 3.5):
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Either no bundle at all, or a complete one: never a partial directory at the target path.
        if target.exists():
            assert check_bag(target).ok
    done = run_cli(*cmd[3:])
    assert done.returncode == 0, done.stderr
    assert tree_bytes(target) == tree_bytes(pipeline["bundle"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_large_group_is_drawn_as_a_connected_neighbourhood_of_its_strongest_member() -> None:
    """Only `limit` members of a large group are drawn; they must be linked among themselves, not the
    `limit` strongest members scattered as loose dots. Here hub X is the strongest member but its links go to
    weak leaves, while the clique members A-D are each stronger than any leaf."""
    import networkx as nx

    from forensics.bundle.run import drawn_members

    graph = nx.Graph()
    graph.add_edges_from((a, b, {"weight": 1.0}) for a, b in [("A", "B"), ("A", "C"), ("A", "D"), ("B", "C"), ("B", "D"), ("C", "D")])
    graph.add_edges_from(("X", leaf, {"weight": 0.9}) for leaf in ("L1", "L2", "L3", "L4"))
    graph.add_edge("L1", "A", weight=0.05)
    members = ["A", "B", "C", "D", "L1", "L2", "L3", "L4", "X"]

    drawn = drawn_members(graph, members, limit=5)

    # From X, the strongest linked member is L1 (0.95 against 0.9), then A (3.05), which leads on to B and C.
    assert drawn == ["A", "B", "C", "L1", "X"]
    assert nx.is_connected(graph.subgraph(drawn))
    assert drawn_members(graph, members, limit=7) == ["A", "B", "C", "D", "L1", "L2", "X"]
    assert drawn_members(graph, members, limit=9) == members


def _graphml(nodes: list[str], edges: list[tuple[str, str, float]]) -> bytes:
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(nodes)
    g.add_weighted_edges_from(edges)
    out = io.BytesIO()
    nx.write_graphml(g, out)
    return out.getvalue()


def test_one_pass_over_the_graph_gives_the_bundles_copy_and_the_drawn_subgraph() -> None:
    """read_graph keeps in the bundle's copy only the listed accounts and the edges among them, and draws only the
    flagged members with their edges' weights."""
    import networkx as nx
    from forensics.bundle.run import read_graph

    a, b, c, d = (ch * 32 for ch in "abcd")
    graph, copy = read_graph(_graphml([a, b, c, d], [(a, b, 0.5), (b, c, 0.25), (c, d, 0.75)]), {a, b, c}, {b, c})
    assert sorted(graph.nodes) == [b, c] and graph.edges[b, c]["weight"] == 0.25 and graph.number_of_edges() == 1
    kept = nx.read_graphml(io.BytesIO(copy))
    assert sorted(kept.nodes) == [a, b, c]
    assert sorted(tuple(sorted(e)) for e in kept.edges) == [(a, b), (b, c)]


def test_a_graph_node_that_is_not_a_pseudonym_or_broken_graphml_is_refused() -> None:
    from forensics.bundle.run import read_graph
    from forensics.errors import InternalError

    with pytest.raises(InternalError, match="not a pseudonym"):
        read_graph(_graphml(["alice@example.org", "b" * 32], []), set(), set())
    with pytest.raises(CaseError, match="not valid GraphML"):
        read_graph(_graphml(["b" * 32], [])[:-20], set(), set())
