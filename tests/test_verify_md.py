"""Every shell step of VERIFY.md, run with bash in a freshly built sample bag under en_US.UTF-8 and under C.

A reader follows VERIFY.md in whatever locale their machine has; a step that only works in one locale (`sort`
collates `data/VERIFY.md` after `data/accounts.csv` under en_US.UTF-8 and before it under C) tells an honest bag
from a tampered one wrongly. So each step must pass on the intact bag and catch exactly the tampering it claims
to, in both locales.

One substitution: step 1 installs `bagit` from the package index into its own venv, which needs the network.
The test runs offline, so it drops that install line and calls the `bagit.py` already installed in this project's
venv (the same pinned package) in its place. Every other line runs as written, placeholders filled in.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from forensics.bundle import render
from forensics.bundle.bag import sign_tagmanifest
from forensics.keys import CaseKey

from tests.conftest import REPO

LOCALES = ("en_US.UTF-8", "C")
VENV_BIN = Path(sys.executable).parent
PRINCIPAL = "analyst@example.org"
PLACEHOLDER = re.compile(r"<[a-z][a-z-]*>")


def _has_locale(name: str) -> bool:
    listed = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.split()
    wanted = name.lower().replace("-", "")
    return any(entry.lower().replace("-", "") == wanted for entry in listed)


@pytest.fixture(scope="module")
def bags(sample_run: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The sample incident's bundle, built afresh (conftest's `sample_run`), and copies of it: tampered three ways,
    and signed."""
    root = tmp_path_factory.mktemp("verify-md")
    key, bundle = sample_run["key"], sample_run["bundle"]
    bags = {"intact": bundle}
    for name in ("payload", "added", "tagfile", "signed", "signed-tagmanifest"):
        bags[name] = root / name
        shutil.copytree(bundle, bags[name])
    accounts = bags["payload"] / "data" / "accounts.csv"
    accounts.write_bytes(accounts.read_bytes().replace(b"true", b"fals", 1))  # same size: only hashes catch it
    (bags["added"] / "data" / "notes.txt").write_text("added after bagging\n")
    with open(bags["tagfile"] / "bag-info.txt", "a", encoding="utf-8") as info:
        info.write("Contact-Name: someone else\n")
    signing_key = root / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", PRINCIPAL, "-f", str(signing_key)],
                   check=True, capture_output=True)
    for name in ("signed", "signed-tagmanifest"):
        sign_tagmanifest(bags[name], signing_key)
    tagmanifest = bags["signed-tagmanifest"] / "tagmanifest-sha256.txt"
    text = tagmanifest.read_text()
    tagmanifest.write_text(("1" if text[0] != "1" else "2") + text[1:])  # a rewritten tag manifest
    allowed = root / "allowed_signers"
    key_type, key_text = (signing_key.with_suffix(".pub")).read_text().split()[:2]
    allowed.write_text(f"{PRINCIPAL} {key_type} {key_text}\n")

    key_hex = key.read_text().strip()
    ids = pl.read_parquet(REPO / "sample_logs" / "accounts.parquet")["account_id"].sort().to_list()
    rows = csv.DictReader(io.StringIO((bundle / "data" / "accounts.csv").read_text(encoding="utf-8")))
    flagged = {row["account_pseudonym"] for row in rows if row["flagged"] == "true"}
    case_key = CaseKey(bytes.fromhex(key_hex))  # only to choose an account ID that is in a flagged group
    account_id = next(a for a in ids if case_key.pseudonym("account", a) in flagged)
    values = {
        "<key>": key_hex,
        "<key-file>": str(key),
        "<logs>": str(REPO / "sample_logs" / "logs"),
        "<accounts-file>": str(REPO / "sample_logs" / "accounts.parquet"),
        "<account-id>": account_id,
        "<pseudonym>": case_key.pseudonym("account", account_id),
        "<allowed-signers>": str(allowed),
        "<principal>": PRINCIPAL,
    }
    return {"bags": bags, "values": values, "fingerprint": case_key.fingerprint}


def _steps(verify_md: str) -> list[tuple[str, str]]:
    """(section number, code) for every ```sh block, in order."""
    steps, section = [], ""
    for match in re.finditer(r"^## (\d+)\.|^```sh\n(.*?)^```", verify_md, flags=re.M | re.S):
        if match.group(1):
            section = match.group(1)
        else:
            steps.append((section, match.group(2)))
    return steps


def _script(code: str, bag: Path, values: dict[str, str]) -> str:
    lines = []
    for line in code.splitlines():
        if line == render.BAGIT_INSTALL:  # the one network step: see the module docstring
            lines.append("# (bagit: the copy already installed in this project's venv; see the module docstring)")
            continue
        line = line.replace(f"{render.BAGIT_VENV}/bin/", f"{VENV_BIN}/")
        for placeholder, value in {"<bundle>": str(bag), **values}.items():
            line = line.replace(placeholder, value)
        assert not PLACEHOLDER.search(line), f"VERIFY.md has a placeholder this test does not fill: {line}"
        lines.append(line)
    return "set -e -o pipefail\n" + "\n".join(lines) + "\n"


def _bash(script: str, bag: Path, locale: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LC_ALL": locale, "LANG": locale, "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin"}
    done = subprocess.run(["bash", "-c", script], cwd=bag, env=env, capture_output=True, text=True, timeout=600)
    assert "setlocale" not in done.stderr and "cannot change locale" not in done.stderr, done.stderr
    return done


def _kind(section: str, code: str) -> str:
    """What a step checks, from its section and commands; an unknown step fails the test until it is added here."""
    if section == "1" and "bagit.py --validate" in code:
        return "bagit"
    if section == "2" and "sha256sum -c --strict" in code:
        return "sha256sum"
    if section == "2" and "shasum -a 256 -c --strict" in code:
        return "shasum"
    if section == "2" and "find data -type f" in code:
        return "nothing-added"
    if section == "3" and code.strip() == "forensics verify <bundle>":
        return "forensics-verify"
    if section == "4" and "account:<account-id>" in code:
        return "reidentify"
    if section == "4" and "'fingerprint'" in code:
        return "fingerprint"
    if section == "5" and "--logs <logs>" in code:
        return "rerun"
    if section == "6" and "ssh-keygen -Y verify" in code:
        return "signature"
    raise AssertionError(f"step of section {section} unknown to this test:\n{code}")


# For each integrity step: which bags it must pass (exit 0) and which it must reject. A checksum over the listed
# files cannot see an added file, and the added-file check cannot see a changed one: VERIFY.md says so.
PASSES = {
    "bagit": {"intact"},
    "sha256sum": {"intact", "added"},
    "shasum": {"intact", "added"},
    "nothing-added": {"intact", "payload", "tagfile"},
    "forensics-verify": {"intact"},
}
UNSIGNED = ("intact", "payload", "added", "tagfile")


@pytest.fixture(scope="module", params=LOCALES)
def locale(request) -> str:
    if not _has_locale(request.param) and request.param != "C":
        pytest.fail(f"locale {request.param} is not installed: run `make locales` (as root) to generate it")
    return request.param


def test_the_locale_really_changes_sort_order(locale) -> None:
    """Proof that the runs below happen in the named locale: en_US collates case-insensitively, C by byte."""
    done = _bash("printf 'B\\na\\n' | sort", REPO, locale)
    assert done.stdout == ("a\nB\n" if locale != "C" else "B\na\n")


def test_every_verify_md_step_passes_on_the_intact_bag_and_catches_tampering(bags, locale) -> None:
    values, fingerprint = bags["values"], bags["fingerprint"]
    bags = bags["bags"]
    text = (bags["intact"] / "data" / "VERIFY.md").read_text(encoding="utf-8")
    steps = [(_kind(section, code), code) for section, code in _steps(text)]
    kinds = [kind for kind, _ in steps]
    assert sorted(kinds) == sorted([*PASSES, "reidentify", "fingerprint", "rerun", "signature"]), kinds
    for kind, code in steps:
        if kind in PASSES:
            for name in UNSIGNED:
                done = _bash(_script(code, bags[name], values), bags[name], locale)
                assert (done.returncode == 0) == (name in PASSES[kind]), (kind, name, done.stdout[-1500:], done.stderr[-1500:])
                if kind == "bagit" and name == "intact":
                    assert "is valid" in done.stderr
        elif kind == "reidentify":
            done = _bash(_script(code, bags["intact"], values), bags["intact"], locale)
            assert done.returncode == 0, done.stderr
            first, found = done.stdout.splitlines()[:2]
            assert first == values["<pseudonym>"] and found.startswith(values["<pseudonym>"] + ",")
        elif kind == "fingerprint":
            done = _bash(_script(code, bags["intact"], values), bags["intact"], locale)
            assert done.returncode == 0 and done.stdout.strip() == fingerprint, done.stderr
            assert f"`{fingerprint}`" in text
        elif kind == "rerun":  # the whole analysis again, compared file by file
            for name, ok in (("intact", True), ("payload", False)):
                done = _bash(_script(code, bags[name], values), bags[name], locale)
                assert (done.returncode == 0) == ok, (name, done.stdout[-1500:], done.stderr[-1500:])
        elif kind == "signature":
            for name, ok in (("signed", True), ("signed-tagmanifest", False), ("intact", False)):
                done = _bash(_script(code, bags[name], values), bags[name], locale)
                assert (done.returncode == 0) == ok, (name, done.stdout[-1500:], done.stderr[-1500:])
            good = _bash(_script(code, bags["signed"], values), bags["signed"], locale)
            assert f'Good "forensics-evidence" signature for {PRINCIPAL}' in good.stdout + good.stderr


def test_the_reports_integrity_commands_work_in_the_locale(bags, locale) -> None:
    """The report repeats VERIFY.md's integrity steps in one block; it must pass on the intact bag and fail on
    each tampered one."""
    values, bags = bags["values"], bags["bags"]
    code = render.integrity_commands()
    for name in UNSIGNED:
        done = _bash(_script(code, bags[name], values), bags[name], locale)
        assert (done.returncode == 0) == (name == "intact"), (name, done.stdout[-1500:], done.stderr[-1500:])


def test_the_old_unsorted_completeness_check_would_have_failed(bags, locale) -> None:
    """The command VERIFY.md used to give (sort in the reader's locale against the manifest's byte order) fails on
    an intact bag under en_US.UTF-8: the failure this test exists to catch."""
    old = "find data -type f | sort | diff - <(cut -c67- manifest-sha256.txt)"
    done = _bash(old, bags["bags"]["intact"], locale)
    assert (done.returncode == 0) == (locale == "C")


def test_the_reports_step_by_step_rerun_reproduces_the_bag(bags, tmp_path) -> None:
    """The re-run commands the report prints (one command, then step by step with the comparison), run as written
    in a fresh directory under en_US.UTF-8, reproduce the bag; the comparison fails on a tampered bag."""
    import json

    intact = bags["bags"]["intact"]
    summary = json.loads((intact / "data" / "summary.json").read_text(encoding="utf-8"))
    code = render.rerun_commands(summary)
    assert code in (intact / "data" / "report.md").read_text(encoding="utf-8")  # the commands a reader is shown
    values = {**bags["values"], "<case>": str(tmp_path / "case"), "<new-bundle>": str(tmp_path / "new-bundle")}
    done = _bash(_script(code, intact, values), tmp_path, "en_US.UTF-8")
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    comparison = "\n".join(line for line in code.splitlines() if line.startswith("diff "))
    assert comparison.count("diff ") == 2
    tampered = _bash(_script(comparison, bags["bags"]["payload"], values), tmp_path, "en_US.UTF-8")
    assert tampered.returncode != 0 and "accounts.csv" in tampered.stdout
