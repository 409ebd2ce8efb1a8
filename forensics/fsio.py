"""Atomic file and directory writes, and the per-case lock, so a killed run leaves nothing half-written."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from forensics.errors import CaseLockedError, OutputExistsError

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_bytes_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@contextmanager
def replace_file_atomic(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling path; on success it replaces `path` in one rename."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def staged_dir(target: Path, *, replace: bool) -> Iterator[Path]:
    """Build a directory beside `target` and rename it into place only when the block succeeds.

    `replace` allows an existing target to be swapped out; otherwise an existing target is refused.
    """
    target = Path(target)
    if target.exists() and not replace:
        raise OutputExistsError(f"{target}: already exists; pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = target.with_name(f".{target.name}.staging-{os.getpid()}")
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir()
    try:
        yield stage
        if target.exists():
            trash = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, trash)
            os.replace(stage, target)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(stage, target)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


@contextmanager
def case_lock(case_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock beside the case so two runs cannot write it at once."""
    case_dir = Path(case_dir)
    case_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = case_dir.with_name(f".{case_dir.name}.lock")
    handle = lock_path.open("a")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CaseLockedError(f"{case_dir}: another forensics process is writing this case") from None
        yield
    finally:
        handle.close()
