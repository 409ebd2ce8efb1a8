"""`forensics reveal`: for the key holder only, the raw account IDs of the flagged accounts, so that a responder
can act on them (suspend, investigate).

Nothing raw is stored in a case (quarantined rows aside), so the IDs are re-derived: the logs are read with
ingest's own reader (same file discovery, column mapping as recorded in ingest.json, text conversion of IDs),
every non-blank account ID is pseudonymised with the key exactly as ingest does, and the IDs whose pseudonym
the case flagged are kept. Rows that ingest quarantined need no special handling: an ID seen only in
quarantined rows has no pseudonym in the case, so it can never match a flagged account, and blank IDs (ingest's
`missing_account_id`) are skipped before hashing.

Which accounts are flagged comes from the case as `report` decides it: clusters flagged in clusters.json, and
the accounts of clusters.parquet whose `flagged` column is true (the accounts counted as flagged).

The output identifies accounts, so it is created with mode 0600 (a fresh file, never a chmod afterwards) and
refused inside a bundle (a directory with bagit.txt, or below one) and inside a case directory (one with
ingest.json, or below one): bundles must hold no raw identity, and `ingest` replaces a case directory wholesale,
which would silently delete the file. The run is recorded in the case's custody log with the output's SHA-256
only.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from forensics import custody, jsonio
from forensics.bundle.bag import sha256_bytes
from forensics.errors import (
    CaseError,
    LogsMismatchError,
    OutputExistsError,
    UnknownClusterError,
    UnsafeOutputError,
    WrongKeyError,
)
from forensics.fsio import write_bytes_atomic
from forensics.keys import CaseKey, load_key
from forensics.progress import Progress, SilentProgress

ACCOUNT = "account_pseudonym"
REVEAL_HEADERS = ["account_id", "account_pseudonym", "cluster_id", "membership", "role"]


def flagged_accounts(case: Path, cluster_ids: list[int] | None = None) -> tuple[pl.DataFrame, list[int]]:
    """The accounts counted as flagged (account_pseudonym, cluster_id, membership, role), limited to the
    given flagged clusters, and the cluster IDs selected. Unknown or unflagged IDs are refused."""
    case = Path(case)
    if not (case / "ingest.json").is_file():
        raise CaseError(f"{case}: not a case directory (no ingest.json); run `forensics ingest` first")
    if not (case / "clusters.json").is_file() or not (case / "clusters.parquet").is_file():
        raise CaseError(f"{case}: no cluster results; run `forensics cluster` before `reveal`")
    meta = jsonio.read(case / "clusters.json")
    if meta.get("key_fingerprint") != jsonio.read(case / "ingest.json").get("key_fingerprint"):
        raise CaseError(f"{case}: clusters.json was made with a different key than ingest.json; re-run cluster")
    clusters = {int(c["cluster_id"]): bool(c["flagged"]) for c in meta.get("clusters", [])}
    flagged = sorted(cid for cid, is_flagged in clusters.items() if is_flagged)
    selected = flagged
    if cluster_ids:
        for cid in sorted(set(cluster_ids)):
            if cid not in clusters:
                raise UnknownClusterError(
                    f"--cluster {cid}: no such cluster in {case} (flagged clusters: {_ids(flagged)})"
                )
            if not clusters[cid]:
                raise UnknownClusterError(
                    f"--cluster {cid}: cluster {cid} is not flagged; reveal covers flagged clusters only "
                    f"(flagged clusters: {_ids(flagged)})"
                )
        selected = sorted(set(cluster_ids))
    assignment = (
        pl.read_parquet(case / "clusters.parquet", columns=[ACCOUNT, "cluster_id", "membership", "role", "flagged"])
        .filter(pl.col("flagged") & pl.col("cluster_id").is_in(selected))
        .drop("flagged")
        .sort("cluster_id", ACCOUNT)
    )
    return assignment, selected


def _ids(ids: list[int]) -> str:
    return ", ".join(map(str, ids)) or "none"


def check_output_location(out: Path) -> None:
    """Refuse an output inside a bundle or a case directory (see the module docstring)."""
    out = Path(out)
    if out.is_dir():
        raise UnsafeOutputError(f"{out}: is a directory; --out names the CSV file to create")
    parent = out.resolve().parent
    for directory in (parent, *parent.parents):
        if (directory / "bagit.txt").is_file():
            raise UnsafeOutputError(
                f"{out}: inside the bundle {directory}; a bundle must never hold raw account IDs, write it elsewhere"
            )
        if (directory / "ingest.json").is_file():
            raise UnsafeOutputError(
                f"{out}: inside the case directory {directory}, which the report stage reads and the next ingest "
                "replaces wholesale; write it elsewhere"
            )


def raw_account_ids(
    inputs: list, column_map: dict[str, str], key: CaseKey, wanted: set[str], progress: Progress
) -> dict[str, str]:
    """account_pseudonym -> raw account ID for every pseudonym in `wanted` that the logs hold.

    Reads only the account column, in record batches, through ingest's reader, and pseudonymises each batch's
    distinct IDs with ingest's own function (pseudonymise_series).
    """
    from forensics.ingest.discover import open_parquet, with_partitions
    from forensics.ingest.parse import as_text, plan_file
    from forensics.ingest.pseudonymise import pseudonymise_series

    task = progress.task("reveal", total=None)
    wanted_frame = pl.DataFrame({"pseudonym": sorted(wanted)}, schema={"pseudonym": pl.String})
    found: dict[str, str] = {}
    for inp in inputs:
        parquet = open_parquet(inp, inp.path.stat().st_size)
        plan = plan_file(inp, parquet.schema_arrow, column_map)
        source, kind = plan.sources["account_id"], plan.kinds["account_id"]
        columns = [source] if source in parquet.schema_arrow.names else parquet.schema_arrow.names[:1]
        for record_batch in parquet.iter_batches(batch_size=1 << 20, columns=columns, use_threads=False):
            batch = with_partitions(pl.from_arrow(record_batch), inp)  # type: ignore[arg-type]
            ids = batch.select(as_text(source, kind).alias("_account"))["_account"]
            # ingest quarantines null and blank IDs (missing_account_id) before pseudonymising anything
            ids = ids.filter(ids.is_not_null() & (ids.str.strip_chars() != "")).unique()
            pairs = pl.DataFrame({"raw": ids, "pseudonym": pseudonymise_series(ids, key, "account")})
            for raw, pseudonym in pairs.join(wanted_frame, on="pseudonym", how="semi").iter_rows():
                found[pseudonym] = raw
            task.advance(record_batch.num_rows)
    return found


def reveal_accounts(
    case: Path,
    logs: list[str],
    *,
    key_file: Path,
    out: Path,
    cluster_ids: list[int] | None = None,
    force: bool = False,
    progress: Progress = SilentProgress(),
    argv: list[str] | None = None,
) -> dict:
    """Write the CSV of flagged accounts' raw IDs and record the run in the custody log.

    Returns {out, sha256, accounts, clusters, accounts_per_cluster, logs_match_case}; never an ID.
    """
    from forensics.bundle.run import csv_bytes

    case, out = Path(case), Path(out)
    check_output_location(out)
    if out.exists() and not force:
        raise OutputExistsError(f"{out}: already exists; pass --force to replace it")
    ingest = jsonio.read(case / "ingest.json") if (case / "ingest.json").is_file() else {}
    key = load_key(Path(key_file))
    if ingest and key.fingerprint != ingest.get("key_fingerprint"):
        raise WrongKeyError(
            f"{key_file}: wrong key for this case (key fingerprint {key.fingerprint}, case was made with "
            f"{ingest.get('key_fingerprint')})"
        )
    accounts, selected = flagged_accounts(case, cluster_ids)
    column_map = dict((ingest.get("parameters") or {}).get("column_map") or {})
    from forensics.ingest.discover import resolve_inputs

    inputs, _ = resolve_inputs(list(logs))
    raw = raw_account_ids(inputs, column_map, key, set(accounts[ACCOUNT].to_list()), progress)
    missing = accounts.height - len(raw)
    if missing:
        raise LogsMismatchError(
            f"{missing:,} of {accounts.height:,} flagged accounts do not appear in these logs; pass the logs the "
            "case was ingested from"
        )
    rows = sorted(
        ([raw[p], p, int(cid), float(m), role] for p, cid, m, role in accounts.iter_rows()),
        key=lambda row: (row[2], row[0], row[1]),
    )
    data = csv_bytes(REVEAL_HEADERS, rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(out, data, mode=0o600)
    digest = sha256_bytes(data)
    per_cluster = {str(cid): int(n) for cid, n in accounts.group_by("cluster_id").len().sort("cluster_id").iter_rows()}

    log_entries = [custody.file_entry(str(inp.path), inp.path) for inp in inputs]
    recorded = sorted(i["sha256"] for i in ingest.get("inputs", []))
    logs_match = sorted(e["sha256"] for e in log_entries) == recorded
    record = custody.make_record(
        "reveal",
        argv=argv,
        parameters={
            "case": str(case), "logs": list(logs), "key_file": str(key_file), "out": str(out),
            "clusters": selected, "accounts": len(rows), "logs_match_case": logs_match,
        },
        inputs=[
            *log_entries,
            *(custody.file_entry(name, case / name) for name in ("ingest.json", "clusters.json", "clusters.parquet")),
        ],
        outputs=[custody.file_entry(str(out), out, digest)],
        key_fingerprint=ingest.get("key_fingerprint"),
    )
    custody.append(case, record)
    return {
        "out": str(out),
        "sha256": digest,
        "accounts": len(rows),
        "clusters": selected,
        "accounts_per_cluster": per_cluster,
        "logs_match_case": logs_match,
    }
