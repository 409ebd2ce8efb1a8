"""Ingest's inputs: files, directories, globs and file URIs resolved to Parquet files, opened, hashed and counted.

Other URIs (s3a://, abfss://, hdfs://, ...) are for the Spark engine, which lists, hashes and reads them with the
cluster's own file systems (engine.spark_ingest); the checks on what it finds are the ones here.
"""

from __future__ import annotations

import glob
import io
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath
from urllib.parse import unquote, urlsplit

import polars as pl
import pyarrow.parquet as pq

from forensics.errors import CorruptInputError, InternalError, NoInputError, NotParquetError
from forensics.fsio import sha256_file


@dataclass(frozen=True)
class InputFile:
    path: Path | None  # a file on this machine, or None for one only Spark reads (`uri`)
    rel: str
    partitions: tuple[tuple[str, str], ...] = ()
    uri: str | None = None  # a remote input: its URI as the cluster's file system lists it

    @property
    def label(self) -> str:
        """How the custody log names the file."""
        return self.uri if self.uri is not None else str(self.path)

    @property
    def name(self) -> str:
        return PurePosixPath(urlsplit(self.uri).path).name if self.uri is not None else self.local.name

    @property
    def local(self) -> Path:
        if self.path is None:
            raise InternalError(f"{self.rel}: a remote input was read as a local file")
        return self.path

    @property
    def spark_uri(self) -> str:
        """The file as Spark's readers take it: a Hadoop path, not percent-encoded (Hadoop would read `%3D` as
        three characters of the name)."""
        return self.uri if self.uri is not None else f"file://{self.local.resolve()}"


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


def resolve_inputs(logs: list[str], *, remote: bool = False) -> tuple[list[InputFile], list[str]]:
    """Expand files, directories and globs into Parquet files; return them with the non-Parquet files skipped.

    With `remote` (the Spark engine), URIs other than file:// are left for the engine to list (`remote_logs`),
    and finding nothing here is not yet an error."""
    found: dict[Path, InputFile] = {}
    skipped: list[str] = []
    for arg in logs:
        if remote and remote_scheme(arg):
            continue
        arg = _local_argument(arg)
        if glob.has_magic(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                raise NoInputError(f"{arg}: no file matches this pattern")
            root = Path(glob_root(arg))
            for match in matches:
                path = Path(match)
                if path.is_dir():
                    _walk_dir(path, found, skipped, root)
                elif path.is_file():
                    _add(found, path, relative(path, root))
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
    files = list(found.values())
    if not remote:
        files = sorted_inputs(files, logs)
    return files, sorted(skipped)


def sorted_inputs(files: list[InputFile], logs: list[str]) -> list[InputFile]:
    """The inputs in the order every engine numbers them: by relative path, then location."""
    if not files:
        raise NoInputError(f"no Parquet files found in {', '.join(logs)}")
    return sorted(files, key=lambda f: (f.rel, f.label))


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def remote_scheme(arg: str) -> str | None:
    """The scheme of a URI that is not file://, or None."""
    scheme = _SCHEME.match(arg)
    return None if scheme is None or scheme[1].lower() == "file" else scheme[1]


def remote_logs(logs: list[str]) -> list[str]:
    return [arg for arg in logs if remote_scheme(arg)]


def _local_argument(arg: str) -> str:
    """A file: URI as its local path; any other URI refused by name (the local engine reads this machine's file
    system; the Spark engine reads the cluster's)."""
    scheme = remote_scheme(arg)
    if scheme is not None:
        raise NoInputError(
            f"{arg}: the local engine reads this machine's file system (a path or file:///path); "
            f"{scheme}:// logs need --engine spark, or mount or copy the files"
        )
    if _SCHEME.match(arg):  # file://
        parts = urlsplit(arg)
        if parts.netloc not in ("", "localhost"):
            raise NoInputError(f"{arg}: a file:// URI names a path on this machine (file:///path)")
        return unquote(parts.path)
    return arg


def glob_root(pattern: str) -> str:
    parts = Path(pattern).parts
    fixed = [p for p in parts[: next(i for i, p in enumerate(parts) if glob.has_magic(p))]]
    return str(Path(*fixed)) if fixed else "."


def relative(path: PurePath, root: PurePath) -> str:
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
            rel = relative(path, root)
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
    found[resolved] = InputFile(path=path, rel=rel, partitions=_partitions(rel))


def remote_input(uri: str, rel: str) -> InputFile:
    """A file only Spark reads, named `rel` below the argument that found it."""
    return InputFile(path=None, rel=rel, partitions=_partitions(rel), uri=uri)


def _partitions(rel: str) -> tuple[tuple[str, str], ...]:
    """Hive-style key=value directories on the way to a file."""
    return tuple(
        tuple(part.split("=", 1)) for part in PurePosixPath(rel).parts[:-1] if "=" in part and not part.startswith("=")
    )  # type: ignore[return-value]


def open_parquet(inp: InputFile, size: int) -> pq.ParquetFile:
    with inp.local.open("rb") as handle:
        head = handle.read(4)
        if size >= 8:
            handle.seek(-4, os.SEEK_END)
        tail = handle.read(4)
    return checked_parquet(inp.rel, size, head, tail, inp.local)


def checked_parquet(rel: str, size: int, head: bytes, tail: bytes, source) -> pq.ParquetFile:
    """The Parquet file `source` of `size` bytes, whose first and last 4 bytes are `head` and `tail`, or the
    error that names what is wrong with it."""
    if head != b"PAR1":
        raise NotParquetError(f"{rel}: not a Parquet file" + (" (empty file)" if size == 0 else ""))
    if size < 12 or tail != b"PAR1":
        raise CorruptInputError(f"{rel}: truncated or corrupt Parquet file (no footer)")
    try:
        return pq.ParquetFile(source)
    except Exception as exc:  # pyarrow raises several types for a damaged footer
        raise CorruptInputError(f"{rel}: corrupt Parquet file ({short_error(exc)})") from None


class FooterFile(io.RawIOBase):
    """A Parquet file of `size` bytes of which only the footer is at hand (its last `len(end)` bytes), for reading
    the schema and row counts of a file the driver cannot open: the rest reads as zeros, which the footer's
    reader never looks at."""

    def __init__(self, size: int, end: bytes) -> None:
        self._size = size
        self._end = end
        self._start = size - len(end)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        stop = min(self._size, self._pos + len(view))
        count = max(0, stop - self._pos)
        known = max(self._pos, self._start)
        view[:count] = bytes(count)
        if stop > known:
            view[known - self._pos : count] = self._end[known - self._start : stop - self._start]
        self._pos += count
        return count


def short_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def with_partitions(batch: pl.DataFrame, inp: InputFile) -> pl.DataFrame:
    """Hive-style key=value directories as columns, unless the file has a column of that name."""
    missing = [pl.lit(value).alias(key) for key, value in inp.partitions if key not in batch.columns]
    return batch.with_columns(missing) if missing else batch


def file_stats(index: int, inp: InputFile) -> FileStats:
    return FileStats(index=index, rel=inp.rel, name=inp.name, size=inp.local.stat().st_size, sha256=sha256_file(inp.local))
