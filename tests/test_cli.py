from __future__ import annotations

import os
import subprocess
import sys

import pytest

from forensics.cli import main
from tests.conftest import run_cli

COMMANDS = ["keygen", "ingest", "synth", "cluster", "report", "verify"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example: forensics " + command in out


def test_cluster_options_are_the_cluster_parameters_with_their_defaults():
    """`cluster` has one option per ClusterParams field, with the flag the report's re-run commands use and the
    field's own default, not a copy that could drift from it."""
    import dataclasses

    import typer.main

    from forensics.cli import app
    from forensics.params import CLUSTER_FLAGS, ClusterParams

    command = typer.main.get_command(app).commands["cluster"]  # type: ignore[attr-defined]
    options = {p.name: p for p in command.params if p.name not in ("case", "as_json", "quiet")}
    defaults = dataclasses.asdict(ClusterParams())
    assert set(options) == set(defaults) == set(CLUSTER_FLAGS)
    for name, option in options.items():
        assert option.opts == [CLUSTER_FLAGS[name]], name
        assert option.default == defaults[name], name


def test_help_does_not_load_the_analysis_libraries():
    """`forensics --help` and option parsing stay fast: polars and the graph code load only when a stage runs."""
    code = "import sys, forensics.cli; print(sorted(m for m in ('polars', 'numpy', 'networkx') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("environment, expected", [({}, "False"), ({"NUMPY_MADVISE_HUGEPAGE": "1"}, "True")])
def test_numpy_huge_page_advice_is_off_unless_set(environment, expected):
    """The stages run with numpy's huge-page advice off (see forensics/__init__.py); a value already set wins."""
    code = "import forensics, numpy._core.multiarray as m; print(m._get_madvise_hugepage())"
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"} | environment
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == expected


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
