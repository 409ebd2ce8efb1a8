"""The custody log, CASE/custody.jsonl: one JSON line per `ingest`, `cluster`, `report` and `reveal` run.

Each line says who ran what, where, when, with which tool and dependency versions, and the SHA-256 of every
file the run read and wrote, so that a later reader can tie each file of a case or bundle to the run that made
it. It is the one record that carries wall-clock time, user and host; every other output is deterministic.
It never holds the key or key-file contents (a key file appears only as the path given on the command line),
nor any raw account ID, IP or prompt.

Lines are appended with one write() of one line on a file opened with O_APPEND, so concurrent runs cannot
interleave within a line.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from forensics.environment import versions
from forensics.errors import InternalError
from forensics.fsio import sha256_file

CUSTODY_LOG = "custody.jsonl"
RECORD_FORMAT = "forensics-custody/1"


def file_entry(label: str, path: Path, sha256: str | None = None) -> dict[str, Any]:
    """{path, bytes, sha256} of one file, hashed in streaming chunks unless the digest is already known."""
    path = Path(path)
    return {"path": label, "bytes": path.stat().st_size, "sha256": sha256 or sha256_file(path)}


def tree_entries(root: Path, *, prefix: str = "", exclude: Iterable[str] = ()) -> list[dict[str, Any]]:
    """One entry per regular file below `root` (paths relative to it, with `prefix`), sorted by path.

    Names in `exclude` (relative paths) are left out: the custody log itself, and a generated key file, whose
    hash is none of the log's business.
    """
    root = Path(root)
    skip = set(exclude)
    entries = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = path.relative_to(root).as_posix()
        if rel in skip or any(part.startswith(".") for part in Path(rel).parts):
            continue
        entries.append(file_entry(prefix + rel, path))
    return entries


def case_entries(case: Path, names: Iterable[str], *, events: bool = True) -> list[dict[str, Any]]:
    """Entries of the named case files that exist and, with `events`, of every event file, sorted by path: what
    a stage read."""
    case = Path(case)
    entries = [file_entry(name, case / name) for name in names if (case / name).is_file()]
    if events and (case / "events").is_dir():
        entries += tree_entries(case / "events", prefix="events/")
    return sorted(entries, key=lambda e: e["path"])


class Background:
    """Hash files on a daemon thread while the stage works: hashlib releases the GIL on large buffers, so on two
    cores reading and hashing gigabytes of events overlaps polars work instead of adding to the stage's time.
    A daemon thread, so a stage that fails does not wait for it at exit."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, *args), name="custody-hash", daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers: the numeric uid is what the system knows
        return f"uid:{os.getuid()}"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def make_record(
    command: str,
    *,
    argv: Sequence[str] | None,
    parameters: Mapping[str, Any],
    inputs: Sequence[Mapping[str, Any]],
    outputs: Sequence[Mapping[str, Any]],
    key_fingerprint: str | None,
) -> dict[str, Any]:
    """One custody record. `argv` is the command line after `forensics` when run from the CLI (None for a
    library call); `parameters` is what the stage actually used, defaults included."""
    return {
        "record": RECORD_FORMAT,
        "command": command,
        "argv": list(argv) if argv is not None else None,
        "parameters": dict(parameters),
        "time": utc_now(),
        "user": _user(),
        "host": socket.gethostname(),
        "versions": versions(),
        "key_fingerprint": key_fingerprint,
        "inputs": [dict(e) for e in inputs],
        "outputs": [dict(e) for e in outputs],
    }


def record_line(record: Mapping[str, Any]) -> bytes:
    """The record as one line of compact JSON with sorted keys."""
    line = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str) + "\n"
    if line.count("\n") != 1:
        raise InternalError("a custody record must be exactly one line")
    return line.encode("utf-8")


def append(case: Path, record: Mapping[str, Any]) -> bytes:
    """Append one record to CASE/custody.jsonl in a single write; return the line written."""
    return append_line(Path(case) / CUSTODY_LOG, record_line(record))


def append_line(path: Path, line: bytes) -> bytes:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, line)
        if written != len(line):
            raise InternalError(f"{path}: custody record only partly written ({written} of {len(line)} bytes)")
        os.fsync(fd)
    finally:
        os.close(fd)
    return line


def read_log(case: Path) -> bytes:
    """The case's custody log as it stands (empty if no run has been recorded yet)."""
    path = Path(case) / CUSTODY_LOG
    return path.read_bytes() if path.is_file() else b""


def parse_log(data: bytes) -> list[dict[str, Any]]:
    """The records of a custody log; raises ValueError on a line that is not a JSON object."""
    records = []
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        value = json.loads(line)
        if not isinstance(value, dict):
            raise ValueError(f"line {number} is not a JSON object")
        records.append(value)
    return records
