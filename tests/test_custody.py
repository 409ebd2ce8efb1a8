"""The custody log: each ingest, cluster and report run through the CLI appends one line saying who ran what,
where, when and with which versions, with the SHA-256 of what it read and wrote; the bundle carries the log as
a tag file; no line ever holds the key or a raw identity; a failed run adds nothing."""

from __future__ import annotations

import getpass
import hashlib
import json
import multiprocessing
import shutil
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

import bagit
import pyarrow.parquet as pq
import pytest

from forensics import custody
from forensics.bundle.verify import verify_bundle
from forensics.environment import versions
from forensics.errors import BundleInvalidError
from forensics.synth import generate
from tests.conftest import TEST_KEY_HEX, run_cli, write_key


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): _sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("custody")
    started = datetime.now(timezone.utc)
    key = write_key(root / "case.key")
    generate(root / "incident", scale="tiny", seed=6)
    case, bundle = root / "case", root / "bundle"
    argv = {
        "ingest": ["ingest", str(root / "incident" / "logs"), "--accounts", str(root / "incident" / "accounts.parquet"),
                   "--key-file", str(key), "--case", str(case)],
        "cluster": ["cluster", str(case), "--min-coaction", "2"],
        "report": ["report", str(case), "--out", str(bundle), "--case-id", "CUSTODY-1",
                   "--contact-name", "A. Analyst", "--analysis-date", "2026-06-10"],
    }
    trees = {}
    for stage in ("ingest", "cluster", "report"):
        done = run_cli(*argv[stage])
        assert done.returncode == 0, done.stderr
        trees[stage] = _tree(case)
    return {"root": root, "key": key, "case": case, "bundle": bundle, "argv": argv, "trees": trees,
            "started": started, "ended": datetime.now(timezone.utc)}


def test_each_stage_appends_one_line_saying_who_ran_what_where_and_when(made) -> None:
    records = _records(made["case"] / "custody.jsonl")
    assert [r["command"] for r in records] == ["ingest", "cluster", "report"]
    for record in records:
        assert record["record"] == custody.RECORD_FORMAT
        assert record["argv"] == made["argv"][record["command"]]
        assert record["user"] == getpass.getuser() and record["host"] == socket.gethostname()
        assert record["versions"] == versions()
        moment = datetime.fromisoformat(record["time"].replace("Z", "+00:00"))
        assert record["time"].endswith("Z")
        assert made["started"] - timedelta(seconds=1) <= moment <= made["ended"] + timedelta(seconds=1)
        assert record["key_fingerprint"] == json.loads((made["case"] / "ingest.json").read_text())["key_fingerprint"]
    assert [r["time"] for r in records] == sorted(r["time"] for r in records)
    assert records[1]["parameters"]["min_coaction"] == 2
    assert records[2]["parameters"]["contact_name"] == "A. Analyst"


def test_recorded_hashes_are_those_of_the_files_read_and_written(made) -> None:
    ingest, cluster, report = _records(made["case"] / "custody.jsonl")
    logs = made["root"] / "incident" / "logs"
    expected_inputs = {str(p): _sha(p) for p in sorted(logs.rglob("*.parquet"))}
    accounts = made["root"] / "incident" / "accounts.parquet"
    expected_inputs[str(accounts)] = _sha(accounts)
    assert {e["path"]: e["sha256"] for e in ingest["inputs"]} == expected_inputs
    after_ingest = made["trees"]["ingest"]
    assert {e["path"]: e["sha256"] for e in ingest["outputs"]} == {
        k: v for k, v in after_ingest.items() if k != "custody.jsonl"
    }
    after_cluster = made["trees"]["cluster"]
    for entry in cluster["inputs"] + cluster["outputs"]:
        assert after_cluster[entry["path"]] == entry["sha256"], entry["path"]
    assert {e["path"] for e in cluster["outputs"]} == {
        "features.parquet", "edges.parquet", "graph.graphml", "clusters.parquet", "clusters.json",
        "timeline_daily.parquet", "timeline_hourly.parquet",
    }
    assert any(e["path"].startswith("events/") for e in cluster["inputs"])
    for entry in report["inputs"]:
        assert after_cluster[entry["path"]] == entry["sha256"], entry["path"]
    # The report reads small tables of the case, never the events.
    assert {e["path"] for e in report["inputs"]} == {
        "ingest.json", "clusters.json", "clusters.parquet", "graph.graphml", "features.parquet",
        "timeline_daily.parquet", "timeline_hourly.parquet", "accounts.parquet",
    }
    assert {e["path"]: e["sha256"] for e in report["outputs"]} == {
        name: _sha(made["bundle"] / name) for name in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt")
    }
    assert all(e["bytes"] > 0 for e in ingest["inputs"] + cluster["outputs"] + report["outputs"])


def test_no_line_holds_the_key_or_a_raw_identity(made) -> None:
    text = (made["case"] / "custody.jsonl").read_text(encoding="utf-8")
    assert TEST_KEY_HEX not in text and TEST_KEY_HEX.upper() not in text
    ingest = _records(made["case"] / "custody.jsonl")[0]
    assert ingest["parameters"]["key_file"] == str(made["key"])  # the path only
    raw_ids = set()
    for path in (made["root"] / "incident" / "logs").rglob("*.parquet"):
        table = pq.read_table(path, columns=["account_id", "ip"])
        raw_ids.update(v for v in table.column("account_id").to_pylist() if v)
        raw_ids.update(v for v in table.column("ip").to_pylist() if v)
    assert raw_ids and not [raw for raw in raw_ids if raw in text]


def test_the_bundle_carries_the_log_with_the_report_line_as_a_tag_file(made) -> None:
    bundle = made["bundle"]
    assert (bundle / "custody.jsonl").read_bytes() == (made["case"] / "custody.jsonl").read_bytes()
    assert _records(bundle / "custody.jsonl")[-1]["command"] == "report"
    tags = dict(reversed(line.split("  ")) for line in (bundle / "tagmanifest-sha256.txt").read_text().splitlines())
    assert tags["custody.jsonl"] == _sha(bundle / "custody.jsonl")
    bagit.Bag(str(bundle)).validate()
    info = (bundle / "bag-info.txt").read_text()
    assert "Internal-Sender-Identifier: CUSTODY-1\n" in info and "External-Identifier" not in info
    assert "Contact-Name: A. Analyst\n" in info and "Analysis-Date: 2026-06-10\n" in info
    assert any(l.startswith("custody: custody.jsonl matches") for l in verify_bundle(bundle)["lines"])


def test_a_changed_or_removed_custody_log_fails_verification(made, tmp_path: Path) -> None:
    changed = tmp_path / "changed"
    shutil.copytree(made["bundle"], changed)
    log = changed / "custody.jsonl"
    log.write_text(log.read_text().replace(getpass.getuser(), "someone-else", 1))
    with pytest.raises(BundleInvalidError, match="modified: custody.jsonl"):
        verify_bundle(changed)
    removed = tmp_path / "removed"
    shutil.copytree(made["bundle"], removed)
    (removed / "custody.jsonl").unlink()
    with pytest.raises(BundleInvalidError, match="missing: custody.jsonl"):
        verify_bundle(removed)


def test_a_failed_run_adds_no_line(made, tmp_path: Path) -> None:
    case = tmp_path / "case"
    shutil.copytree(made["case"], case)
    before = (case / "custody.jsonl").read_bytes()
    done = run_cli("report", case, "--out", made["bundle"])  # exists, no --force
    assert done.returncode == 2
    done = run_cli("report", case, "--out", tmp_path / "b", "--analysis-date", "10/06/2026")
    assert done.returncode == 2 and "--analysis-date" in done.stderr and not (tmp_path / "b").exists()
    done = run_cli("ingest", tmp_path / "no-logs", "--key-file", made["key"], "--case", case)
    assert done.returncode == 2
    assert (case / "custody.jsonl").read_bytes() == before


def test_reingesting_a_case_keeps_its_history(made, tmp_path: Path) -> None:
    case = tmp_path / "case"
    shutil.copytree(made["case"], case)
    before = (case / "custody.jsonl").read_bytes()
    done = run_cli("ingest", made["root"] / "incident" / "logs", "--key-file", made["key"], "--case", case)
    assert done.returncode == 0, done.stderr
    after = (case / "custody.jsonl").read_bytes()
    assert after.startswith(before) and after[len(before):].count(b"\n") == 1
    assert json.loads(after[len(before):])["command"] == "ingest"


def _append_many(path: str, worker: int) -> None:
    for n in range(200):
        custody.append_line(Path(path), custody.record_line({"worker": worker, "n": n, "pad": "x" * 20_000}))


def test_concurrent_appends_never_interleave(tmp_path: Path) -> None:
    log = tmp_path / "custody.jsonl"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(log), w)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) == 800
    assert sorted((r["worker"], r["n"]) for r in records) == [(w, n) for w in range(4) for n in range(200)]


def _reseal_tagmanifest(bundle: Path) -> None:
    """What a forger who knows BagIt does after replacing a tag file: recompute the tag manifest."""
    from forensics.bundle.bag import manifest_text

    names = ("bagit.txt", "bag-info.txt", "custody.jsonl", "manifest-sha256.txt")
    (bundle / "tagmanifest-sha256.txt").write_text(manifest_text({n: _sha(bundle / n) for n in names}))


def test_the_custody_log_must_end_with_the_report_record_of_this_very_bag(made, tmp_path: Path) -> None:
    # the log of another bundle of the same case (another case ID, so another bag-info.txt)
    other_case = tmp_path / "case"
    shutil.copytree(made["case"], other_case)
    done = run_cli("report", other_case, "--out", tmp_path / "other", "--case-id", "OTHER-1")
    assert done.returncode == 0, done.stderr
    swapped = tmp_path / "swapped"
    shutil.copytree(made["bundle"], swapped)
    shutil.copy(tmp_path / "other" / "custody.jsonl", swapped / "custody.jsonl")
    _reseal_tagmanifest(swapped)
    with pytest.raises(BundleInvalidError, match="modified: bag-info.txt .SHA-256 differs from the report record"):
        verify_bundle(swapped)
    # a log cut before its report record
    cut = tmp_path / "cut"
    shutil.copytree(made["bundle"], cut)
    lines = (cut / "custody.jsonl").read_text().splitlines(keepends=True)
    (cut / "custody.jsonl").write_text("".join(lines[:-1]))
    _reseal_tagmanifest(cut)
    with pytest.raises(BundleInvalidError, match="does not end with the report record"):
        verify_bundle(cut)
