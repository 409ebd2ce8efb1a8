"""Ingest's inputs: files, directories, globs and file URIs resolved to Parquet files, opened, hashed and counted."""

from __future__ import annotations

import glob
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import polars as pl
import pyarrow.parquet as pq

from forensics.errors import CorruptInputError, NoInputError, NotParquetError
from forensics.fsio import sha256_file


@dataclass(frozen=True)
class InputFile:
    path: Path
    rel: str
    partitions: tuple[tuple[str, str], ...] = ()


@dataclass
class FileStats:
    index: int  # position among inputs sorted by path: the last tie-break between byte-identical files
    rel: str
    name: str
    size: int
    sha256: str
    rows: int = 0
    valid: int = 0
    reasons: Counter = field(default_factory=Counter)
    epoch: Counter = field(default_factory=Counter)  # epoch_counts of integer timestamps


def resolve_inputs(logs: list[str]) -> tuple[list[InputFile], list[str]]:
    """Expand files, directories and globs into Parquet files; return them with the non-Parquet files skipped."""
    found: dict[Path, InputFile] = {}
    skipped: list[str] = []
    for arg in logs:
        arg = _local_argument(arg)
        if glob.has_magic(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                raise NoInputError(f"{arg}: no file matches this pattern")
            root = Path(_glob_root(arg))
            for match in matches:
                path = Path(match)
                if path.is_dir():
                    _walk_dir(path, found, skipped, root)
                elif path.is_file():
                    _add(found, path, _relative(path, root))
            continue
        path = Path(arg)
        if path.is_dir():
            _walk_dir(path, found, skipped, path)
        elif path.is_file():
            _add(found, path, path.name)
        elif path.exists() or path.is_symlink():
            raise NoInputError(f"{arg}: not a regular file or directory")
        else:
            raise NoInputError(f"{arg}: no such file or directory")
    if not found:
        raise NoInputError(f"no Parquet files found in {', '.join(logs)}")
    files = sorted(found.values(), key=lambda f: (f.rel, str(f.path)))
    return files, sorted(skipped)


def _local_argument(arg: str) -> str:
    """A file: URI as its local path; any other URI refused by name (the driver hashes and plans each input, so it
    reads them from its own file system)."""
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", arg)
    if scheme is None:
        return arg
    if scheme[1].lower() == "file":
        parts = urlsplit(arg)
        if parts.netloc not in ("", "localhost"):
            raise NoInputError(f"{arg}: a file:// URI names a path on this machine (file:///path)")
        return unquote(parts.path)
    raise NoInputError(
        f"{arg}: logs are read from this machine's file system (a path or file:///path); {scheme[1]}:// is not "
        "supported yet: mount it or copy the files"
    )


def _glob_root(pattern: str) -> str:
    parts = Path(pattern).parts
    fixed = [p for p in parts[: next(i for i, p in enumerate(parts) if glob.has_magic(p))]]
    return str(Path(*fixed)) if fixed else "."


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def _walk_dir(directory: Path, found: dict[Path, InputFile], skipped: list[str], root: Path) -> None:
    # os.walk without following links cannot loop on symlinked directories.
    for current, dirs, names in os.walk(directory, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(current) / name
            rel = _relative(path, root)
            if name.startswith(".") or not path.is_file():
                continue
            if name.endswith(".parquet") or name.endswith(".parq"):
                _add(found, path, rel)
            else:
                skipped.append(rel)


def _add(found: dict[Path, InputFile], path: Path, rel: str) -> None:
    resolved = path.resolve()
    if resolved in found:
        return
    partitions = tuple(
        tuple(part.split("=", 1)) for part in Path(rel).parts[:-1] if "=" in part and not part.startswith("=")
    )
    found[resolved] = InputFile(path=path, rel=rel, partitions=partitions)  # type: ignore[arg-type]


def open_parquet(inp: InputFile, size: int) -> pq.ParquetFile:
    with inp.path.open("rb") as handle:
        head = handle.read(4)
        if size >= 8:
            handle.seek(-4, os.SEEK_END)
        tail = handle.read(4)
    if head != b"PAR1":
        raise NotParquetError(f"{inp.rel}: not a Parquet file" + (" (empty file)" if size == 0 else ""))
    if size < 12 or tail != b"PAR1":
        raise CorruptInputError(f"{inp.rel}: truncated or corrupt Parquet file (no footer)")
    try:
        return pq.ParquetFile(inp.path)
    except Exception as exc:  # pyarrow raises several types for a damaged footer
        raise CorruptInputError(f"{inp.rel}: corrupt Parquet file ({short_error(exc)})") from None


def short_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def with_partitions(batch: pl.DataFrame, inp: InputFile) -> pl.DataFrame:
    """Hive-style key=value directories as columns, unless the file has a column of that name."""
    missing = [pl.lit(value).alias(key) for key, value in inp.partitions if key not in batch.columns]
    return batch.with_columns(missing) if missing else batch


def file_stats(index: int, inp: InputFile) -> FileStats:
    return FileStats(index=index, rel=inp.rel, name=inp.path.name, size=inp.path.stat().st_size, sha256=sha256_file(inp.path))
