"""`forensics reveal`: the key holder's list of flagged accounts by raw ID. The IDs are checked against the logs
with an HMAC computed here, independently of the tool; the file is private from its creation; it is refused
inside a bundle or a case; it warns; and the custody log records its hash, never an ID."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import stat
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from forensics.errors import LogsMismatchError, UnknownClusterError, UnsafeOutputError
from forensics.reveal import REVEAL_HEADERS, reveal_accounts
from tests.conftest import TEST_KEY_HEX, real_pipeline, run_cli, write_key

OTHER_KEY_HEX = "ffeeddccbbaa99887766554433221100" * 2


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return real_pipeline(tmp_path_factory.mktemp("reveal"), seed=7, title="Reveal test", case_id="REVEAL-1")


def _logs(made) -> str:
    return str(made["incident"] / "logs")


def _raw_ids(made) -> set[str]:
    ids: set[str] = set()
    for path in sorted((made["incident"] / "logs").rglob("*.parquet")):
        ids.update(v for v in pq.read_table(path, columns=["account_id"]).column("account_id").to_pylist() if v)
    return ids


def _hmac_pseudonym(raw: str) -> str:
    """The account pseudonym as the README defines it, computed without the tool's code."""
    return hmac.new(bytes.fromhex(TEST_KEY_HEX), f"account:{raw}".encode(), hashlib.sha256).hexdigest()[:32]


def _flagged(made) -> list[dict]:
    table = pq.read_table(made["case"] / "clusters.parquet").to_pylist()
    return [row for row in table if row["flagged"]]


def _rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_ids_are_those_of_the_logs_whose_pseudonym_the_case_flagged(made, tmp_path: Path) -> None:
    out = tmp_path / "private" / "ids.csv"
    result = reveal_accounts(made["case"], [_logs(made)], key_file=made["key"], out=out)
    rows = _rows(out)
    assert list(rows[0]) == REVEAL_HEADERS
    by_pseudonym = {_hmac_pseudonym(raw): raw for raw in _raw_ids(made)}
    flagged = _flagged(made)
    assert flagged, "the fixture incident must have flagged accounts"
    expected = sorted(
        (by_pseudonym[row["account_pseudonym"]], row["account_pseudonym"], str(row["cluster_id"]), row["role"])
        for row in flagged
    )
    got = sorted((r["account_id"], r["account_pseudonym"], r["cluster_id"], r["role"]) for r in rows)
    assert got == expected
    assert result["accounts"] == len(rows) == len(flagged)
    # deterministic order: cluster, then raw ID
    assert [(int(r["cluster_id"]), r["account_id"]) for r in rows] == sorted(
        (int(r["cluster_id"]), r["account_id"]) for r in rows
    )
    # membership as recorded in the case, six decimals
    membership = {row["account_pseudonym"]: row["membership"] for row in flagged}
    assert all(abs(float(r["membership"]) - membership[r["account_pseudonym"]]) < 1e-6 for r in rows)
    assert result["logs_match_case"] is True


def test_same_inputs_give_the_same_bytes(made, tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    reveal_accounts(made["case"], [_logs(made)], key_file=made["key"], out=first)
    reveal_accounts(made["case"], [_logs(made)], key_file=made["key"], out=second)
    assert first.read_bytes() == second.read_bytes()


def test_the_file_is_created_private_whatever_the_umask(made, tmp_path: Path) -> None:
    out = tmp_path / "ids.csv"
    previous = os.umask(0)
    try:
        reveal_accounts(made["case"], [_logs(made)], key_file=made["key"], out=out)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    # --force over a world-readable file leaves a private one, not the old file's mode
    other = tmp_path / "old.csv"
    other.write_text("old\n")
    other.chmod(0o644)
    with pytest.raises(Exception, match="already exists"):
        reveal_accounts(made["case"], [_logs(made)], key_file=made["key"], out=other)
    reveal_accounts(made["case"], [_logs(made)], key_file=made["key"], out=other, force=True)
    assert stat.S_IMODE(other.stat().st_mode) == 0o600
    assert other.read_bytes() == out.read_bytes()


@pytest.mark.parametrize("where", ["bundle", "bundle/data", "bundle/data/figures/deeper", "case", "case/events"])
def test_refused_inside_a_bundle_or_a_case(made, where: str) -> None:
    out = made["root"] / where / "ids.csv"
    with pytest.raises(UnsafeOutputError):
        reveal_accounts(made["case"], [_logs(made)], key_file=made["key"], out=out)
    assert not out.exists()
    done = run_cli("reveal", made["case"], _logs(made), "--key-file", made["key"], "--out", out)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert ("inside the bundle" if where.startswith("bundle") else "inside the case directory") in done.stderr
    assert not out.exists()


def test_cli_warns_in_one_line_and_records_the_hash_only_in_the_custody_log(made, tmp_path: Path) -> None:
    out = tmp_path / "ids.csv"
    before = (made["case"] / "custody.jsonl").read_bytes()
    done = run_cli("reveal", made["case"], _logs(made), "--key-file", made["key"], "--out", out, "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("warning: ") and "identifies" in done.stderr
    log = (made["case"] / "custody.jsonl").read_bytes()
    assert log.startswith(before) and log[len(before):].count(b"\n") == 1
    record = json.loads(log[len(before):])
    assert record["command"] == "reveal"
    assert record["argv"][:2] == ["reveal", str(made["case"])]
    assert record["outputs"] == [
        {"path": str(out), "bytes": out.stat().st_size, "sha256": hashlib.sha256(out.read_bytes()).hexdigest()}
    ]
    text = log.decode()
    revealed = [r["account_id"] for r in _rows(out)]
    assert revealed and not any(raw in text for raw in revealed)
    assert TEST_KEY_HEX not in text


def test_cluster_option_restricts_to_those_flagged_groups(made, tmp_path: Path) -> None:
    flagged_ids = sorted({row["cluster_id"] for row in _flagged(made)})
    chosen = flagged_ids[-1]
    out = tmp_path / "one.csv"
    done = run_cli("reveal", made["case"], _logs(made), "--key-file", made["key"], "--out", out,
                   "--cluster", chosen, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["clusters"] == [chosen]
    rows = _rows(out)
    assert rows and {r["cluster_id"] for r in rows} == {str(chosen)}
    assert len(rows) == sum(1 for row in _flagged(made) if row["cluster_id"] == chosen)


def test_unknown_or_unflagged_cluster_is_a_one_line_usage_error(made, tmp_path: Path) -> None:
    clusters = json.loads((made["case"] / "clusters.json").read_text())["clusters"]
    unflagged = [c["cluster_id"] for c in clusters if not c["flagged"]]
    unknown = max(c["cluster_id"] for c in clusters) + 100
    cases = [(unknown, "no such cluster")] + ([(unflagged[0], "is not flagged")] if unflagged else [])
    for cid, message in cases:
        with pytest.raises(UnknownClusterError, match=message):
            reveal_accounts(made["case"], [_logs(made)], key_file=made["key"], out=tmp_path / "x.csv", cluster_ids=[cid])
        done = run_cli("reveal", made["case"], _logs(made), "--key-file", made["key"], "--out", tmp_path / "x.csv",
                       "--cluster", cid)
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and message in done.stderr
    assert not (tmp_path / "x.csv").exists()


def test_wrong_key_is_refused(made, tmp_path: Path) -> None:
    wrong = write_key(tmp_path / "wrong.key", OTHER_KEY_HEX)
    done = run_cli("reveal", made["case"], _logs(made), "--key-file", wrong, "--out", tmp_path / "x.csv")
    assert done.returncode == 2 and "wrong key" in done.stderr and done.stderr.count("\n") == 1
    assert OTHER_KEY_HEX not in done.stderr + done.stdout
    assert not (tmp_path / "x.csv").exists()


def test_logs_without_the_flagged_accounts_are_refused(made, tmp_path: Path) -> None:
    other = tmp_path / "other-logs"
    other.mkdir()
    pq.write_table(
        pa.table({"request_id": ["r1", "r2"], "timestamp": ["2026-05-01T00:00:00Z"] * 2, "account_id": ["zz1", "zz2"]}),
        other / "part.parquet",
    )
    with pytest.raises(LogsMismatchError, match="do not appear in these logs"):
        reveal_accounts(made["case"], [str(other)], key_file=made["key"], out=tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()
