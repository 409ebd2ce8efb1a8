"""`forensics verify`: check a bundle's integrity, and optionally re-run the pipeline and compare every file.

Integrity uses the BagIt manifests (bag.check_bag). The re-run mode checks the key fingerprint before doing
anything else, then runs ingest, cluster and report into a temporary directory with the parameters recorded
in the bundle's summary.json and compares the two bundles byte for byte.

Two documented exceptions to byte-for-byte: custody.jsonl, the custody log, is the one record that carries
wall-clock time, user and host, so it is never compared (its integrity is checked against the tag manifest
like any tag file), and tagmanifest-sha256.txt is compared without its custody.jsonl line. When the running
Python or dependency versions differ from those recorded in summary.json, the re-run says so, names the
fields, and rebuilds the report with the recorded values in those fields only, so that every other byte is
still compared.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from forensics.bundle.bag import BAG_INFO, CUSTODY, SIGNATURE, TAGMANIFEST, bag_info_text, check_bag, verify_signature
from forensics.errors import BadInputError, BundleInvalidError, WrongKeyError
from forensics.fsio import sha256_file
from forensics.progress import Progress, SilentProgress

SUMMARY = "data/summary.json"


def _read_summary(bundle: Path) -> dict | None:
    try:
        value = json.loads((bundle / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _expected_bag_info(bundle: Path, summary: dict | None) -> bytes | None:
    """bag-info.txt as `report` would write it for this summary and this payload, or None if underivable."""
    from forensics.bundle.case_metadata import bag_info_fields

    if summary is None:
        return None
    try:
        fields = bag_info_fields(summary)
    except (KeyError, TypeError):
        return None
    sizes = [p.stat().st_size for p in (bundle / "data").rglob("*") if p.is_file() and not p.is_symlink()]
    try:
        return bag_info_text(fields, sum(sizes), len(sizes)).encode("utf-8")
    except Exception:  # a label or value that report would never have written
        return None


def check_integrity(bundle: Path) -> list[str]:
    """Raise BundleInvalidError naming every modified, missing or extra file; return report lines if intact."""
    bundle = Path(bundle)
    if not bundle.is_dir():
        raise BadInputError(f"{bundle}: bundle directory not found")
    summary = _read_summary(bundle)
    expected = _expected_bag_info(bundle, summary) if (bundle / "data").is_dir() else None
    report = check_bag(bundle, expected_tags={BAG_INFO: expected} if expected is not None else None)
    if not report.problems:
        report.problems.extend(_custody_problems(bundle))
    if report.problems:
        details = "; ".join(p.line() for p in report.problems)
        raise BundleInvalidError(f"{bundle}: integrity check failed ({len(report.problems)} problems): {details}")
    tag_digest = sha256_file(bundle / TAGMANIFEST)
    info = report.info
    return [
        f"bundle: BagIt 1.0 bag, case {info.get('Internal-Sender-Identifier', '?')}, "
        f"dated {info.get('Bagging-Date', '?')}, "
        f"made by {info.get('Bag-Software-Agent', '?')}",
        f"integrity: OK, {report.payload_files} payload files ({report.payload_bytes:,} bytes) and "
        f"{report.tag_files} tag files match manifest-sha256.txt and tagmanifest-sha256.txt; nothing missing or extra",
        f"tagmanifest-sha256.txt SHA-256: {tag_digest} (compare with a copy received separately)",
        _custody_line(bundle),
    ]


def _custody_problems(bundle: Path) -> list:
    """The custody log must be there, hold one JSON object per line, and end with the `report` record that made
    this bundle, whose recorded SHA-256 of bagit.txt, bag-info.txt and manifest-sha256.txt match the bag's."""
    from forensics.bundle.bag import BagProblem
    from forensics.custody import parse_log

    path = bundle / CUSTODY
    if not path.is_file():
        return [BagProblem(CUSTODY, "missing", "the custody log every bundle carries")]
    try:
        records = parse_log(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        return [BagProblem(CUSTODY, "modified", "not one JSON object per line")]
    if not records or records[-1].get("command") != "report":
        return [BagProblem(CUSTODY, "modified", "does not end with the report record that made this bundle")]
    problems = []
    for entry in records[-1].get("outputs") or []:
        target = bundle / str(entry.get("path"))
        if not target.is_file() or sha256_file(target) != entry.get("sha256"):
            problems.append(BagProblem(str(entry.get("path")), "modified", f"SHA-256 differs from the report record in {CUSTODY}"))
    return problems


def _custody_line(bundle: Path) -> str:
    from forensics.custody import parse_log

    records = parse_log((bundle / CUSTODY).read_bytes())
    last = records[-1]
    return (
        f"custody: {CUSTODY} matches {TAGMANIFEST}; {len(records)} recorded runs, the last the report that made "
        f"this bundle ({last.get('time')}, {last.get('user')}@{last.get('host')}), whose recorded SHA-256 of "
        "bagit.txt, bag-info.txt and manifest-sha256.txt match"
    )


def environment_differences(recorded: dict, running: dict) -> list[str]:
    """The environment fields (Python and dependency versions, not the tool's) whose recorded and running
    values differ, sorted."""
    from forensics.environment import ENVIRONMENT_FIELDS

    return sorted(f for f in ENVIRONMENT_FIELDS if f in recorded or f in running if recorded.get(f) != running.get(f))


def _without_custody_line(tagmanifest: bytes) -> bytes:
    """The tag manifest minus its custody.jsonl entry: the rest must be reproduced exactly."""
    return b"".join(
        line for line in tagmanifest.splitlines(keepends=True) if not line.rstrip(b"\n").endswith(b"  " + CUSTODY.encode())
    )


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def rerun(
    bundle: Path, summary: dict, logs: list[str], key_file: Path, accounts: Path | None, progress: Progress
) -> tuple[list[str], bool]:
    """Re-create the bundle from the logs in a temporary directory; one line per file, ok if all identical."""
    from forensics.bundle.run import build_bundle
    from forensics.detect.run import ClusterParams, run_cluster
    from forensics.ingest import IngestOptions, run_ingest

    params = summary.get("parameters") or {}
    ingest = params.get("ingest") or {}
    report = params.get("report") or {}
    if ingest.get("accounts_file") and accounts is None:
        raise BadInputError(
            f"the bundle was made with an account table ({ingest['accounts_file']}); pass it with --accounts"
        )
    if accounts is not None and not ingest.get("accounts_file"):
        raise BadInputError("the bundle was made without an account table; drop --accounts")
    options = IngestOptions(
        since=ingest.get("since"),
        until=ingest.get("until"),
        epoch_unit=ingest.get("epoch_unit") or "s",
        column_map=dict(ingest.get("column_map") or {}),
        accounts=Path(accounts) if accounts else None,
        key_file=Path(key_file),
    )
    from forensics.bundle.case_metadata import CaseMetadata
    from forensics.environment import ENVIRONMENT_FIELDS, versions

    recorded, running = summary.get("versions") or {}, versions()
    differing = environment_differences(recorded, running)
    lines = []
    substituted = None
    if differing:
        lines.append(
            "environment: this re-run runs under a different environment from the bundle's: "
            + ", ".join(f"{f} {running.get(f, 'absent')} (bundle: {recorded.get(f, 'absent')})" for f in differing)
            + "; the re-run records the bundle's values for these fields and compares everything else byte for byte"
        )
        substituted = {k: v for k, v in recorded.items() if k in ENVIRONMENT_FIELDS}
        substituted["forensics"] = running["forensics"]  # a different tool version is a real difference
    with tempfile.TemporaryDirectory(prefix="forensics-verify-") as tmp:
        case, again = Path(tmp) / "case", Path(tmp) / "bundle"
        run_ingest(list(logs), case, options, progress=progress)
        run_cluster(case, ClusterParams(**(params.get("cluster") or {})), progress=progress)
        build_bundle(
            case, again, title=report.get("title") or summary.get("title"), case_id=report.get("case_id"),
            force=False, progress=progress, recorded_bagging_date=(summary.get("bagging_date"), summary.get("bagging_date_source")),
            metadata=CaseMetadata.from_dict(report), recorded_versions=substituted,
        )
        original, rebuilt = _tree(bundle), _tree(again)
    original.pop(SIGNATURE, None)  # only the private key's holder can re-create a signature
    if CUSTODY in original or CUSTODY in rebuilt:
        original.pop(CUSTODY, None)
        rebuilt.pop(CUSTODY, None)
        lines.append(f"re-run: {CUSTODY} not compared (the custody log records wall-clock time, user and host)")
    for tree in (original, rebuilt):
        if TAGMANIFEST in tree:
            tree[TAGMANIFEST] = _without_custody_line(tree[TAGMANIFEST])
    compared = len(lines)
    for name in sorted(set(original) | set(rebuilt)):
        if name not in rebuilt:
            lines.append(f"re-run: MISSING   {name} (in the bundle, not produced by the re-run)")
        elif name not in original:
            lines.append(f"re-run: EXTRA     {name} (produced by the re-run, not in the bundle)")
        elif original[name] == rebuilt[name]:
            lines.append(f"re-run: identical {name}")
        else:
            lines.append(f"re-run: DIFFERS   {name}")
    files = lines[compared:]
    different = sum(1 for line in files if not line.startswith("re-run: identical"))
    ok = different == 0
    lines.append(
        f"re-run: all {len(files)} files identical" if ok else f"re-run: {different} of {len(files)} files differ"
    )
    if differing and ok:
        lines.append("re-run: identical apart from the environment fields named above")
    return lines, ok


def verify_bundle(
    bundle: Path,
    *,
    logs: list[str] | None = None,
    key_file: Path | None = None,
    accounts: Path | None = None,
    allowed_signers: Path | None = None,
    progress: Progress = SilentProgress(),
) -> dict:
    """Integrity always; the signature with allowed signers; with logs and key, a full re-run.

    Returns {ok, lines}; broken integrity or a bad signature raises BundleInvalidError.
    """
    bundle = Path(bundle)
    if bool(logs) != (key_file is not None):
        raise BadInputError("--logs and --key-file must be given together to re-run the analysis")
    if accounts is not None and not logs:
        raise BadInputError("--accounts is only used with --logs and --key-file")
    if not bundle.is_dir():
        raise BadInputError(f"{bundle}: bundle directory not found")
    lines: list[str] = []
    if key_file is not None:
        from forensics.keys import load_key  # polars: only when there is a key to load

        key = load_key(Path(key_file))
        summary = _read_summary(bundle)
        if summary is None:
            check_integrity(bundle)  # names the damaged summary
            raise BundleInvalidError(f"{bundle}: {SUMMARY} is unreadable")
        if key.fingerprint != summary.get("key_fingerprint"):
            check_integrity(bundle)  # a tampered summary.json is named as such, not blamed on the key
            raise WrongKeyError(
                f"{key_file}: wrong key for this bundle (key fingerprint {key.fingerprint}, bundle was made with "
                f"{summary.get('key_fingerprint')}); nothing was re-run"
            )
        lines.append(f"key: fingerprint {key.fingerprint} matches the bundle")
    lines += check_integrity(bundle)
    if allowed_signers is not None:
        principal = verify_signature(bundle, allowed_signers)
        lines.append(f"signature: good {SIGNATURE} over {TAGMANIFEST}, signed by {principal}")
    elif (bundle / SIGNATURE).is_file():
        lines.append(f"signature: {SIGNATURE} present but not checked (pass --allowed-signers to check it)")
    ok = True
    if logs:
        summary = _read_summary(bundle) or {}
        rerun_lines, ok = rerun(bundle, summary, list(logs), Path(key_file), accounts, progress)
        if (bundle / SIGNATURE).is_file():
            rerun_lines.insert(0, f"re-run: {SIGNATURE} not compared (only the signer can re-create it)")
        lines += rerun_lines
        from forensics.environment import versions

        return {"ok": ok, "lines": lines,
                "environment_differences": environment_differences(summary.get("versions") or {}, versions())}
    return {"ok": ok, "lines": lines}
