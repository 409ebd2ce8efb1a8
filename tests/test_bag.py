"""The BagIt writer and checker on small hand-made payloads: third-party tools accept what we write, and
the checker names every modified, missing, extra or renamed file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import bagit
import pytest

from forensics.bundle.bag import (
    BAG_INFO,
    BAGIT_TXT,
    bag_info_text,
    check_bag,
    is_safe_path,
    manifest_text,
    write_bag,
)
from forensics.errors import InternalError

PAYLOAD = {
    "summary.json": b'{\n  "a": 1\n}\n',
    "accounts.csv": b"account_pseudonym,cluster_id\n" + b"0123456789abcdef0123456789abcdef,0\n" * 3,
    "figures/one.svg": b"<svg xmlns='http://www.w3.org/2000/svg'></svg>\n",
    "VERIFY.md": b"# How to verify\n",
    "empty.txt": b"",
}
INFO = [("Bag-Software-Agent", "forensics test"), ("Bagging-Date", "2026-06-05"), ("External-Identifier", "T-1")]


def _expected_info() -> dict[str, bytes]:
    octets = sum(len(v) for v in PAYLOAD.values())
    return {BAG_INFO: bag_info_text(INFO, octets, len(PAYLOAD)).encode()}


@pytest.fixture
def bag(tmp_path: Path) -> Path:
    target = tmp_path / "bag"
    target.mkdir()
    write_bag(target, PAYLOAD, INFO)
    return target


def _names(report) -> str:
    return " ".join(p.line() for p in report.problems)


def test_written_bag_has_exact_tag_files(bag: Path) -> None:
    assert (bag / "bagit.txt").read_text() == "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    info = (bag / "bag-info.txt").read_text().splitlines()
    assert info[:3] == ["Bag-Software-Agent: forensics test", "Bagging-Date: 2026-06-05", "External-Identifier: T-1"]
    octets = sum(len(v) for v in PAYLOAD.values())
    assert info[3] == f"Payload-Oxum: {octets}.{len(PAYLOAD)}"
    lines = (bag / "manifest-sha256.txt").read_text().splitlines()
    paths = [line.split("  ", 1)[1] for line in lines]
    assert paths == sorted(f"data/{p}" for p in PAYLOAD)
    assert all(len(line.split("  ", 1)[0]) == 64 for line in lines)
    tags = [line.split("  ", 1)[1] for line in (bag / "tagmanifest-sha256.txt").read_text().splitlines()]
    assert tags == ["bag-info.txt", "bagit.txt", "manifest-sha256.txt"]


def test_third_party_bagit_and_sha256sum_accept_the_bag(bag: Path) -> None:
    bagit.Bag(str(bag)).validate()  # raises BagValidationError on any problem
    for manifest in ("manifest-sha256.txt", "tagmanifest-sha256.txt"):
        done = subprocess.run(["sha256sum", "-c", "--strict", manifest], cwd=bag, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.count(": OK") == len((bag / manifest).read_text().splitlines())


def test_checker_accepts_intact_bag(bag: Path) -> None:
    report = check_bag(bag, expected_tags=_expected_info())
    assert report.ok, _names(report)
    assert report.payload_files == len(PAYLOAD)
    assert report.info["External-Identifier"] == "T-1"


@pytest.mark.parametrize(
    "path",
    ["Upper.txt", "with space.csv", "../escape", "/abs", "a//b", "./x", "ü.txt", "data\\x", ""],
)
def test_unsafe_payload_names_are_refused(tmp_path: Path, path: str) -> None:
    assert not is_safe_path(path)
    with pytest.raises(InternalError):
        write_bag(tmp_path, {path: b"x"}, INFO)


def test_multiline_info_value_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InternalError):
        write_bag(tmp_path, PAYLOAD, [("External-Description", "two\nlines")])


def _flip(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    where = len(data) // 2 if offset is None else offset
    data[where] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "rel",
    [
        "data/summary.json", "data/accounts.csv", "data/figures/one.svg", "data/VERIFY.md",
        "bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt",
    ],
)
def test_single_flipped_byte_is_named(bag: Path, rel: str) -> None:
    _flip(bag / rel)
    report = check_bag(bag, expected_tags=_expected_info())
    assert not report.ok
    assert rel in {p.path for p in report.problems}, _names(report)


@pytest.mark.parametrize("offset", range(0, 64, 7))
def test_flipped_digest_in_tag_manifest_blames_the_tag_manifest(bag: Path, offset: int) -> None:
    """A digest changed in tagmanifest-sha256.txt must not be reported as a change to an intact file."""
    _flip(bag / "tagmanifest-sha256.txt", offset)
    report = check_bag(bag, expected_tags=_expected_info())
    assert {p.path for p in report.problems} == {"tagmanifest-sha256.txt"}, _names(report)


def test_flipped_digest_in_manifest_names_the_manifest(bag: Path) -> None:
    _flip(bag / "manifest-sha256.txt", 3)
    report = check_bag(bag, expected_tags=_expected_info())
    paths = {p.path for p in report.problems}
    assert "manifest-sha256.txt" in paths, _names(report)


def test_the_empty_file_can_be_tampered_with_by_growing(bag: Path) -> None:
    (bag / "data" / "empty.txt").write_bytes(b"x")
    report = check_bag(bag, expected_tags=_expected_info())
    assert "data/empty.txt" in {p.path for p in report.problems}


def test_missing_extra_and_renamed_files_are_named(bag: Path) -> None:
    (bag / "data" / "accounts.csv").unlink()
    (bag / "data" / "figures" / "new.svg").write_bytes(b"<svg/>")
    (bag / "notes.txt").write_text("added at the top level")
    (bag / "data" / "VERIFY.md").rename(bag / "data" / "verify.md")
    report = check_bag(bag, expected_tags=_expected_info())
    found = {(p.kind, p.path) for p in report.problems}
    assert ("missing", "data/accounts.csv") in found
    assert ("extra", "data/figures/new.svg") in found
    assert ("extra", "notes.txt") in found
    assert ("missing", "data/VERIFY.md") in found and ("extra", "data/verify.md") in found


def test_missing_tag_files_are_named(bag: Path) -> None:
    (bag / "tagmanifest-sha256.txt").unlink()
    (bag / "bagit.txt").unlink()
    found = {(p.kind, p.path) for p in check_bag(bag).problems}
    assert ("missing", "tagmanifest-sha256.txt") in found and ("missing", "bagit.txt") in found


def test_empty_directory_and_symlink_are_not_ignored(bag: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    (bag / "data" / "link.txt").symlink_to(outside)
    report = check_bag(bag, expected_tags=_expected_info())
    assert "data/link.txt" in {p.path for p in report.problems}


def test_rewritten_manifests_pass_the_bag_check(bag: Path) -> None:
    """What BagIt does not protect against (documented in VERIFY.md): an attacker who rewrites the manifests."""
    import hashlib

    (bag / "data" / "summary.json").write_bytes(b'{"a": 2}\n')
    digests = {}
    for path in sorted((bag / "data").rglob("*")):
        if path.is_file():
            digests[path.relative_to(bag).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    (bag / "manifest-sha256.txt").write_text(manifest_text(digests))
    octets = sum(p.stat().st_size for p in (bag / "data").rglob("*") if p.is_file())
    (bag / "bag-info.txt").write_text(bag_info_text(INFO, octets, len(digests)))
    tags = {n: hashlib.sha256((bag / n).read_bytes()).hexdigest() for n in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt")}
    (bag / "tagmanifest-sha256.txt").write_text(manifest_text(tags))
    assert check_bag(bag).ok
    bagit.Bag(str(bag)).validate()


def test_missing_bundle_directory(tmp_path: Path) -> None:
    report = check_bag(tmp_path / "nope")
    assert not report.ok


def test_bagit_declaration_constant_matches_rfc() -> None:
    assert BAGIT_TXT.splitlines() == ["BagIt-Version: 1.0", "Tag-File-Character-Encoding: UTF-8"]


def test_copy_of_bag_elsewhere_is_still_valid(bag: Path, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(bag, moved)
    assert check_bag(moved, expected_tags=_expected_info()).ok


CUSTODY_LOG = b'{"command":"ingest","time":"2026-06-10T09:00:00Z"}\n{"command":"report","time":"2026-06-10T09:05:00Z"}\n'


@pytest.fixture
def bag_with_custody(tmp_path: Path) -> Path:
    target = tmp_path / "bag"
    target.mkdir()
    write_bag(target, PAYLOAD, INFO, extra_tags={"custody.jsonl": CUSTODY_LOG})
    return target


def test_the_custody_log_is_a_tag_file_listed_in_the_tag_manifest(bag_with_custody: Path) -> None:
    bag = bag_with_custody
    assert (bag / "custody.jsonl").read_bytes() == CUSTODY_LOG
    tags = [line.split("  ", 1)[1] for line in (bag / "tagmanifest-sha256.txt").read_text().splitlines()]
    assert tags == ["bag-info.txt", "bagit.txt", "custody.jsonl", "manifest-sha256.txt"]
    bagit.Bag(str(bag)).validate()
    done = subprocess.run(["sha256sum", "-c", "--strict", "tagmanifest-sha256.txt"], cwd=bag, capture_output=True, text=True)
    assert done.returncode == 0 and "custody.jsonl: OK" in done.stdout
    assert check_bag(bag, expected_tags=_expected_info()).ok


def test_a_changed_or_missing_custody_log_is_named(bag_with_custody: Path) -> None:
    bag = bag_with_custody
    (bag / "custody.jsonl").write_bytes(CUSTODY_LOG.replace(b"09:05", b"09:06"))
    assert "modified: custody.jsonl" in _names(check_bag(bag, expected_tags=_expected_info()))
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(bag)).validate()
    (bag / "custody.jsonl").unlink()
    assert "missing: custody.jsonl" in _names(check_bag(bag, expected_tags=_expected_info()))


@pytest.mark.parametrize("name", ["bagit.txt", "manifest-sha256.txt", "data/custody.jsonl", "Custody.jsonl"])
def test_extra_tag_files_cannot_shadow_or_leave_the_root(tmp_path: Path, name: str) -> None:
    with pytest.raises(InternalError):
        write_bag(tmp_path, PAYLOAD, INFO, extra_tags={name: b"x\n"})


def _summary(**case) -> dict:
    return {"tool_version": "0.1.0", "bagging_date": "2026-06-05", "case_id": "ACME-1", "title": "T",
            "key_fingerprint": "0123456789abcdef", "case": {"case_id": "ACME-1", **case}}


def test_bag_info_records_case_metadata_under_rfc_8493_labels() -> None:
    from forensics.bundle.run import bag_info_fields

    fields = dict(bag_info_fields(_summary(
        source_organization="Example AI Ltd", contact_name="A. Analyst", contact_email="a@example.org",
        external_identifier="MATTER-7", analysis_date="2026-06-10",
    )))
    assert fields["Internal-Sender-Identifier"] == "ACME-1"  # the case ID, leaving External-Identifier to the user
    assert fields["External-Identifier"] == "MATTER-7"
    assert fields["Source-Organization"] == "Example AI Ltd"
    assert fields["Contact-Name"] == "A. Analyst" and fields["Contact-Email"] == "a@example.org"
    assert fields["Analysis-Date"] == "2026-06-10" and fields["Bagging-Date"] == "2026-06-05"
    plain = dict(bag_info_fields(_summary()))
    assert not {"External-Identifier", "Source-Organization", "Contact-Name", "Contact-Email", "Analysis-Date"} & set(plain)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("analysis_date", "2026-13-01", "--analysis-date"),
        ("analysis_date", "10/06/2026", "--analysis-date"),
        ("analysis_date", "2026-6-1", "--analysis-date"),
        ("contact_email", "analyst", "--contact-email"),
        ("contact_name", "two\nlines", "--contact-name"),
        ("source_organization", " padded", "--source-organization"),
        ("external_identifier", "x" * 201, "--external-identifier"),
    ],
)
def test_case_metadata_that_cannot_be_recorded_is_refused(field: str, value: str, message: str) -> None:
    from forensics.bundle.case_metadata import CaseMetadata
    from forensics.errors import InvalidCaseMetadataError

    with pytest.raises(InvalidCaseMetadataError, match=message):
        CaseMetadata(**{field: value})
