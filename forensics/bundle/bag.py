"""BagIt 1.0 (RFC 8493) writer and integrity checker, so third-party tools can verify what we write.

The writer is deliberately narrow: SHA-256 only, UTF-8 tag files, LF line endings, two spaces between
digest and path, paths sorted and restricted to [a-z0-9._/-] so no percent-encoding is ever needed.
The checker names every modified, missing and extra file instead of stopping at the first problem.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from forensics.errors import InternalError
from forensics.fsio import sha256_file

BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
MANIFEST = "manifest-sha256.txt"
TAGMANIFEST = "tagmanifest-sha256.txt"
BAG_INFO = "bag-info.txt"
BAGIT = "bagit.txt"
TAG_FILES = (BAGIT, BAG_INFO, MANIFEST)
# The case's custody log (forensics/custody.py), a tag file at the bag root listed in the tag manifest. It is the
# one file of a bundle that records wall-clock time, user and host, so a re-run never reproduces it.
CUSTODY = "custody.jsonl"
# A detached OpenSSH signature over the tag manifest (optional; it cannot be listed in any manifest).
SIGNATURE = "tagmanifest-sha256.txt.sig"
SIGNATURE_NAMESPACE = "forensics-evidence"

_SAFE_PATH = re.compile(r"[a-z0-9._-]+(/[a-z0-9._-]+)*")
_MANIFEST_LINE = re.compile(r"([0-9a-f]{64})  (\S+)")
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")


# The issue names this one file in capitals; it needs no escaping either, so it is the single exception.
ALLOWED_CAPITALISED = frozenset({"VERIFY.md"})


def is_safe_path(path: str) -> bool:
    """True for relative paths made only of [a-z0-9._-] segments, none of them `.` or `..`."""
    if path in ALLOWED_CAPITALISED:
        return True
    return bool(_SAFE_PATH.fullmatch(path)) and all(part not in (".", "..") for part in path.split("/"))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_text(digests: Mapping[str, str]) -> str:
    """`digest  path` lines sorted by path: the format `sha256sum -c --strict` and bagit both accept."""
    return "".join(f"{digests[path]}  {path}\n" for path in sorted(digests))


def bag_info_text(info: Sequence[tuple[str, str]], octets: int, count: int) -> str:
    """bag-info.txt in the given label order, ending with Payload-Oxum (payload bytes.payload files)."""
    lines = []
    for label, value in info:
        if not _LABEL.fullmatch(label) or "\n" in value or "\r" in value:
            raise InternalError(f"bag-info label or value not writable as one line: {label!r}")
        lines.append(f"{label}: {value}\n")
    lines.append(f"Payload-Oxum: {octets}.{count}\n")
    return "".join(lines)


def unsealed_bag_files(payload: Mapping[str, bytes], info: Sequence[tuple[str, str]]) -> dict[str, bytes]:
    """The payload, its manifest, bagit.txt and bag-info.txt, without the tag manifest: what a tag file written
    about the bag (the custody log's `report` line) can already hash."""
    for path in payload:
        if not is_safe_path(path):
            raise InternalError(f"payload path outside [a-z0-9._/-]: {path!r}")
    files = {f"data/{path}": data for path, data in payload.items()}
    files[MANIFEST] = manifest_text({p: sha256_bytes(d) for p, d in files.items()}).encode("utf-8")
    files[BAGIT] = BAGIT_TXT.encode("utf-8")
    files[BAG_INFO] = bag_info_text(info, sum(len(d) for d in payload.values()), len(payload)).encode("utf-8")
    return files


def seal(files: Mapping[str, bytes], extra_tags: Mapping[str, bytes] | None = None) -> dict[str, bytes]:
    """Add the extra tag files (custody.jsonl) and the tag manifest over every tag file."""
    sealed = dict(files)
    for rel, data in (extra_tags or {}).items():
        if rel in sealed or "/" in rel or not is_safe_path(rel):
            raise InternalError(f"extra tag file name not allowed: {rel!r}")
        sealed[rel] = data
    tags = [*TAG_FILES, *sorted(extra_tags or {})]
    sealed[TAGMANIFEST] = manifest_text({p: sha256_bytes(sealed[p]) for p in tags}).encode("utf-8")
    return sealed


def bag_files(
    payload: Mapping[str, bytes], info: Sequence[tuple[str, str]], extra_tags: Mapping[str, bytes] | None = None
) -> dict[str, bytes]:
    """Every file of the bag (path relative to the bag root -> bytes), computed in memory."""
    return seal(unsealed_bag_files(payload, info), extra_tags)


def write_bag(
    bag_dir: Path,
    payload: Mapping[str, bytes],
    info: Sequence[tuple[str, str]],
    extra_tags: Mapping[str, bytes] | None = None,
) -> dict[str, bytes]:
    """Write a complete bag into the (empty, staged) directory `bag_dir`; return what was written."""
    return write_files(bag_dir, bag_files(payload, info, extra_tags))


def write_files(bag_dir: Path, files: Mapping[str, bytes]) -> dict[str, bytes]:
    """Write the files of a bag (from bag_files or seal) into the (empty, staged) directory `bag_dir`."""
    files = dict(files)
    for rel in sorted(files):
        path = bag_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[rel])
    return files


# ---------------------------------------------------------------------------------------------- checking


@dataclass(frozen=True, order=True)
class BagProblem:
    """One finding: `kind` is modified, missing, extra or malformed; `path` is relative to the bag."""

    path: str
    kind: str
    detail: str

    def line(self) -> str:
        return f"{self.kind}: {self.path} ({self.detail})"


@dataclass
class BagReport:
    payload_files: int = 0
    payload_bytes: int = 0
    tag_files: int = 0
    info: dict[str, str] = field(default_factory=dict)
    problems: list[BagProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _list_files(bag_dir: Path) -> dict[str, Path]:
    """Every non-directory entry under the bag, by its relative path (symlinks included, not followed)."""
    found: dict[str, Path] = {}
    stack = [bag_dir]
    while stack:
        current = stack.pop()
        for entry in current.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                stack.append(entry)
            else:
                found[entry.relative_to(bag_dir).as_posix()] = entry
    return found


def _file_digest(path: Path) -> str | None:
    if path.is_symlink() or not path.is_file():
        return None
    return sha256_file(path)


def _parse_manifest(name: str, data: bytes, problems: list[BagProblem]) -> dict[str, str] | None:
    """Parse a manifest written by `manifest_text`; any deviation from that exact form is a finding."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        problems.append(BagProblem(name, "modified", "not valid UTF-8"))
        return None
    entries: dict[str, str] = {}
    bad_lines = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    else:
        bad_lines.append("missing final newline")
    for number, line in enumerate(lines, start=1):
        match = _MANIFEST_LINE.fullmatch(line)
        if not match or match.group(2) in entries:
            bad_lines.append(f"line {number}")
            continue
        entries[match.group(2)] = match.group(1)
    if list(entries) != sorted(entries):
        bad_lines.append("paths not sorted")
    if bad_lines:
        problems.append(BagProblem(name, "modified", "malformed: " + ", ".join(bad_lines[:5])))
    return entries


def _parse_bag_info(data: bytes) -> dict[str, str] | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    info: dict[str, str] = {}
    for line in text.split("\n"):
        if not line:
            continue
        label, sep, value = line.partition(": ")
        if not sep or not _LABEL.fullmatch(label):
            return None
        info[label] = value
    return info


def check_bag(bag_dir: Path, *, expected_tags: Mapping[str, bytes] | None = None) -> BagReport:
    """Check completeness and every checksum of a bag; collect all problems rather than stop at one.

    `expected_tags` optionally gives the exact bytes some tag files must have (the caller can derive
    bag-info.txt from the payload); that lets a changed tag manifest be told apart from a changed tag file.
    """
    bag_dir = Path(bag_dir)
    report = BagReport()
    problems = report.problems
    if not bag_dir.is_dir():
        problems.append(BagProblem(".", "missing", "bundle directory not found"))
        return report
    on_disk = _list_files(bag_dir)
    expected_tags = dict(expected_tags or {})
    expected_tags.setdefault(BAGIT, BAGIT_TXT.encode("utf-8"))

    def read(rel: str) -> bytes | None:
        path = on_disk.get(rel)
        if path is None or path.is_symlink() or not path.is_file():
            return None
        return path.read_bytes()

    manifest_bytes = read(MANIFEST)
    tagmanifest_bytes = read(TAGMANIFEST)
    for rel in (BAGIT, BAG_INFO, MANIFEST, TAGMANIFEST):
        if read(rel) is None:
            problems.append(BagProblem(rel, "missing", "required BagIt tag file"))
    manifest = _parse_manifest(MANIFEST, manifest_bytes, problems) if manifest_bytes is not None else None
    tagmanifest = _parse_manifest(TAGMANIFEST, tagmanifest_bytes, problems) if tagmanifest_bytes is not None else None

    # Payload: every manifest entry must exist and match; every file under data/ must be listed.
    payload_ok = manifest is not None
    actual_payload: dict[str, str | None] = {}
    for rel, path in sorted(on_disk.items()):
        if rel.startswith("data/"):
            actual_payload[rel] = _file_digest(path)
            if path.is_file() and not path.is_symlink():
                report.payload_files += 1
                report.payload_bytes += path.stat().st_size
    for rel, digest in sorted((manifest or {}).items()):
        if not rel.startswith("data/"):
            problems.append(BagProblem(rel, "extra", f"listed in {MANIFEST} outside data/"))
            payload_ok = False
        elif rel not in actual_payload:
            problems.append(BagProblem(rel, "missing", f"listed in {MANIFEST} but not in the bundle"))
            payload_ok = False
        elif actual_payload[rel] is None:
            problems.append(BagProblem(rel, "modified", "not a regular file"))
            payload_ok = False
        elif actual_payload[rel] != digest:
            problems.append(BagProblem(rel, "modified", f"SHA-256 differs from {MANIFEST}"))
            payload_ok = False
    if manifest is not None:
        for rel in sorted(set(actual_payload) - set(manifest)):
            problems.append(BagProblem(rel, "extra", f"not listed in {MANIFEST}"))
            payload_ok = False

    # Tag files: judge each against the tag manifest, then decide which side of a mismatch changed.
    info_bytes = read(BAG_INFO)
    info = _parse_bag_info(info_bytes) if info_bytes is not None else None
    if info_bytes is not None and info is None:
        problems.append(BagProblem(BAG_INFO, "modified", "not in `Label: value` form"))
    report.info = info or {}
    oxum = f"{report.payload_bytes}.{report.payload_files}"
    # Without the expected bytes, a mismatching bag-info.txt is taken to be the changed file.
    info_consistent = (
        info is not None and info.get("Payload-Oxum") == oxum and info_bytes == expected_tags.get(BAG_INFO)
    )
    self_consistent = {
        BAGIT: read(BAGIT) == expected_tags[BAGIT],
        BAG_INFO: info_consistent,
        MANIFEST: payload_ok,
    }
    if read(BAGIT) is not None and not self_consistent[BAGIT]:
        problems.append(BagProblem(BAGIT, "modified", "content differs from the BagIt 1.0 declaration"))
    if info is not None and info.get("Payload-Oxum") != oxum and payload_ok:
        problems.append(BagProblem(BAG_INFO, "modified", f"Payload-Oxum differs from the payload ({oxum})"))
    if tagmanifest is not None:
        blamed_tagmanifest = []
        for rel, digest in sorted(tagmanifest.items()):
            if rel.startswith("data/") or rel == TAGMANIFEST:
                problems.append(BagProblem(rel, "extra", f"listed in {TAGMANIFEST} but not a tag file"))
                continue
            content = read(rel)
            if content is None:
                problems.append(BagProblem(rel, "missing", f"listed in {TAGMANIFEST} but not in the bundle"))
            elif sha256_bytes(content) != digest:
                if self_consistent.get(rel, False):
                    blamed_tagmanifest.append(rel)
                else:
                    problems.append(BagProblem(rel, "modified", f"SHA-256 differs from {TAGMANIFEST}"))
        if blamed_tagmanifest:
            problems.append(
                BagProblem(
                    TAGMANIFEST,
                    "modified",
                    "its entry for " + ", ".join(blamed_tagmanifest) + " does not match a file that is otherwise intact",
                )
            )
        for rel in TAG_FILES:
            if rel not in tagmanifest and read(rel) is not None:
                problems.append(BagProblem(TAGMANIFEST, "modified", f"does not list {rel}"))
    known = set(manifest or {}) | set(tagmanifest or {}) | {TAGMANIFEST, BAGIT, BAG_INFO, MANIFEST, SIGNATURE}
    for rel in sorted(set(on_disk) - known):
        if not rel.startswith("data/"):
            problems.append(BagProblem(rel, "extra", "not part of the bag"))
    report.tag_files = sum(1 for rel in on_disk if not rel.startswith("data/"))
    report.problems = sorted(set(problems))
    return report


# ------------------------------------------------------------------------------------------- signatures


def _ssh_keygen(args: list[str], *, cwd: Path | None = None, stdin: bytes | None = None):
    import shutil
    import subprocess

    from forensics.errors import SignatureError

    binary = shutil.which("ssh-keygen")
    if binary is None:
        raise SignatureError("ssh-keygen (OpenSSH) is not installed; it is needed to sign or check signatures")
    return subprocess.run(
        [binary, *args], cwd=cwd, input=stdin if stdin is not None else b"", capture_output=True, timeout=60
    )


def sign_tagmanifest(bag_dir: Path, key: Path) -> Path:
    """Write SIGNATURE with `ssh-keygen -Y sign`; Ed25519 and RSA signatures are deterministic."""
    from forensics.errors import SignatureError

    key = Path(key).resolve()
    if not key.is_file():
        raise SignatureError(f"{key.name}: signing key not found")
    done = _ssh_keygen(["-Y", "sign", "-f", str(key), "-n", SIGNATURE_NAMESPACE, TAGMANIFEST], cwd=bag_dir)
    if done.returncode != 0 or not (bag_dir / SIGNATURE).is_file():
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = reason[-1] if reason else "unknown reason"
        raise SignatureError(f"{key.name}: ssh-keygen could not sign with this key ({detail})")
    return bag_dir / SIGNATURE


def verify_signature(bag_dir: Path, allowed_signers: Path) -> str:
    """Check SIGNATURE over the tag manifest; return the signer's principal or raise BundleInvalidError."""
    from forensics.errors import BundleInvalidError, SignatureError

    allowed_signers = Path(allowed_signers).resolve()
    if not allowed_signers.is_file():
        raise SignatureError(f"{allowed_signers.name}: allowed-signers file not found")
    signature = bag_dir / SIGNATURE
    if not signature.is_file():
        raise BundleInvalidError(f"{bag_dir}: missing: {SIGNATURE} (the bundle is not signed)")
    found = _ssh_keygen(["-Y", "find-principals", "-s", str(signature.resolve()), "-f", str(allowed_signers)])
    principals = found.stdout.decode("utf-8", "replace").split()
    if found.returncode != 0 or not principals:
        raise BundleInvalidError(
            f"{bag_dir}: modified: {SIGNATURE} (not made by any key in {allowed_signers.name}, or damaged)"
        )
    message = (bag_dir / TAGMANIFEST).read_bytes()
    for principal in principals:
        done = _ssh_keygen(
            ["-Y", "verify", "-f", str(allowed_signers), "-I", principal, "-n", SIGNATURE_NAMESPACE,
             "-s", str(signature.resolve())],
            stdin=message,
        )
        if done.returncode == 0:
            return principal
    raise BundleInvalidError(
        f"{bag_dir}: modified: {TAGMANIFEST} or {SIGNATURE} (the signature does not match the tag manifest)"
    )
