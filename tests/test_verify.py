"""`forensics verify` on a bundle from the real pipeline: intact bundles pass, every kind of tampering is
caught and the file named, a wrong key is refused before any work, and a re-run reproduces every byte."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from forensics.bundle.bag import bag_info_text, manifest_text, sign_tagmanifest
from forensics.bundle.run import bag_info_fields, build_bundle
from forensics.bundle.verify import verify_bundle
from forensics.errors import BadInputError, BundleInvalidError, WrongKeyError
from tests.conftest import real_pipeline, run_cli

OTHER_KEY_HEX = "ffeeddccbbaa99887766554433221100" * 2


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return real_pipeline(tmp_path_factory.mktemp("verify"), seed=5, title="Verify test", case_id="VERIFY-1")


@pytest.fixture
def copy(made, tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(made["bundle"], target)
    return target


def _every_file(bundle: Path) -> list[str]:
    return sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())


def test_intact_bundle_verifies(made) -> None:
    result = verify_bundle(made["bundle"], logs=None, key_file=None, accounts=None)
    assert result["ok"]
    assert any(line.startswith("integrity: OK") for line in result["lines"])
    done = run_cli("verify", made["bundle"])
    assert done.returncode == 0, done.stderr
    assert "integrity: OK" in done.stdout


KINDS = [
    "bagit.txt", "bag-info.txt", "custody.jsonl", "manifest-sha256.txt", "tagmanifest-sha256.txt", "data/summary.json",
    "data/accounts.csv", "data/clusters.csv", "data/timeline.csv", "data/timeline.jsonl", "data/report.html",
    "data/report.md", "data/report.pdf", "data/VERIFY.md", "data/graph.graphml", "data/figures/daily-requests.svg",
    "data/figures/hour-of-day.svg", "data/figures/account-creation.svg",
]


def test_the_kinds_cover_the_bundle(made) -> None:
    names = set(_every_file(made["bundle"]))
    assert set(KINDS) <= names
    assert {n for n in names if not n.startswith("data/figures/cluster-")} == set(KINDS)


@pytest.mark.parametrize("rel", KINDS)
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_one_flipped_byte_in_any_file_is_caught_and_named(copy: Path, rel: str, where: str) -> None:
    path = copy / rel
    data = bytearray(path.read_bytes())
    offset = {"start": 0, "middle": len(data) // 2, "end": len(data) - 2}[where]
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(BundleInvalidError) as caught:
        verify_bundle(copy, logs=None, key_file=None, accounts=None)
    assert rel in str(caught.value)


def test_flipped_byte_in_a_cluster_drawing_is_named(copy: Path) -> None:
    rel = next(n for n in _every_file(copy) if n.startswith("data/figures/cluster-"))
    data = bytearray((copy / rel).read_bytes())
    data[len(data) // 3] ^= 0x20
    (copy / rel).write_bytes(bytes(data))
    with pytest.raises(BundleInvalidError, match=rel.replace(".", r"\.")):
        verify_bundle(copy, logs=None, key_file=None, accounts=None)


@pytest.mark.parametrize("rel", ["data/accounts.csv", "data/report.html", "bag-info.txt", "manifest-sha256.txt"])
def test_deleted_file_is_named(copy: Path, rel: str) -> None:
    (copy / rel).unlink()
    with pytest.raises(BundleInvalidError, match=f"missing: {rel}"):
        verify_bundle(copy, logs=None, key_file=None, accounts=None)


@pytest.mark.parametrize("rel", ["data/extra.csv", "data/figures/new.svg", "notes.txt", "data/sub/dir/x"])
def test_added_file_is_named(copy: Path, rel: str) -> None:
    (copy / rel).parent.mkdir(parents=True, exist_ok=True)
    (copy / rel).write_text("added")
    with pytest.raises(BundleInvalidError, match=f"extra: {rel}"):
        verify_bundle(copy, logs=None, key_file=None, accounts=None)


def test_renamed_file_is_named_both_ways(copy: Path) -> None:
    (copy / "data/report.md").rename(copy / "data/report.txt")
    with pytest.raises(BundleInvalidError) as caught:
        verify_bundle(copy, logs=None, key_file=None, accounts=None)
    assert "missing: data/report.md" in str(caught.value) and "extra: data/report.txt" in str(caught.value)


def test_every_problem_is_named_at_once_and_cli_exits_3(copy: Path) -> None:
    (copy / "data/timeline.csv").write_text("day,requests\n")
    (copy / "data/clusters.csv").unlink()
    (copy / "data/added.txt").write_text("x")
    done = run_cli("verify", copy)
    assert done.returncode == 3
    for needle in ("modified: data/timeline.csv", "missing: data/clusters.csv", "extra: data/added.txt"):
        assert needle in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_wrong_key_is_refused_before_any_work(made, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.key"
    wrong.write_text(OTHER_KEY_HEX + "\n")
    wrong.chmod(0o600)
    # The logs path does not exist: had any work started, a missing-input error would come instead.
    with pytest.raises(WrongKeyError, match="wrong key"):
        verify_bundle(made["bundle"], logs=[str(tmp_path / "no-such-logs")], key_file=wrong, accounts=None)
    done = run_cli("verify", made["bundle"], "--logs", tmp_path / "no-such-logs", "--key-file", wrong)
    assert done.returncode == 2
    assert "wrong key" in done.stderr and OTHER_KEY_HEX not in done.stderr + done.stdout
    assert list(tmp_path.iterdir()) == [wrong]


def test_logs_without_key_and_accounts_without_logs_are_usage_errors(made) -> None:
    with pytest.raises(BadInputError):
        verify_bundle(made["bundle"], logs=["x"], key_file=None, accounts=None)
    with pytest.raises(BadInputError):
        verify_bundle(made["bundle"], logs=None, key_file=None, accounts=Path("a.parquet"))


def test_missing_bundle_is_a_clean_error(tmp_path: Path) -> None:
    done = run_cli("verify", tmp_path / "nothing")
    assert done.returncode == 2 and "not found" in done.stderr


def _rewrite_manifests(bundle: Path) -> None:
    """What an attacker who knows BagIt does after editing a file: recompute every checksum."""
    import json

    data = bundle / "data"
    files = sorted(p for p in data.rglob("*") if p.is_file())
    digests = {p.relative_to(bundle).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    (bundle / "manifest-sha256.txt").write_text(manifest_text(digests))
    summary = json.loads((data / "summary.json").read_text())
    octets = sum(p.stat().st_size for p in files)
    (bundle / "bag-info.txt").write_text(bag_info_text(bag_info_fields(summary), octets, len(files)))
    # ... including the report record of the custody log, which holds the SHA-256 of those tag files
    records = [json.loads(line) for line in (bundle / "custody.jsonl").read_text().splitlines()]
    for entry in records[-1]["outputs"]:
        entry["sha256"] = hashlib.sha256((bundle / entry["path"]).read_bytes()).hexdigest()
    (bundle / "custody.jsonl").write_text(
        "".join(json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n" for r in records)
    )
    tag_names = ("bagit.txt", "bag-info.txt", "custody.jsonl", "manifest-sha256.txt")
    tags = {n: hashlib.sha256((bundle / n).read_bytes()).hexdigest() for n in tag_names}
    (bundle / "tagmanifest-sha256.txt").write_text(manifest_text(tags))


def test_rerun_reproduces_every_file_and_exposes_rewritten_manifests(made, copy: Path) -> None:
    logs = [str(made["incident"] / "logs")]
    accounts = made["incident"] / "accounts.parquet"
    result = verify_bundle(made["bundle"], logs=logs, key_file=made["key"], accounts=accounts)
    assert result["ok"], "\n".join(result["lines"])
    assert result["lines"][0].startswith("key: fingerprint")
    files = [name for name in _every_file(made["bundle"]) if name != "custody.jsonl"]
    assert [l for l in result["lines"] if l.startswith("re-run: identical")] == [
        f"re-run: identical {name}" for name in files
    ]
    # the custody log is the documented exception: wall-clock time, user and host are never reproduced
    assert "re-run: custody.jsonl not compared (the custody log records wall-clock time, user and host)" in result["lines"]
    # An edit hidden by rewritten manifests passes the integrity check but not the re-run.
    report = copy / "data/report.md"
    report.write_text(report.read_text().replace("Summary", "Summery", 1))
    # Rewriting the BagIt manifests alone is caught: the custody log's report record holds their SHA-256.
    tampered = copy.parent / "tampered"
    shutil.copytree(copy, tampered)
    custody_log = (tampered / "custody.jsonl").read_bytes()
    _rewrite_manifests(tampered)
    (tampered / "custody.jsonl").write_bytes(custody_log)
    (tampered / "tagmanifest-sha256.txt").write_text(manifest_text(
        {n: hashlib.sha256((tampered / n).read_bytes()).hexdigest()
         for n in ("bagit.txt", "bag-info.txt", "custody.jsonl", "manifest-sha256.txt")}
    ))
    with pytest.raises(BundleInvalidError, match="differs from the report record in custody.jsonl"):
        verify_bundle(tampered, logs=None, key_file=None, accounts=None)
    _rewrite_manifests(copy)
    assert verify_bundle(copy, logs=None, key_file=None, accounts=None)["ok"]
    result = verify_bundle(copy, logs=logs, key_file=made["key"], accounts=accounts)
    assert not result["ok"]
    differing = [l for l in result["lines"] if l.startswith("re-run: DIFFERS")]
    assert "re-run: DIFFERS   data/report.md" in differing
    assert all(name in ("data/report.md", "manifest-sha256.txt", "bag-info.txt", "tagmanifest-sha256.txt")
               for name in (l.split()[-1] for l in differing))


def test_rerun_needs_the_account_table_it_was_made_with(made) -> None:
    with pytest.raises(BadInputError, match="--accounts"):
        verify_bundle(made["bundle"], logs=[str(made["incident"] / "logs")], key_file=made["key"], accounts=None)


def _ssh_key(where: Path, name: str) -> tuple[Path, Path]:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen (OpenSSH) is not installed; signatures cannot be made or checked")
    import subprocess

    key = where / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@example", "-f", str(key)],
                   check=True, capture_output=True)
    allowed = where / f"{name}.allowed"
    public = (where / f"{name}.pub").read_text().split()
    allowed.write_text(f"{name}@example {public[0]} {public[1]}\n")
    return key, allowed


def test_signed_bundle_verifies_and_tampering_with_signature_or_manifests_is_caught(made, tmp_path: Path) -> None:
    key, allowed = _ssh_key(tmp_path, "analyst")
    _, other_allowed = _ssh_key(tmp_path, "stranger")
    case = made["root"] / "case"
    signed = tmp_path / "signed"
    result = build_bundle(case, signed, title="Verify test", case_id="VERIFY-1", force=False, sign_key=key)
    assert result["signed"]
    # Signing adds one file and changes nothing else; Ed25519 signatures are deterministic.
    again = tmp_path / "again"
    shutil.copytree(signed, again)
    (again / "tagmanifest-sha256.txt.sig").unlink()
    sign_tagmanifest(again, key)
    assert (signed / "tagmanifest-sha256.txt.sig").read_bytes() == (again / "tagmanifest-sha256.txt.sig").read_bytes()
    # (apart from the custody log, which gained this run's line, and the tag manifest's entry for it)
    for name in _every_file(made["bundle"]):
        if name not in ("custody.jsonl", "tagmanifest-sha256.txt"):
            assert (signed / name).read_bytes() == (made["bundle"] / name).read_bytes()
    def without_custody(path: Path) -> list[str]:
        return [line for line in path.read_text().splitlines() if not line.endswith("  custody.jsonl")]

    assert without_custody(signed / "tagmanifest-sha256.txt") == without_custody(made["bundle"] / "tagmanifest-sha256.txt")
    lines = verify_bundle(signed, logs=None, key_file=None, accounts=None, allowed_signers=allowed)["lines"]
    assert "signed by analyst@example" in lines[-1]
    done = run_cli("verify", signed, "--allowed-signers", allowed)
    assert done.returncode == 0 and "signature: good" in done.stdout
    with pytest.raises(BundleInvalidError, match="tagmanifest-sha256.txt.sig"):
        verify_bundle(signed, logs=None, key_file=None, accounts=None, allowed_signers=other_allowed)
    with pytest.raises(BundleInvalidError, match="missing: tagmanifest-sha256.txt.sig"):
        verify_bundle(made["bundle"], logs=None, key_file=None, accounts=None, allowed_signers=allowed)
    # The attack BagIt alone cannot see: edit a file and rewrite every manifest. The signature catches it.
    report = signed / "data/report.md"
    report.write_text(report.read_text().replace("Summary", "Summery", 1))
    _rewrite_manifests(signed)
    assert verify_bundle(signed, logs=None, key_file=None, accounts=None)["ok"]
    with pytest.raises(BundleInvalidError, match="tagmanifest-sha256.txt"):
        verify_bundle(signed, logs=None, key_file=None, accounts=None, allowed_signers=allowed)


def test_unusable_signing_key_is_a_clean_error(made, tmp_path: Path) -> None:
    from forensics.errors import SignatureError

    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen (OpenSSH) is not installed")
    bogus = tmp_path / "bogus.key"
    bogus.write_text("not a key\n")
    bogus.chmod(0o600)
    with pytest.raises(SignatureError, match="could not sign"):
        build_bundle(made["root"] / "case", tmp_path / "b", title="t", case_id="X-1", force=False, sign_key=bogus)
    assert not (tmp_path / "b").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bogus.key"]


def test_tampered_fingerprint_is_reported_as_tampering_not_as_a_wrong_key(copy: Path, made) -> None:
    summary = copy / "data/summary.json"
    summary.write_text(summary.read_text().replace('"key_fingerprint": "', '"key_fingerprint": "0', 1))
    with pytest.raises(BundleInvalidError, match="data/summary.json"):
        verify_bundle(copy, logs=[str(made["incident"] / "logs")], key_file=made["key"], accounts=None)


OTHER_ENVIRONMENT = {"python": "3.99", "polars": "0.0.1"}


@pytest.fixture(scope="module")
def other_environment(made, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle as `report` writes it under another Python and polars (the real stage, told to record those
    versions), with case metadata that the re-run must reproduce."""
    from forensics.bundle.case_metadata import CaseMetadata
    from forensics.environment import versions

    bundle = tmp_path_factory.mktemp("other-env") / "bundle"
    build_bundle(
        made["case"], bundle, title="Verify test", case_id="VERIFY-1", force=False,
        metadata=CaseMetadata(source_organization="Example AI Ltd", contact_name="A. Analyst",
                              contact_email="analyst@example.com", external_identifier="MATTER-7",
                              analysis_date="2026-06-10"),
        recorded_versions={**versions(), **OTHER_ENVIRONMENT},
    )
    return bundle


def test_rerun_under_another_environment_names_it_and_compares_everything_else(made, other_environment) -> None:
    import json

    summary = json.loads((other_environment / "data/summary.json").read_text())
    assert summary["versions"]["python"] == "3.99"
    assert summary["case"]["external_identifier"] == "MATTER-7"
    logs = [str(made["incident"] / "logs")]
    result = verify_bundle(other_environment, logs=logs, key_file=made["key"], accounts=made["incident"] / "accounts.parquet")
    assert result["ok"], "\n".join(result["lines"])
    assert result["environment_differences"] == ["polars", "python"]
    environment = [l for l in result["lines"] if l.startswith("environment:")]
    assert len(environment) == 1 and "python" in environment[0] and "polars" in environment[0]
    assert "(bundle: 3.99)" in environment[0] and "numpy" not in environment[0]
    assert "re-run: identical bag-info.txt" in result["lines"]  # the case metadata was replayed
    assert "re-run: identical data/summary.json" in result["lines"]
    info = (other_environment / "bag-info.txt").read_text()
    for line in ("Source-Organization: Example AI Ltd", "Contact-Name: A. Analyst",
                 "Contact-Email: analyst@example.com", "External-Identifier: MATTER-7",
                 "Internal-Sender-Identifier: VERIFY-1", "Analysis-Date: 2026-06-10"):
        assert line + "\n" in info
    done = run_cli("verify", other_environment, "--logs", logs[0], "--key-file", made["key"],
                   "--accounts", made["incident"] / "accounts.parquet", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["environment_differences"] == ["polars", "python"]


def test_rerun_under_another_environment_still_fails_on_any_other_difference(made, other_environment, tmp_path) -> None:
    import json

    changed = tmp_path / "bundle"
    shutil.copytree(other_environment, changed)
    path = changed / "data/summary.json"
    summary = json.loads(path.read_text())
    summary["rows_read"] += 1
    path.write_text(json.dumps(summary, sort_keys=True, indent=2) + "\n")
    _rewrite_manifests(changed)
    assert verify_bundle(changed)["ok"]  # the manifests were rewritten: integrity alone cannot see it
    result = verify_bundle(changed, logs=[str(made["incident"] / "logs")], key_file=made["key"],
                           accounts=made["incident"] / "accounts.parquet")
    assert not result["ok"]
    assert any(l.startswith("environment:") for l in result["lines"])
    assert "re-run: DIFFERS   data/summary.json" in result["lines"]
