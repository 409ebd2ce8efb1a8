from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics.errors import (
    CaseError,
    ColumnMapError,
    CorruptInputError,
    ImplausibleTimestampError,
    MissingColumnError,
    NotParquetError,
    UncoercibleTypeError,
)
from forensics.ingest import IngestOptions, run_ingest
from forensics.keys import CaseKey, load_key
from forensics.schema import parse_column_map
from tests.conftest import TEST_KEY_HEX, run_cli, tree_bytes, xxh64_reference

T0 = datetime(2026, 5, 1, tzinfo=timezone.utc)


def write(path: Path, columns: dict, schema: pa.Schema | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns, schema=schema), path)
    return path


def simple_logs(directory: Path, n: int = 50, prefix: str = "r", start: datetime = T0) -> Path:
    return write(
        directory / f"{prefix}.parquet",
        {
            "request_id": [f"{prefix}{i}" for i in range(n)],
            "timestamp": pa.array([start + timedelta(minutes=17 * i) for i in range(n)], pa.timestamp("us", "UTC")),
            "account_id": [f"acct_{i % 7}" for i in range(n)],
            "ip": [f"203.0.113.{i % 11}" for i in range(n)],
            "prompt": [f"Question {i}: think step by step" for i in range(n)],
            "input_tokens": [10 + i for i in range(n)],
        },
    )


def ingest(tmp_path: Path, logs: list, key_file: Path, **options) -> dict:
    case = tmp_path / "case"
    result = run_ingest([str(p) for p in logs], case, IngestOptions(key_file=key_file, **options))
    return result.summary


def events(tmp_path: Path) -> pl.DataFrame:
    return pl.read_parquet(tmp_path / "case" / "events" / "*.parquet")


def quarantine(tmp_path: Path) -> pl.DataFrame:
    return pl.read_parquet(tmp_path / "case" / "quarantine.parquet")


# ------------------------------------------------------------------------------------------ accounting


def test_clean_logs_accept_every_row(tmp_path, key_file):
    summary = ingest(tmp_path, [simple_logs(tmp_path / "logs")], key_file)
    assert (summary["rows_read"], summary["rows_accepted"], summary["rows_quarantined"]) == (50, 50, 0)
    assert summary["accounts"] == 7 and summary["requests"] == 50
    assert summary["input_tokens"] == sum(10 + i for i in range(50))
    frame = events(tmp_path)
    assert frame.height == 50
    # Day files in day order, each sorted by account, then time and request ID.
    assert frame.equals(frame.sort(pl.col("timestamp").dt.date(), "account_pseudonym", "timestamp", "request_id"))
    assert not frame["timestamp"].is_sorted()
    key = load_key(key_file)
    assert set(frame["account_pseudonym"]) == {key.pseudonym("account", f"acct_{i}") for i in range(7)}
    assert set(frame["ip_pseudonym"]) == {key.pseudonym("ip", f"203.0.113.{i}") for i in range(11)}
    assert set(frame["net_pseudonym"]) == {key.pseudonym("net", "203.0.113.0/24")}
    assert frame["prompt_reasoning"].all()


def test_every_reason_is_counted_per_file_and_in_total(tmp_path, key_file):
    good = simple_logs(tmp_path / "logs", n=10, prefix="g")
    dirty = write(
        tmp_path / "logs" / "dirty.parquet",
        {
            "request_id": ["d1", None, "d3", "d4", "d5", "d6", "d7", "d8", "g1", "d10"],
            "timestamp": ["2026-05-01T10:00:00Z", "2026-05-01T10:00:00Z", "2026-05-01T10:00:00Z", None, "yesterday",
                          "1970-01-01T00:00:00Z", "2026-07-01T00:00:00Z", "2026-05-01T10:00:00Z",
                          "2026-05-02T10:00:00+02:00", "2026-05-01 11:00"],
            "account_id": ["a", "a", "  ", "a", "a", "a", "a", "a", "a", "a"],
            "ip": ["198.51.100.1", "x", "x", "x", "x", "x", "x", "not-an-ip", "::ffff:198.51.100.1", None],
            "input_tokens": [1, 1, 1, 1, 1, 1, 1, 1, 1, -5],
        },
    )
    summary = ingest(tmp_path, [good, dirty], key_file, since="2026-04-22", until="2026-06-06")
    assert summary["rows_read"] == 20
    assert summary["rows_read"] == summary["rows_accepted"] + summary["rows_quarantined"]
    assert summary["quarantine_reasons"] == {
        "missing_request_id": 1,
        "missing_account_id": 1,
        "missing_timestamp": 1,
        "unparseable_timestamp": 1,
        "implausible_timestamp": 1,
        "outside_window": 1,
        "invalid_ip": 1,
        "invalid_token_count": 1,
        "duplicate_request_id": 1,
    }
    per_file = {f["path"]: f for f in summary["inputs"]}
    assert per_file["dirty.parquet"]["rows_accepted"] == 1  # only d1
    # g1 in dirty.parquet is later (2026-05-02 08:00 UTC) than g1 in g.parquet, so the dirty copy is the duplicate.
    assert per_file["g.parquet"]["rows_accepted"] == 10
    for record in summary["inputs"]:
        assert record["rows"] == record["rows_accepted"] + record["rows_quarantined"]
    q = quarantine(tmp_path)
    assert q.height == 9
    dup = q.filter(pl.col("quarantine_reason") == "duplicate_request_id")
    assert dup["source_file"].to_list() == ["dirty.parquet"] and dup["source_row"].to_list() == [8]
    assert dup["timestamp"].to_list() == ["2026-05-02T10:00:00+02:00"]  # raw value kept as given
    assert dup["ip"].to_list() == ["::ffff:198.51.100.1"]


def test_duplicate_winner_is_earliest_then_by_file_hash_not_file_order(tmp_path, key_file):
    stamp = pa.array([T0], pa.timestamp("us", "UTC"))
    a = write(tmp_path / "logs" / "a.parquet", {"request_id": ["x"], "timestamp": stamp, "account_id": ["one"]})
    b = write(tmp_path / "logs" / "b.parquet", {"request_id": ["x"], "timestamp": stamp, "account_id": ["two"]})
    from forensics.fsio import sha256_file

    winner = "one" if sha256_file(a) < sha256_file(b) else "two"
    for order in ([a, b], [b, a]):
        ingest(tmp_path, order, key_file)
        assert events(tmp_path)["account_pseudonym"].to_list() == [load_key(key_file).pseudonym("account", winner)]


def test_duplicate_winners_do_not_depend_on_row_order(tmp_path, key_file):
    """Which copy of a repeated request ID is kept follows the copies' times, never where they stand in the file."""
    rows = [("x", 2, "x-late"), ("y", 0, "y-first"), ("x", 0, "x-first"), ("x", 1, "x-middle"), ("y", 3, "y-late"),
            ("z", 5, "z-alone")]
    kept = []
    for order in (rows, rows[::-1], rows[2:] + rows[:2]):
        logs = write(tmp_path / "logs" / "l.parquet", {
            "request_id": [r for r, _, _ in order],
            "timestamp": pa.array([T0 + timedelta(hours=h) for _, h, _ in order], pa.timestamp("us", "UTC")),
            "account_id": [a for _, _, a in order],
        })
        assert ingest(tmp_path, [logs], key_file)["quarantine_reasons"] == {"duplicate_request_id": 3}
        kept.append(events(tmp_path).select("request_id", "timestamp", "account_pseudonym").sort("request_id"))
    assert kept[0].equals(kept[1]) and kept[0].equals(kept[2])
    key = load_key(key_file)
    assert kept[0]["account_pseudonym"].to_list() == [key.pseudonym("account", a) for a in ("x-first", "y-first", "z-alone")]


def test_request_id_hash_is_pinned_xxh64() -> None:
    """Duplicate candidates are XXH64 of the request ID's UTF-8 text with seed 0x5EED, a hash defined by its
    algorithm: pinned, and checked against the specification, so that an upgrade that changed it fails here."""
    from forensics.ingest.dedupe import _ID_HASH_SEED, request_id_hash

    ids = ["req-1", "", "über-7", "a-request-id-longer-than-thirty-two-bytes"]
    got = pl.DataFrame({"request_id": ids}).select(request_id_hash()).to_series().to_list()
    assert _ID_HASH_SEED == 0x5EED
    assert got[0] == 9999819201441954561
    assert got == [xxh64_reference(i.encode(), _ID_HASH_SEED) for i in ids]


def test_window_since_inclusive_until_exclusive(tmp_path, key_file):
    logs = write(
        tmp_path / "logs" / "w.parquet",
        {
            "request_id": ["a", "b", "c", "d"],
            "timestamp": pa.array(
                [datetime(2026, 4, 21, 23, 59, 59), datetime(2026, 4, 22), datetime(2026, 6, 5, 23, 59, 59),
                 datetime(2026, 6, 6)],
                pa.timestamp("s"),
            ),
            "account_id": ["u"] * 4,
        },
    )
    summary = ingest(tmp_path, [logs], key_file, since="2026-04-22", until="2026-06-06")
    assert sorted(events(tmp_path)["request_id"]) == ["b", "c"]
    assert summary["quarantine_reasons"] == {"outside_window": 2}


# ------------------------------------------------------------------------------------------ timestamps


@pytest.mark.parametrize(
    "column, unit, expected",
    [
        (pa.array([datetime(2026, 5, 1, 12)], pa.timestamp("ns")), "s", datetime(2026, 5, 1, 12)),
        (pa.array([datetime(2026, 5, 1, 12, tzinfo=timezone.utc)], pa.timestamp("ms", "Europe/Berlin")), "s",
         datetime(2026, 5, 1, 12)),
        (pa.array(["2026-05-01T14:00:00+02:00"]), "s", datetime(2026, 5, 1, 12)),
        (pa.array(["2026-05-01 12:00:00.250"]), "s", datetime(2026, 5, 1, 12, 0, 0, 250000)),
        (pa.array([1777636800], pa.int64()), "s", datetime(2026, 5, 1, 12)),
        (pa.array([1777636800000], pa.int64()), "ms", datetime(2026, 5, 1, 12)),
        (pa.array([1777636800000000], pa.int64()), "us", datetime(2026, 5, 1, 12)),
    ],
)
def test_timestamp_forms(tmp_path, key_file, column, unit, expected):
    logs = write(tmp_path / "logs" / "t.parquet", {"request_id": ["a"], "timestamp": column, "account_id": ["u"]})
    ingest(tmp_path, [logs], key_file, epoch_unit=unit)
    assert events(tmp_path)["timestamp"].to_list() == [expected.replace(tzinfo=timezone.utc)]


def test_milliseconds_read_as_seconds_is_refused_with_a_hint(tmp_path, key_file):
    logs = write(
        tmp_path / "logs" / "ms.parquet",
        {"request_id": ["a", "b"], "timestamp": [1777636800000, 1777636801000], "account_id": ["u", "u"]},
    )
    with pytest.raises(ImplausibleTimestampError, match="--epoch-unit ms"):
        ingest(tmp_path, [logs], key_file)


# ------------------------------------------------------------------------------------------ file faults


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, type, str]]:
    good = simple_logs(tmp_path / "src", n=2000)
    data = good.read_bytes()
    truncated = tmp_path / "bad" / "truncated.parquet"
    truncated.parent.mkdir(parents=True, exist_ok=True)
    truncated.write_bytes(data[: len(data) // 2])
    empty = tmp_path / "bad" / "empty.parquet"
    empty.write_bytes(b"")
    text = tmp_path / "bad" / "text.parquet"
    text.write_text("request_id,timestamp\n1,2\n")
    missing = write(tmp_path / "bad" / "missing.parquet", {"request_id": ["a"], "timestamp": ["2026-05-01"]})
    floats = write(
        tmp_path / "bad" / "floats.parquet", {"request_id": ["a"], "timestamp": [1.7e9], "account_id": ["u"]}
    )
    return {
        "truncated": (truncated, CorruptInputError, "truncated.parquet: truncated or corrupt"),
        "empty": (empty, NotParquetError, "empty.parquet: not a Parquet file (empty file)"),
        "text": (text, NotParquetError, "text.parquet: not a Parquet file"),
        "missing": (missing, MissingColumnError, "missing.parquet: required column 'account_id' is missing"),
        "floats": (floats, UncoercibleTypeError, "floats.parquet: column 'timestamp' has type double"),
    }


@pytest.mark.parametrize("fault", ["truncated", "empty", "text", "missing", "floats"])
def test_file_faults_exit_2_one_line_and_leave_case_untouched(tmp_path, key_file, fault):
    path, error, message = _bad_files(tmp_path)[fault]
    good = simple_logs(tmp_path / "logs", n=20)
    case = tmp_path / "case"
    assert run_cli("ingest", good, "--case", case, "--key-file", key_file, "-q").returncode == 0
    before = tree_bytes(case)
    with pytest.raises(error, match=re.escape(message)):
        run_ingest([str(good), str(path)], case, IngestOptions(key_file=key_file))
    result = run_cli("ingest", good, path, "--case", case, "--key-file", key_file)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr
    assert tree_bytes(case) == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".case")]


def test_corrupt_page_inside_file_is_a_clean_error(tmp_path, key_file):
    good = simple_logs(tmp_path / "src", n=3000)
    data = bytearray(good.read_bytes())
    for i in range(200, 1200):  # scribble over column data, keep header and footer intact
        data[i] = 0xFF
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(bytes(data))
    with pytest.raises(CorruptInputError, match="bad.parquet"):
        ingest(tmp_path, [bad], key_file)
    assert not (tmp_path / "case").exists()


def test_missing_column_names_the_mapping(tmp_path, key_file):
    logs = simple_logs(tmp_path / "logs")
    with pytest.raises(MissingColumnError, match="'prompt' \\(mapped from 'object_id'\\)|'timestamp' \\(mapped"):
        ingest(tmp_path, [logs], key_file, column_map={"timestamp": "timestamp_share"})


def test_refuses_to_overwrite_a_directory_that_is_not_a_case(tmp_path, key_file):
    (tmp_path / "case").mkdir()
    (tmp_path / "case" / "notes.txt").write_text("mine")
    with pytest.raises(CaseError, match="not a forensics case"):
        ingest(tmp_path, [simple_logs(tmp_path / "logs")], key_file)
    assert (tmp_path / "case" / "notes.txt").read_text() == "mine"


# ------------------------------------------------------------------------------------------ mapping


def test_column_map_options_and_toml(tmp_path, key_file):
    logs = write(
        tmp_path / "logs" / "m.parquet",
        {"content_id": ["a", "b"], "timestamp_share": [1777636800, 1777636900], "account_id": ["u", "v"],
         "object_id": ["o1", "o1"], "other": [1, 2]},
    )
    mapping_file = tmp_path / "map.toml"
    mapping_file.write_text('[columns]\nrequest_id = "content_id"\ntimestamp = "wrong"\n')
    mapping = parse_column_map(["timestamp=timestamp_share", "prompt=object_id"], mapping_file)
    assert mapping == {"prompt": "object_id", "request_id": "content_id", "timestamp": "timestamp_share"}
    summary = ingest(tmp_path, [logs], key_file, column_map=mapping)
    assert summary["rows_accepted"] == 2 and summary["ignored_columns"] == ["other"]
    frame = events(tmp_path)
    assert frame["prompt_fingerprint"].n_unique() == 1
    assert frame["prompt_fingerprint"][0] == load_key(key_file).pseudonym("prompt", "o1")


@pytest.mark.parametrize("item", ["nocolon", "=x", "bogus=x"])
def test_bad_map_options(item):
    with pytest.raises(ColumnMapError):
        parse_column_map([item])


# ------------------------------------------------------------------------------------------ outputs


def test_json_output_is_one_object_on_stdout(tmp_path, key_file):
    logs = simple_logs(tmp_path / "logs")
    result = run_cli("ingest", logs, "--case", tmp_path / "case", "--key-file", key_file, "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    for key in ("rows_read", "rows_accepted", "rows_quarantined", "quarantine_reasons", "inputs", "key_fingerprint"):
        assert key in payload
    assert payload["inputs"][0].keys() >= {"path", "sha256", "rows"}
    assert payload["key_fingerprint"] == load_key(key_file).fingerprint


def test_without_key_file_a_key_is_created_in_the_case_and_reused(tmp_path):
    logs = simple_logs(tmp_path / "logs")
    case = tmp_path / "case"
    first = run_cli("ingest", logs, "--case", case)
    assert first.returncode == 0 and "warning" in first.stderr and "key.hex" in first.stderr
    assert oct((case / "key.hex").stat().st_mode & 0o777) == "0o600"
    key_before = (case / "key.hex").read_text()
    events_before = tree_bytes(case / "events")
    second = run_cli("ingest", logs, "--case", case)
    assert second.returncode == 0 and "warning" not in second.stderr
    assert (case / "key.hex").read_text() == key_before
    assert tree_bytes(case / "events") == events_before


def test_no_raw_values_outside_quarantine(tmp_path, key_file):
    raw_accounts = [f"victim-{i}@example.org" for i in range(5)]
    raw_ips = ["192.0.2.77", "2001:db8::dead:beef"]
    prompts = ["Tell me the secret recipe please", "Please reason step by step about cats"]
    logs = write(
        tmp_path / "logs" / "raw.parquet",
        {
            "request_id": [f"q{i}" for i in range(6)],
            "timestamp": pa.array([T0 + timedelta(seconds=i) for i in range(6)], pa.timestamp("us", "UTC")),
            "account_id": raw_accounts + [None],
            "ip": [raw_ips[i % 2] for i in range(6)],
            "prompt": [prompts[i % 2] for i in range(6)],
            "system_prompt": ["You are SecretBot"] * 6,
            "user_agent": ["RawAgent/1.0"] * 6,
        },
    )
    ingest(tmp_path, [logs], key_file)
    needles = raw_accounts + raw_ips + prompts + ["You are SecretBot", "RawAgent/1.0", TEST_KEY_HEX]
    needles += [p.lower() for p in prompts]
    for path in (tmp_path / "case").rglob("*"):
        if path.is_file() and path.name != "quarantine.parquet":
            content = path.read_bytes()
            for needle in needles:
                assert needle.encode() not in content, (path.name, needle)
    assert "victim" not in (tmp_path / "case" / "ingest.json").read_text()


def test_determinism_across_threads_and_input_order(tmp_path, key_file):
    a = simple_logs(tmp_path / "logs", n=400, prefix="a")
    b = simple_logs(tmp_path / "logs", n=300, prefix="b", start=T0 + timedelta(hours=5))
    dup = write(
        tmp_path / "logs" / "c.parquet",
        {"request_id": ["a1", "b2"], "timestamp": ["2026-05-01T00:00:00Z", "2026-05-09"], "account_id": ["z", "z"]},
    )
    outputs = []
    for threads, order in (("1", [a, b, dup]), ("2", [dup, b, a])):
        case = tmp_path / f"case{threads}"
        result = run_cli(
            "ingest", *order, "--case", case, "--key-file", key_file, "-q",
            env={"POLARS_MAX_THREADS": threads, "PYTHONHASHSEED": threads},
        )
        assert result.returncode == 0, result.stderr
        outputs.append(tree_bytes(case))
    assert outputs[0] == outputs[1]
    assert any(name.startswith("events/") for name in outputs[0])


def test_accounts_table(tmp_path, key_file):
    logs = simple_logs(tmp_path / "logs")
    accounts = write(
        tmp_path / "accounts.parquet",
        {
            "account_id": ["acct_0", "acct_1", "acct_1", None, "acct_9"],
            "created_at": pa.array([T0 - timedelta(days=d) for d in range(5)], pa.timestamp("us", "UTC")),
            "email_domain": ["Mail.Example", "x.org", "y.org", "z.org", "x.org"],
            "payment_fingerprint": ["card1", "card1", "card2", "card3", "card1"],
            "billing_country": ["us", "US", "DE", "FR", "cn"],
        },
    )
    summary = ingest(tmp_path, [logs], key_file, accounts=accounts)
    table = pl.read_parquet(tmp_path / "case" / "accounts.parquet")
    key = load_key(key_file)
    assert table.height == 3
    assert summary["accounts_input"]["duplicate_rows"] == 1 and summary["accounts_input"]["missing_account_id"] == 1
    row = table.filter(pl.col("account_pseudonym") == key.pseudonym("account", "acct_1")).row(0, named=True)
    assert row["payment_pseudonym"] == key.pseudonym("payment", "card1")  # first row of acct_1 wins
    assert row["billing_country"] == "US"
    assert row["email_domain_fingerprint"] == key.pseudonym("email_domain", "x.org")
    assert "accounts.org_id" in summary["signals_unavailable"]


# ------------------------------------------------------------------------------------------ property


REASONS_IN_ORDER = ["missing_request_id", "missing_account_id", "missing_timestamp", "unparseable_timestamp",
                    "outside_window"]
SINCE, UNTIL = datetime(2026, 5, 1, tzinfo=timezone.utc), datetime(2026, 5, 3, tzinfo=timezone.utc)

row_strategy = st.fixed_dictionaries(
    {
        "request_id": st.one_of(st.none(), st.just(""), st.sampled_from([f"id{i}" for i in range(12)])),
        "account_id": st.one_of(st.none(), st.just(" "), st.sampled_from(["a", "b", "c"])),
        "offset_h": st.one_of(st.none(), st.integers(-30, 80)),
        "garbage": st.booleans(),
        "tz": st.sampled_from(["Z", "+02:00", "-07:30", ""]),
    }
)


def _stamp(row: dict) -> str | None:
    if row["offset_h"] is None:
        return None
    if row["garbage"]:
        return "not a time"
    moment = SINCE + timedelta(hours=row["offset_h"], minutes=7)
    if row["tz"] in ("", "Z"):
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + row["tz"]
    sign = 1 if row["tz"][0] == "+" else -1
    hours, minutes = map(int, row["tz"][1:].split(":"))
    local = moment + sign * timedelta(hours=hours, minutes=minutes)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + row["tz"]


def _expected(files: list[list[dict]]) -> dict[str, int]:
    """An independent model of the rules: precedence of reasons, then earliest-copy-wins duplicates."""
    counts: dict[str, int] = {}
    survivors: dict[str, list[datetime]] = {}
    for rows in files:
        for row in rows:
            reason = None
            moment = SINCE + timedelta(hours=row["offset_h"], minutes=7) if row["offset_h"] is not None else None
            if not (row["request_id"] or "").strip():
                reason = "missing_request_id"
            elif not (row["account_id"] or "").strip():
                reason = "missing_account_id"
            elif row["offset_h"] is None:
                reason = "missing_timestamp"
            elif row["garbage"]:
                reason = "unparseable_timestamp"
            elif not (SINCE <= moment < UNTIL):
                reason = "outside_window"
            if reason:
                counts[reason] = counts.get(reason, 0) + 1
            else:
                survivors.setdefault(row["request_id"], []).append(moment)
    duplicates = sum(len(v) - 1 for v in survivors.values())
    if duplicates:
        counts["duplicate_request_id"] = duplicates
    return counts


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.lists(row_strategy, min_size=0, max_size=25), min_size=1, max_size=3))
def test_accounting_invariant_property(tmp_path_factory, files):
    tmp_path = tmp_path_factory.mktemp("prop")
    key_file = tmp_path / "k"
    key_file.write_text(TEST_KEY_HEX)
    key_file.chmod(0o600)
    paths = []
    for i, rows in enumerate(files):
        paths.append(
            write(
                tmp_path / "logs" / f"f{i}.parquet",
                {
                    "request_id": [r["request_id"] for r in rows],
                    "timestamp": [_stamp(r) for r in rows],
                    "account_id": [r["account_id"] for r in rows],
                },
                schema=pa.schema([("request_id", pa.string()), ("timestamp", pa.string()), ("account_id", pa.string())]),
            )
        )
    summary = ingest(tmp_path, paths, key_file, since=SINCE.isoformat(), until=UNTIL.isoformat())
    total = sum(len(rows) for rows in files)
    assert summary["rows_read"] == total
    assert summary["rows_accepted"] + summary["rows_quarantined"] == total
    assert summary["quarantine_reasons"] == _expected(files)
    for record, rows in zip(summary["inputs"], files):
        assert record["rows"] == len(rows) == record["rows_accepted"] + record["rows_quarantined"]
    accepted = events(tmp_path).height if summary["rows_accepted"] else 0
    assert accepted == summary["rows_accepted"]
    assert quarantine(tmp_path).height == summary["rows_quarantined"]


def test_cluster_can_lock_the_case_right_after_ingest_in_one_process(tmp_path, key_file):
    """No helper (thread or process) started during ingest may keep holding the case lock afterwards."""
    from forensics.fsio import case_lock

    logs = simple_logs(tmp_path / "logs", n=20_500)
    ingest(tmp_path, [logs], key_file)
    with case_lock(tmp_path / "case"):
        pass


def mixed_logs(directory: Path) -> list[Path]:
    """Several files and days; prompts, user agents and system prompts that repeat across batches."""
    paths = []
    for f in range(3):
        n = 180
        paths.append(
            write(
                directory / f"m{f}.parquet",
                {
                    "request_id": [f"m{f}-{i}" for i in range(n)][:-1] + ["m0-0"],  # one duplicate across files
                    "timestamp": pa.array(
                        [T0 + timedelta(hours=3 * f, minutes=13 * i) for i in range(n)], pa.timestamp("us", "UTC")
                    ),
                    "account_id": [f"acct_{(i * (f + 1)) % 23}" for i in range(n)],
                    "ip": [["198.51.100.7", "2001:db8::1", "010.1.2.3", "not-an-ip", None][i % 5] for i in range(n)],
                    "user_agent": [["same text", "curl/8", None][i % 3] for i in range(n)],
                    "system_prompt": [["Same text", "  SAME   text ", None, ""][i % 4] for i in range(n)],
                    "prompt": [
                        [None, "", f"Order {i % 9}  please", f"order {i % 9} PLEASE", "Think step by step"][i % 5]
                        for i in range(n)
                    ],
                },
            )
        )
    return paths


def test_output_does_not_depend_on_batch_size(tmp_path, key_file):
    """Tiny batches: many flushes in flight on the helper thread, caches reused across batches."""
    logs = mixed_logs(tmp_path / "logs")
    outputs = []
    for batch_rows in (250_000, 7, 64):
        case = tmp_path / f"case{batch_rows}"
        run_ingest([str(p) for p in logs], case, IngestOptions(key_file=key_file, batch_rows=batch_rows))
        outputs.append(tree_bytes(case))
    assert outputs[0] == outputs[1] == outputs[2]
    assert sum(name.startswith("events/") for name in outputs[0]) >= 2


def test_output_does_not_depend_on_memo_bounds(tmp_path, key_file, monkeypatch):
    """The pseudonym and address memos are emptied whenever they outgrow their bound; the case is the same."""
    import forensics.ingest.validate as validate_module

    logs = mixed_logs(tmp_path / "logs")
    run_ingest([str(p) for p in logs], tmp_path / "default", IngestOptions(key_file=key_file, batch_rows=64))
    monkeypatch.setattr(validate_module, "_CACHE_MAX", 1)
    run_ingest([str(p) for p in logs], tmp_path / "tiny", IngestOptions(key_file=key_file, batch_rows=64))
    assert tree_bytes(tmp_path / "default") == tree_bytes(tmp_path / "tiny")


def test_derived_columns_follow_their_definitions(tmp_path, key_file):
    """Each kind is hashed under its own name, even when a user agent and a system prompt share a text."""
    ingest(tmp_path, mixed_logs(tmp_path / "logs"), key_file)
    key = load_key(key_file)
    ev = events(tmp_path)
    norm = lambda s: re.sub(r"\s+", " ", s.lower()).strip()  # noqa: E731
    ua = dict(zip(ev["request_id"], ev["user_agent_fingerprint"]))
    system = dict(zip(ev["request_id"], ev["system_prompt_fingerprint"]))
    prompt = {r: (fp, tf, chars) for r, fp, tf, chars in ev.select(
        "request_id", "prompt_fingerprint", "prompt_template_fingerprint", "prompt_chars").iter_rows()}
    raw = pl.read_parquet(tmp_path / "logs" / "m1.parquet")
    checked = 0
    for rid, agent, sysp, text in raw.select("request_id", "user_agent", "system_prompt", "prompt").iter_rows():
        if rid not in ua or not rid.startswith("m1-"):  # quarantined (invalid IP), or the duplicate of m0-0
            continue
        checked += 1
        assert ua[rid] == (None if agent is None else key.pseudonym("ua", agent))
        assert system[rid] == (None if sysp is None else key.pseudonym("system", norm(sysp)))
        if text is None:
            assert prompt[rid] == (None, None, None)
        else:
            template = re.sub(r"\d+", "0", norm(text))
            assert prompt[rid] == (key.pseudonym("prompt", norm(text)), key.pseudonym("template", template), len(text))
    assert checked > 50
    assert key.pseudonym("ua", "same text") in set(ua.values())
    assert key.pseudonym("system", "same text") in set(system.values())
    # The same template gives the same band keys; no template gives none.
    bands = ev.filter(pl.col("prompt_template_fingerprint").is_not_null()).group_by("prompt_template_fingerprint").agg(
        pl.col("prompt_minhash").n_unique().alias("n"))
    assert bands["n"].max() == 1
    assert ev.filter(pl.col("prompt_fingerprint").is_null())["prompt_minhash"].null_count() == ev.filter(
        pl.col("prompt_fingerprint").is_null()).height


def test_error_on_the_derivation_thread_fails_the_ingest_cleanly(tmp_path, key_file, monkeypatch):
    import forensics.engine.local as local_engine

    def broken(valid, key, minhasher):
        raise RuntimeError("derivation failed")

    monkeypatch.setattr(local_engine, "derive_event_columns", broken)
    logs = simple_logs(tmp_path / "logs", n=40)
    with pytest.raises(RuntimeError, match="derivation failed"):
        run_ingest([str(logs)], tmp_path / "case", IngestOptions(key_file=key_file, batch_rows=8))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["logs", key_file.name])  # no case, no stage left


def _band_keys_by_the_spec(text: str, key_hex: str) -> list[int]:
    """The band keys as README and docs/case-format.md specify them, in plain Python."""
    from forensics.schema import SHINGLE_WORDS

    words = re.findall(r"[^\W_]+", text)  # letters and digits: schema.WORD on these inputs
    return _band_keys_of_shingles([" ".join(words[j:j + SHINGLE_WORDS]) for j in range(len(words))], key_hex)


def _band_keys_of_shingles(shingles: list[str], key_hex: str) -> list[int]:
    """The spec's band keys of a text with these shingles (none: the one shingle ""), in plain Python."""
    from forensics.ingest.pseudonymise import _splitmix64
    from forensics.schema import MINHASH_BANDS, MINHASH_ROWS_PER_BAND, MINHASH_SEED

    encoded = [s.encode() for s in shingles] or [b""]
    rows = MINHASH_BANDS * MINHASH_ROWS_PER_BAND
    signature = [min(xxh64_reference(s, _splitmix64(MINHASH_SEED + i)) for s in encoded) for i in range(rows)]
    keys = []
    for b in range(MINHASH_BANDS):
        label = f"minhash-band:{b}".encode()
        seed = int(hmac.new(bytes.fromhex(key_hex), label, hashlib.sha256).hexdigest()[:16], 16)
        band = signature[b * MINHASH_ROWS_PER_BAND:(b + 1) * MINHASH_ROWS_PER_BAND]
        keys.append(xxh64_reference(":".join(map(str, band)).encode(), seed))
    return keys


_BAND_TEXTS = ["explain step by step how 0 works", "", "one", "über die brücke 0", "a b c d e f g h i j k l m n o p"]


def test_xxh64_reference_matches_published_vectors() -> None:
    assert xxh64_reference(b"", 0) == 0xEF46DB3751D8E999
    assert xxh64_reference(b"a", 0) == 0xD24EC4F1A98C6E5B
    assert xxh64_reference(b"abc", 0) == 0x44BC2CF5AD770999


def test_minhash_band_keys_are_pinned_and_follow_the_spec() -> None:
    """Band keys come from XXH64, defined by its algorithm: a polars or polars-hash upgrade that changed them
    would change every case's band keys, and fails here."""
    from forensics.ingest.pseudonymise import MinHasher
    from forensics.keys import CaseKey

    minhasher = MinHasher.from_key(CaseKey(bytes.fromhex(TEST_KEY_HEX)))
    got = minhasher.band_keys(pl.Series(_BAND_TEXTS)).to_list()
    assert got[:3] == [
        [15256203679925662747, 28821337400927242],
        [4158064466086381499, 8514634615764411079],
        [6429068221727533064, 14243709816257893227],
    ]
    assert got == [_band_keys_by_the_spec(text, TEST_KEY_HEX) for text in _BAND_TEXTS]


def test_which_prompts_share_a_band_does_not_depend_on_the_key() -> None:
    from forensics.ingest.pseudonymise import MinHasher
    from forensics.keys import CaseKey

    base = "please write a detailed answer about the history of the roman empire and its fall in the west"
    words = base.split()
    variants = [base] + [" ".join(words[:i] + ["changed"] + words[i + 1:]) for i in range(len(words))]
    texts = pl.Series(variants + ["something else entirely with no overlap at all"])

    def partition(key_bytes: bytes) -> list[list[int]]:
        keys = MinHasher.from_key(CaseKey(key_bytes)).band_keys(texts).to_list()
        return [[j for j, other in enumerate(keys) if other[b] == mine[b]] for mine in keys for b in range(2)]

    first, second = partition(bytes.fromhex(TEST_KEY_HEX)), partition(bytes(range(32)))
    assert first == second
    assert any(len(group) > 1 for group in first)  # some variants do share a band
    assert MinHasher.from_key(CaseKey(bytes(range(32)))).band_keys(texts[:1]).to_list() != \
        MinHasher.from_key(CaseKey(bytes.fromhex(TEST_KEY_HEX))).band_keys(texts[:1]).to_list()


def _v6_texts() -> st.SearchStrategy[str]:
    """IPv6 in the forms logs hold: canonical, with zero hextets (runs or single), exploded, upper case."""
    hextet = st.one_of(st.just(0), st.integers(0, 0xFFFF), st.integers(1, 0xF))
    address = st.lists(hextet, min_size=8, max_size=8).map(lambda h: sum(v << (16 * (7 - i)) for i, v in enumerate(h)))
    import ipaddress

    return st.tuples(address, st.sampled_from(["canonical", "exploded", "upper", "unpadded"])).map(
        lambda a: {
            "canonical": str(ipaddress.IPv6Address(a[0])),
            "exploded": ipaddress.IPv6Address(a[0]).exploded,
            "upper": str(ipaddress.IPv6Address(a[0])).upper(),
            "unpadded": ":".join(f"{(a[0] >> (16 * (7 - i))) & 0xFFFF:x}" for i in range(8)),
        }[a[1]]
    )


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(st.one_of(_v6_texts(), st.sampled_from(["1.2.3.4", "01.2.3.4", "::ffff:1.2.3.4", "x", "1::"])),
                      max_size=12))
def test_ip_fast_paths_agree_with_ipaddress(texts):
    """The polars fast paths for canonical IPv4 and IPv6 give the same address and network texts as ipaddress."""
    from forensics.ingest.validate import IpCache, _canonical_address
    from forensics.keys import CaseKey

    key = CaseKey(bytes.fromhex(TEST_KEY_HEX))
    table = IpCache(key).table(pl.Series(texts, dtype=pl.String))
    got = {r: (ip, net) for r, ip, net in table.select("_ip_raw", "ip_pseudonym", "net_pseudonym").iter_rows()}
    for text in texts:
        parsed = _canonical_address(text)
        want = (None, None) if parsed is None else (key.pseudonym("ip", parsed[0]), key.pseudonym("net", parsed[1]))
        assert got[text] == want, text


def _shapes_by_regex(texts: list[str]) -> tuple[list[str], list[str], list[str], list[list[str]]]:
    """Skeletons, openings, closings and shingles as schema's patterns define them, with polars' regex list
    functions: the reference for prompt_shapes, which computes them from the bytes."""
    from forensics.schema import FUNCTION_WORDS, PHRASE_WORDS, SHINGLE_WORDS, SKELETON_TOKEN, WORD

    word = pl.element().str.contains(r"^[\p{L}\p{N}']")
    masked = pl.when(word & ~pl.element().is_in(FUNCTION_WORDS)).then(pl.lit("~")).otherwise(pl.element())
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String}).select(
        pl.col("t").str.extract_all(SKELETON_TOKEN).list.eval(masked).list.join(" ").alias("tokens"),
        pl.col("t").str.extract_all(WORD).alias("words"),
    )
    skeletons, openings, closings, shingles = [], [], [], []
    for tokens, words in frame.iter_rows():
        skeletons.append(re.sub(r"~(?: ~)+", "~", tokens))
        openings.append(" ".join(words[:PHRASE_WORDS]))
        closings.append(" ".join(words[-PHRASE_WORDS:]) if words else "")
        shingles.append([" ".join(words[j:j + SHINGLE_WORDS]) for j in range(len(words))])
    return skeletons, openings, closings, shingles


_SHAPE_PIECES = st.sampled_from(
    ["a", "the", "i'm", "I'M", "let's", "über", "brücke", "中文", "٣", "x0", "'", "''", "~", "!", ",", ".", "-",
     "\u0301", "\x01", "\x00", "\x1c", "😀", " ", "  ", "\t", "\n", "\u00a0", "\u3000", "\u2003", "\u0085", "\u2028",
     "word", "between", "themselves", "0"]
)


# ASCII texts take the compiled pass's own tokenizer, not the regex marking: every ASCII character is a piece.
_ASCII_PIECES = st.one_of(
    st.characters(max_codepoint=0x7F), st.sampled_from(["the", "i'm", "I'M", "let's", "x0", "between", "Word", "~"])
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.lists(st.lists(_SHAPE_PIECES, max_size=24).map("".join), min_size=1, max_size=8),
        st.lists(st.lists(_ASCII_PIECES, max_size=24).map("".join), min_size=1, max_size=8),
    )
)
def test_prompt_shapes_match_the_schema_patterns(texts: list[str]) -> None:
    from forensics.ingest.pseudonymise import MinHasher, prompt_shapes
    from forensics.keys import CaseKey

    minhasher = MinHasher.from_key(CaseKey(bytes.fromhex(TEST_KEY_HEX)))
    got = prompt_shapes(pl.Series(texts, dtype=pl.String), minhasher)
    skeletons, openings, closings, shingles = _shapes_by_regex(texts)
    assert got[0].to_list() == skeletons
    assert got[1].to_list() == openings
    assert got[2].to_list() == closings
    assert got[3].to_list() == [_band_keys_of_shingles(group, TEST_KEY_HEX) for group in shingles]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.lists(_SHAPE_PIECES, max_size=24).map("".join), st.lists(_ASCII_PIECES, max_size=24).map("".join)),
        max_size=12,
    )
)
def test_prompts_are_normalised_and_masked_as_the_expressions_say(texts: list[str]) -> None:
    """The prompt table's normalised text and template (ASCII texts by a compiled pass) against normalise_text and
    schema.DIGIT_RUN in polars."""
    from forensics.ingest.pseudonymise import _normalised, normalise_text
    from forensics.schema import DIGIT_RUN

    got = _normalised(pl.Series(texts, dtype=pl.String))
    want = pl.DataFrame({"p": texts}, schema={"p": pl.String}).select(normalise_text(pl.col("p")).alias("n"))
    want = want.with_columns(pl.col("n").str.replace_all(DIGIT_RUN, "0").alias("t"))
    assert got["_prompt"].to_list() == texts
    assert got["_norm"].to_list() == want["n"].to_list()
    assert got["_text"].to_list() == want["t"].to_list()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=8).filter(lambda b: not b.endswith(b"\x00")), max_size=40))
def test_function_words_are_found_in_their_table_and_nothing_else_is(tokens: list[bytes]) -> None:
    # Keys are the bytes read as one little-endian integer, so a token's trailing NULs are not part of it; the
    # compiled pass looks up word tokens only, which hold none.
    from forensics.ingest import kernels
    from forensics.ingest.pseudonymise import _FUNCTION_WORD_TABLE
    from forensics.schema import FUNCTION_WORDS

    words = {w.encode() for w in FUNCTION_WORDS}
    for token in sorted(words) + tokens + [b"\x00"]:
        key = np.uint64(int.from_bytes(token, "little"))
        assert kernels._is_function_word(_FUNCTION_WORD_TABLE, key) == (token in words), token


def test_prompt_shapes_of_null_and_empty_texts() -> None:
    from forensics.ingest.pseudonymise import MinHasher, prompt_shapes
    from forensics.keys import CaseKey

    minhasher = MinHasher.from_key(CaseKey(bytes.fromhex(TEST_KEY_HEX)))
    skeletons, openings, closings, keys = prompt_shapes(pl.Series([None, "", "  "], dtype=pl.String), minhasher)
    assert skeletons.to_list() == openings.to_list() == closings.to_list() == ["", "", ""]
    assert keys.to_list() == [_band_keys_of_shingles([], TEST_KEY_HEX)] * 3
    assert [len(s) for s in prompt_shapes(pl.Series([], dtype=pl.String), minhasher)] == [0, 0, 0, 0]


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200), seed=st.integers(0, 2**64 - 1), cut=st.integers(0, 200))
def test_compiled_xxh64_matches_the_reference(data: bytes, seed: int, cut: int) -> None:
    """Every length class of XXH64 (the 32-byte stripes, 8- and 4-byte words, single bytes), at any offset."""
    from forensics.ingest.kernels import xxh64

    cut = min(cut, len(data))
    buffer = np.frombuffer(data, np.uint8)
    assert int(xxh64(buffer, 0, cut, np.uint64(seed))) == xxh64_reference(data[:cut], seed)
    assert int(xxh64(buffer, cut, len(data), np.uint64(seed))) == xxh64_reference(data[cut:], seed)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "A  b", "a b", "é", ""]), st.text(max_size=6)),
                    max_size=20),
    normalise=st.booleans(),
)
def test_each_distinct_value_is_hashed_once_and_every_row_gets_its_pseudonym(values, normalise):
    """pseudonymise_series hashes a series' distinct values once each; every row gets the pseudonym of its own
    value (of its normalisation with `normalise`), and a null stays null."""
    import forensics.ingest.pseudonymise as ps

    key = CaseKey(bytes.fromhex(TEST_KEY_HEX))
    hashed: list[str] = []
    real = ps._keyed

    def counting(k, kind, texts):
        hashed.extend(texts.to_list())
        return real(k, kind, texts)

    ps._keyed = counting
    try:
        got = ps.pseudonymise_series(pl.Series("v", values, dtype=pl.String), key, "ua", normalise=normalise)
    finally:
        ps._keyed = real
    assert len(hashed) == len({v for v in values if v is not None})

    def normalised(v: str) -> str:  # normalise_text itself is checked elsewhere: here, which text each row hashes
        return pl.select(ps.normalise_text(pl.lit(v))).item() if normalise else v

    assert got.to_list() == [None if v is None else key.pseudonym("ua", normalised(v)) for v in values]
