"""The committed example bundle must be what the pipeline makes from the committed sample incident.

A change to any output therefore shows up as a failing test until `make sample-bundle` is run and the new
bundle is reviewed and committed.

The bundle records its environment (`summary.json` → `versions`: the Python minor version and each dependency's
version), as an auditor needs. Where this machine's environment matches the recorded one, the fresh bundle must
equal the committed one byte for byte. Where it does not (another supported Python), it must differ only in the
fields that record the environment: rebuilt with the recorded values in those fields (as `verify --logs` does),
every byte must match; and the fresh files, parsed, must equal the committed ones apart from those values.

`custody.jsonl`, where present, is left out everywhere, with its line in the tag manifest: it is the record of who
ran what and when (wall-clock time, user, host), the one file that differs on every run by design.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from forensics.bundle.run import build_bundle

from tests.conftest import REPO, tree_bytes

COMMITTED = REPO / "reports" / "sample"
CUSTODY = "custody.jsonl"
TOOL = "forensics"  # the tool's own version is not environment: a different one is a real difference
RENDERED = ("data/report.md", "data/report.html")  # render the versions as text


@pytest.fixture
def fresh(sample_run: dict[str, Path]) -> dict[str, Path]:
    """The sample incident through the real CLI, as `make sample-bundle` runs it (conftest's `sample_run`)."""
    return sample_run


def _comparable(root: Path) -> dict[str, bytes]:
    files = tree_bytes(root)
    files.pop(CUSTODY, None)
    if "tagmanifest-sha256.txt" in files:
        lines = files["tagmanifest-sha256.txt"].decode().splitlines(keepends=True)
        files["tagmanifest-sha256.txt"] = "".join(x for x in lines if not x.endswith(f"  {CUSTODY}\n")).encode()
    return files


def _versions(files: dict[str, bytes]) -> dict[str, str]:
    return json.loads(files["data/summary.json"])["versions"]


def _differing(recorded: dict[str, str], running: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Environment field -> (recorded, running), for the fields whose values differ."""
    return {k: (recorded.get(k), running.get(k)) for k in sorted(set(recorded) | set(running))
            if k != TOOL and recorded.get(k) != running.get(k)}


def _unmask(text: str, differing: dict[str, tuple[str, str]]) -> str:
    """Put back the recorded value of each differing field where the text renders it beside the field's name
    (a table cell after the name's cell, or `name: value`). Each must be found, and nothing else is touched."""
    for name, (recorded, running) in differing.items():
        pattern = re.compile(rf"(\b{re.escape(name)}\b(?:\s|\||:|<[^<>]*>)*){re.escape(running)}(?![\w.])")
        text, count = pattern.subn(lambda m: m.group(1) + recorded, text)
        assert count >= 1, f"{name} {running} not found where the report lists versions"
    return text


def _differs_only_in_environment(fresh: dict[str, bytes], committed: dict[str, bytes],
                                 differing: dict[str, tuple[str, str]]) -> None:
    """Every payload file equal, except that summary.json's versions and the report's rendering of them hold
    this environment's values of exactly the differing fields. Tag files and the PDF are derived bytes, checked
    through the rebuild with the recorded environment (test below)."""
    assert sorted(fresh) == sorted(committed)
    summary_fresh, summary_committed = json.loads(fresh["data/summary.json"]), json.loads(committed["data/summary.json"])
    assert _differing(summary_committed["versions"], summary_fresh["versions"]) == differing
    for k, (recorded, _) in differing.items():
        summary_fresh["versions"][k] = recorded
    assert summary_fresh == summary_committed
    for name in RENDERED:
        assert _unmask(fresh[name].decode("utf-8"), differing) == committed[name].decode("utf-8"), name
    others = [n for n in committed if n.startswith("data/") and n not in (*RENDERED, "data/summary.json", "data/report.pdf")]
    assert others
    assert [n for n in others if fresh[n] != committed[n]] == []


def test_committed_sample_bundle_is_reproduced(fresh) -> None:
    """Byte for byte where the environment matches the recorded one; otherwise only the environment fields differ."""
    committed, regenerated = _comparable(COMMITTED), _comparable(fresh["bundle"])
    assert sorted(regenerated) == sorted(committed)
    assert _versions(regenerated)[TOOL] == _versions(committed)[TOOL]
    differing = _differing(_versions(committed), _versions(regenerated))
    if not differing:
        changed = [name for name in committed if committed[name] != regenerated[name]]
        assert not changed, f"run `make sample-bundle` and review: {changed}"
    else:
        _differs_only_in_environment(regenerated, committed, differing)


def test_rebuilt_with_the_recorded_environment_every_byte_matches(fresh, tmp_path) -> None:
    """The fresh case reported again with the committed bundle's environment record (as `verify --logs` does on
    another environment): every file, the PDF and the tag files included, must be the committed bytes. So
    whatever the environment, nothing but its record differs."""
    committed = _comparable(COMMITTED)
    recorded = _versions(committed)
    build_bundle(fresh["case"], tmp_path / "bundle", case_id="sample-incident", force=False, recorded_versions=recorded)
    rebuilt = _comparable(tmp_path / "bundle")
    assert sorted(rebuilt) == sorted(committed)
    assert [name for name in committed if committed[name] != rebuilt[name]] == []


def test_a_different_environment_is_told_apart_from_a_different_result(fresh, tmp_path) -> None:
    """The comparison used on other Pythons, exercised here on any machine: a bundle recording other versions
    passes it; one that also differs in a computed figure does not."""
    committed = _comparable(COMMITTED)
    other = {**_versions(committed), "python": "3.99", "numpy": "0.0.1"}
    build_bundle(fresh["case"], tmp_path / "bundle", case_id="sample-incident", force=False, recorded_versions=other)
    rebuilt = _comparable(tmp_path / "bundle")
    differing = _differing(_versions(committed), other)
    assert set(differing) == {"python", "numpy"}
    _differs_only_in_environment(rebuilt, committed, differing)
    summary = json.loads(rebuilt["data/summary.json"])
    summary["requests"] += 1
    tampered = {**rebuilt, "data/summary.json": json.dumps(summary).encode()}
    with pytest.raises(AssertionError):
        _differs_only_in_environment(tampered, committed, differing)
    report = rebuilt["data/report.md"].decode()
    figure = f"{summary['requests'] - 1:,}"
    assert figure in report
    tampered = {**rebuilt, "data/report.md": report.replace(figure, f"{summary['requests']:,}", 1).encode()}
    with pytest.raises(AssertionError):
        _differs_only_in_environment(tampered, committed, differing)
