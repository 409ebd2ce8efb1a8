from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from forensics import cli
from forensics.cli import main
from tests.conftest import run_cli, tree_bytes

COMMANDS = ["keygen", "ingest", "synth", "cluster", "report", "verify", "reveal"]


def _help(command: str, capsys) -> str:
    assert main([command, "--help"]) == 0
    return capsys.readouterr().out


def _examples(help_text: str) -> list[str]:
    """Each example command of a help text, its shell continuations joined as bash joins them."""
    lines = help_text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() in ("Example:", "Examples:"))
    commands: list[str] = []
    pending = ""
    for line in lines[start + 1:]:
        if not line.strip():
            break
        text = pending + line.strip()
        if text.endswith("\\"):
            pending = text[:-1]
            continue
        pending = ""
        commands.append(text)
    assert not pending, "an example ends with a continuation backslash and no next line"
    return commands


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example_debug_json_and_real_metavariables(command, capsys):
    out = _help(command, capsys)
    assert any(example.startswith("forensics " + command) for example in _examples(out))
    for option in ("--debug", "--json", "--quiet"):
        assert option in out, option
    assert not re.search(r"<[a-z][a-z_\[\]]*>|\{[a-z]+\}", out), out  # no <list[str]>, <path>, {logs}
    assert "[OPTIONS]" in out


@pytest.mark.parametrize(
    "command, metavariables",
    [
        ("ingest", ["LOGS...", "--case DIR", "--key-file FILE", "--map CANONICAL=SOURCE", "--since DATE"]),
        ("cluster", ["CASE", "--coaction-window SECONDS", "--min-cluster-size N", "--min-similarity X"]),
        ("report", ["CASE", "--out DIR", "--case-id ID", "--analysis-date YYYY-MM-DD", "--contact-email EMAIL"]),
        ("verify", ["BUNDLE", "--logs PATH", "--allowed-signers FILE"]),
        ("reveal", ["CASE LOGS...", "--key-file FILE", "--out FILE", "--cluster ID"]),
        ("keygen", ["--out FILE"]),
        ("synth", ["--out DIR", "--family NAME", "--seed N"]),
    ],
)
def test_help_shows_named_metavariables(command, metavariables, capsys):
    out = _help(command, capsys)
    for metavariable in metavariables:
        assert metavariable in out, metavariable


@pytest.mark.parametrize("command", COMMANDS)
def test_every_help_example_parses_as_shell_and_as_the_command(command, capsys):
    """Each example, pasted into a shell, gives the arguments the CLI's own parser accepts (no stray `\\ `)."""
    import shlex

    from forensics.cli import command as cli_command

    examples = _examples(_help(command, capsys))
    assert examples
    group = cli_command()
    for example in examples:
        assert "\\" not in example, f"broken continuation in: {example}"
        words = shlex.split(example)
        assert words[:2] == ["forensics", command]
        sub = group.commands[command]
        context = sub.make_context(command, words[2:])  # parses and validates, does not run the command
        assert context.params


def test_a_broken_continuation_is_caught_by_the_example_check():
    """The check above would fail on the old `ingest` help, where Click rewrapped `\\` into the middle of a line."""
    wrapped = "Example:\n  forensics ingest logs/ --since 2026-04-22 \\ --key-file case.key --case c\n"
    assert "\\" in _examples(wrapped)[0]


def test_cluster_options_are_the_cluster_parameters_with_their_defaults():
    """`cluster` has one option per ClusterParams field, with the flag the report's re-run commands use and the
    field's own default, not a copy that could drift from it; besides them only the engine's options, which change
    no output and so are no parameter of the analysis."""
    import dataclasses

    import typer.main

    from forensics.cli import app
    from forensics.params import CLUSTER_FLAGS, ClusterParams

    command = typer.main.get_command(app).commands["cluster"]  # type: ignore[attr-defined]
    engine = ("engine", "spark_master", "spark_remote", "spark_conf")
    options = {p.name: p for p in command.params if p.name not in ("case", "as_json", "quiet", "debug", *engine)}
    assert {p.name for p in command.params} >= set(engine)
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


@pytest.mark.parametrize("environment, expected", [({}, "None False"), ({"NUMPY_MADVISE_HUGEPAGE": "1"}, "1 True")])
def test_numpy_huge_page_advice_is_off_in_commands_unless_set(environment, expected):
    """Commands run with numpy's huge-page advice off (set by cli.main); a value already set wins. Importing the
    package changes no environment variable."""
    code = (
        "import os, forensics, forensics.cli; before = os.environ.get('NUMPY_MADVISE_HUGEPAGE'); "
        "forensics.cli.main(['--version']); import numpy._core.multiarray as m; print(before, m._get_madvise_hugepage())"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"} | environment
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.splitlines()[-1] == expected


# variable: (what ingest sets it to, a value a user might have set instead)
_INGEST_ALLOCATOR_SETTINGS = {
    "_RJEM_MALLOC_CONF": ("dirty_decay_ms:-1,muzzy_decay_ms:-1", "narenas:1"),
    "MIMALLOC_PURGE_DELAY": ("1000", "100"),
}


@pytest.mark.parametrize("variable", sorted(_INGEST_ALLOCATOR_SETTINGS))
@pytest.mark.parametrize("args, preset", [(["ingest", "--help"], False), (["cluster", "--help"], False),
                                          (["--debug", "ingest", "--help"], True)])
def test_only_ingest_keeps_the_memory_its_allocators_free(variable, args, preset):
    """cli.main sets polars' and pyarrow's allocators to keep freed pages for ingest alone; a value already set
    wins."""
    ingest_value, user_value = _INGEST_ALLOCATOR_SETTINGS[variable]
    expected = user_value if preset else ingest_value if "ingest" in args else "None"
    code = f"import os, forensics.cli as c; c.main({args!r}); print(os.environ.get({variable!r}))"
    env = {k: v for k, v in os.environ.items() if k != variable} | ({variable: user_value} if preset else {})
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.splitlines()[-1] == expected


_RSS = "def rss(): return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1]) // 1024\n"
# allocator: (the variable it reads, a value that returns freed pages at once, code that prints how many MB a freed
# 400 MB column leaves in the resident set)
_ALLOCATORS = {
    "polars' jemalloc": ("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0", (
        "import polars as pl, time\n" + _RSS +
        "base = rss(); s = pl.int_range(0, 50_000_000, eager=True); s = None; time.sleep(0.2); print(rss() - base)"
    )),
    "pyarrow's mimalloc": ("MIMALLOC_PURGE_DELAY", "0", (
        "import numpy as np, pyarrow as pa, pyarrow.compute as pc, time\n"
        "assert pa.default_memory_pool().backend_name == 'mimalloc', pa.default_memory_pool().backend_name\n" + _RSS +
        "x = pa.array(np.arange(50_000_000)); base = rss(); y = pc.add(x, 1); y = None; time.sleep(0.3); print(rss() - base)"
    )),
}


@pytest.mark.parametrize("allocator", sorted(_ALLOCATORS))
def test_allocators_read_the_settings_ingest_gives_them(allocator, monkeypatch):
    """Each allocator reads its variable: with a value that returns pages at once a freed 400 MB column leaves the
    resident set, with ingest's setting it stays. A library that renamed the variable or changed allocator
    fails here."""
    variable, returned, code = _ALLOCATORS[allocator]
    monkeypatch.setattr(cli, "keep_freed_heap", lambda: None)  # mallopt would change this test process's heap
    for name in ("NUMPY_MADVISE_HUGEPAGE", *(v for v, _, _ in _ALLOCATORS.values())):
        monkeypatch.delenv(name, raising=False)
    cli.process_defaults("ingest")
    ingest_setting = os.environ.pop(variable)
    kept = {}
    for name, value in (("returned", returned), ("ingest", ingest_setting)):
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env=os.environ | {variable: value})
        assert "jemalloc" not in run.stderr, run.stderr
        kept[name] = int(run.stdout.split()[-1])
    assert kept["returned"] < 100 and kept["ingest"] > 300, kept


def test_glibc_malloc_serves_ingests_blocks_from_a_heap_it_keeps():
    """After cli.main starts ingest, twenty 16 MiB mallocs all come from the heap, with no mapping of their own
    (mallinfo2's hblkhd), and stay there once freed (keepcost, the heap's free top); for cluster they are mappings
    of their own."""
    code = (
        "import ctypes, forensics.cli as c; c.main([%r, '--help'])\n"
        "class Info(ctypes.Structure): _fields_ = [(n, ctypes.c_size_t) for n in ("
        "'arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost'.split())]\n"
        "libc = ctypes.CDLL(None); libc.mallinfo2.restype = Info; libc.malloc.restype = ctypes.c_void_p\n"
        "libc.free.argtypes = [ctypes.c_void_p]\n"
        "before = libc.mallinfo2().hblkhd; blocks = [libc.malloc(16 << 20) for _ in range(20)]\n"
        "mapped = libc.mallinfo2().hblkhd - before\n"
        "for block in reversed(blocks): libc.free(block)\n"
        "print(mapped > 0, libc.mallinfo2().keepcost >= 320 << 20)"
    )
    env = {k: v for k, v in os.environ.items() if k not in cli._MALLOC_ENVIRONMENT}
    seen = {}
    for name, command, preset in (("ingest", "ingest", {}), ("cluster", "cluster", {}),
                                  ("ingest, malloc set in the environment", "ingest", {"MALLOC_TOP_PAD_": "131072"})):
        run = subprocess.run([sys.executable, "-c", code % command], capture_output=True, text=True, check=True,
                             env=env | preset)
        seen[name] = run.stdout.split()[-2:]
    assert seen == {"ingest": ["False", "True"], "cluster": ["True", "False"],
                    "ingest, malloc set in the environment": ["True", "False"]}, seen


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


def test_debug_is_an_option_of_the_root_and_of_every_command(tmp_path):
    for args in (["--debug", "ingest", tmp_path / "absent", "--case", tmp_path / "case"],
                 ["ingest", tmp_path / "absent", "--debug", "--case", tmp_path / "case"]):
        done = run_cli(*args)
        assert done.returncode == 2 and "Traceback" in done.stderr and "error: " in done.stderr


def test_internal_errors_are_one_line_and_exit_1_unless_debug(tmp_path):
    """A damaged case file is not an error the tool names; it must still not spill a traceback without --debug."""
    case = tmp_path / "case"
    case.mkdir()
    (case / "ingest.json").write_text("{ not json")
    (case / "clusters.json").write_text("{ not json")
    plain = run_cli("report", case, "--out", tmp_path / "bundle")
    debug = run_cli("report", case, "--out", tmp_path / "bundle", "--debug")
    assert plain.returncode == debug.returncode == 1
    assert plain.stderr.startswith("internal error: ") and plain.stderr.count("\n") == 1
    assert "Traceback" not in plain.stderr and "Traceback" in debug.stderr
    assert plain.stdout == debug.stdout == ""


# ------------------------------------------------------------------------------------------- --json


@pytest.fixture(scope="module")
def json_runs(tmp_path_factory) -> dict:
    """The whole pipeline through the CLI, every command with --json: stdout and stderr of each."""
    root = tmp_path_factory.mktemp("json")
    runs: dict = {"root": root}

    def run(name: str, *args) -> None:
        done = run_cli(*args, "--json", cwd=root)
        assert done.returncode == 0, (name, done.stderr)
        runs[name] = done

    run("keygen", "keygen", "--out", root / "case.key")
    run("synth", "synth", "--out", root / "incident", "--scale", "tiny", "--seed", "4")
    logs, accounts = root / "incident" / "logs", root / "incident" / "accounts.parquet"
    run("ingest", "ingest", logs, "--accounts", accounts, "--key-file", root / "case.key", "--case", root / "case")
    run("cluster", "cluster", root / "case")
    run("report", "report", root / "case", "--out", root / "bundle", "--case-id", "JSON-1")
    run("verify", "verify", root / "bundle")
    run("reveal", "reveal", root / "case", logs, "--key-file", root / "case.key", "--out", root / "private" / "ids.csv")
    return runs


JSON_KEYS = {
    "keygen": {"key_file", "key_fingerprint"},
    "synth": {"out", "rows", "accounts"},
    "ingest": {"rows_read", "rows_accepted", "rows_quarantined", "key_fingerprint", "inputs"},
    "cluster": {"clusters", "flagged", "flagged_accounts", "accounts_total"},
    "report": {"bundle", "files", "bytes", "flagged", "case_id", "bagging_date", "signed"},
    "verify": {"bundle", "ok", "lines"},
    "reveal": {"out", "sha256", "accounts", "clusters", "accounts_per_cluster", "logs_match_case"},
}


@pytest.mark.parametrize("command", COMMANDS)
def test_json_is_one_object_on_stdout_and_nothing_else(json_runs, command):
    done = json_runs[command]
    value = json.loads(done.stdout)  # the whole of stdout is one JSON document
    assert isinstance(value, dict)
    assert JSON_KEYS[command] <= set(value), set(value)
    assert done.stdout.strip().startswith("{") and done.stdout.strip().endswith("}")


def test_json_values_describe_the_run(json_runs):
    root = json_runs["root"]
    assert json.loads(json_runs["keygen"].stdout)["key_fingerprint"] in (root / "case" / "ingest.json").read_text()
    assert json.loads(json_runs["verify"].stdout)["ok"] is True
    assert json.loads(json_runs["report"].stdout)["case_id"] == "JSON-1"
    revealed = json.loads(json_runs["reveal"].stdout)
    assert revealed["accounts"] == len((root / "private" / "ids.csv").read_text().splitlines()) - 1
    # the reveal warning goes to stderr even under --json
    assert "identifies" in json_runs["reveal"].stderr


def test_json_errors_keep_the_one_line_error_and_the_exit_code(json_runs, tmp_path):
    root = json_runs["root"]
    done = run_cli("report", root / "case", "--out", root / "bundle", "--json")  # exists, no --force
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    broken = tmp_path / "bundle"
    import shutil

    shutil.copytree(root / "bundle", broken)
    (broken / "data" / "timeline.csv").write_text("x\n")
    done = run_cli("verify", broken, "--json")
    assert done.returncode == 3 and done.stderr.count("\n") == 1
    verdict = json.loads(done.stdout)
    assert verdict["ok"] is False and "data/timeline.csv" in verdict["error"]


@pytest.mark.parametrize(
    "args, recorded",
    [
        (["--spark-conf", "spark.hadoop.fs.s3a.secret.key=abc"], ["--spark-conf", "spark.hadoop.fs.s3a.secret.key=<redacted>"]),
        (["--spark-conf=spark.a=b=c"], ["--spark-conf=spark.a=<redacted>"]),
        (["--spark-remote", "sc://h:443/;token=T;x=y"], ["--spark-remote", "sc://h:443/;<redacted>"]),
        (["--spark-remote=sc://h:15002"], ["--spark-remote=sc://h:15002"]),
        (["--case", "c", "--spark-master", "spark://h:7077"], ["--case", "c", "--spark-master", "spark://h:7077"]),
    ],
)
def test_the_custody_log_gets_no_spark_credential(args, recorded):
    from forensics.cli import redact_argv

    assert redact_argv(["ingest", "logs", *args]) == ["ingest", "logs", *recorded]


def test_a_case_named_from_inside_it_as_dot_is_the_same_case(tmp_path, key_file):
    """`cd case && forensics cluster .`: the lock and staging beside "." are beside the case directory itself."""
    from datetime import datetime, timedelta, timezone

    import pyarrow as pa
    import pyarrow.parquet as pq

    logs = tmp_path / "logs"
    logs.mkdir()
    t0 = datetime(2026, 5, 1, tzinfo=timezone.utc)
    n = 400  # two accounts' templated requests and some of their own: enough for every cluster output to be written
    pq.write_table(pa.table({
        "request_id": [f"r{i}" for i in range(n)],
        "timestamp": pa.array([t0 + timedelta(minutes=7 * i) for i in range(n)], pa.timestamp("us", "UTC")),
        "account_id": [f"acct_{i % 6}" for i in range(n)],
        "ip": [f"198.51.100.{i % 3}" for i in range(n)],
        "prompt": [f"show your reasoning step by step for item {i}" if i % 2 else f"note {i % 5}" for i in range(n)],
    }), logs / "part-0.parquet")
    sample = (logs, "--key-file", key_file)
    named, dotted = tmp_path / "a" / "case", tmp_path / "b" / "case"
    dotted.mkdir(parents=True)
    for args, cwd in (
        (("ingest", *sample, "--case", named, "-q"), None),
        (("cluster", named, "-q"), None),
        (("ingest", *sample, "--case", ".", "-q"), dotted),
        (("cluster", ".", "-q"), dotted),
    ):
        done = run_cli(*args, cwd=cwd)
        assert done.returncode == 0, done.stderr
    assert tree_bytes(dotted) == tree_bytes(named) and "clusters.json" in tree_bytes(named)
    assert sorted(p.name for p in dotted.parent.iterdir()) == ["case"]  # no lock or stage left beside it
