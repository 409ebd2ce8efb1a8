"""Atomic file and directory writes, and the per-case lock, so a killed run leaves nothing half-written."""

from __future__ import annotations

import ctypes
import errno
import ctypes.util
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


def write_bytes_atomic(path: Path, data: bytes, *, mode: int = 0o666) -> None:
    """Write a fresh sibling created with `mode` (less the umask) and rename it over `path`: readers see the old
    file or the new one, never part of one, and a private file (mode 0o600) is never readable by others, not
    even for a moment."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


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


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2); False where the system cannot."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


def _remove_stale(target: Path) -> None:
    """Remove staging leftovers of killed runs; callers hold the target's lock, so none is live."""
    for leftover in target.parent.glob(f".{target.name}.staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in target.parent.glob(f".{target.name}.old-*"):
        shutil.rmtree(leftover, ignore_errors=True)


@contextmanager
def staged_dir(target: Path, *, replace: bool) -> Iterator[Path]:
    """Build a directory beside `target` and rename it into place only when the block succeeds.

    `replace` allows an existing target to be swapped out (atomically where Linux allows); otherwise an
    existing target is refused. Callers hold `case_lock(target)`.
    """
    target = Path(os.path.abspath(target))  # "." or "case/.." has no name to put a sibling's beside
    if target.exists() and not replace:
        raise OutputExistsError(f"{target}: already exists; pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target)
    stage = target.with_name(f".{target.name}.staging-{os.getpid()}")
    stage.mkdir()
    try:
        yield stage
        if not target.exists():
            os.replace(stage, target)
        elif _exchange(stage, target):
            shutil.rmtree(stage, ignore_errors=True)  # now holds the previous content
        else:
            trash = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, trash)
            os.replace(stage, target)
            shutil.rmtree(trash, ignore_errors=True)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


@contextmanager
def case_lock(target: Path) -> Iterator[None]:
    """Hold an exclusive lock beside `target` so two runs cannot write it at once.

    The lock file is removed on release while still locked; a run that locked a file already removed
    notices the changed inode and tries again, so removal never lets two runs in.
    """
    target = Path(os.path.abspath(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.with_name(f".{target.name}.lock")
    while True:
        handle = lock_path.open("a")
        try:
            # POSIX record locks, unlike flock, are not inherited by forked helpers and die with the process.
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            raise CaseLockedError(f"{target}: another forensics process is writing this case") from None
        try:
            same = os.stat(lock_path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()
    try:
        yield
    finally:
        lock_path.unlink(missing_ok=True)
        handle.close()
