from __future__ import annotations

import pytest

from forensics.cli import main
from tests.conftest import run_cli

COMMANDS = ["keygen", "ingest", "synth", "cluster", "report", "verify"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example: forensics " + command in out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("forensics ")


@pytest.mark.parametrize(
    "args, message",
    [
        (["ingest", "/nonexistent/logs", "--case", "/tmp/x-case"], "no such file or directory"),
        (["ingest", "--case", "/tmp/x"], "Missing argument"),
        (["frobnicate"], "No such command"),
        (["ingest", "/tmp", "--case", "/tmp/x", "--epoch-unit", "h"], "--epoch-unit 'h'"),
        (["ingest", "/tmp", "--case", "/tmp/x", "--since", "last tuesday"], "--since 'last tuesday'"),
        (["ingest", "/tmp", "--case", "/tmp/x", "--map", "prompt"], "expected CANONICAL=SOURCE"),
    ],
)
def test_usage_errors_exit_2_without_traceback(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_debug_shows_traceback_for_errors(tmp_path):
    plain = run_cli("ingest", tmp_path / "absent", "--case", tmp_path / "case")
    debug = run_cli("ingest", tmp_path / "absent", "--case", tmp_path / "case", "--debug")
    assert plain.returncode == debug.returncode == 2
    assert "Traceback" not in plain.stderr and plain.stderr.count("\n") == 1
    assert "Traceback" in debug.stderr
