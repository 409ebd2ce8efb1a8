"""The command line: argument parsing, help text and output only. Each command calls one stage function."""

from __future__ import annotations

import json
import os
import sys
import traceback
import warnings
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
import typer.core
import typer.main

from forensics import __version__
from forensics.errors import ExitStatus, ForensicsError, ForensicsWarning
from forensics.params import CLUSTER_FLAGS, ClusterParams
from forensics.progress import progress_for

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Forensic analysis of LLM API logs: find coordinated distillation campaigns and write a verifiable evidence bundle.",
)


class _State:
    """What main() needs from the parsed command line: whether to show tracebacks, and the arguments as given
    (recorded in the case's custody log)."""

    debug = False
    argv: list[str] | None = None


def _set_debug(value: bool) -> None:
    if value:
        _State.debug = True


def _argv() -> list[str]:
    """The command line as the custody log records it, credentials cut (see `redact_argv`)."""
    return redact_argv(list(_State.argv if _State.argv is not None else sys.argv[1:]))


# Options whose values may hold a credential, and what of the value is kept.
_SECRET_VALUES = {
    "--spark-conf": lambda value: value.partition("=")[0] + "=<redacted>",  # spark.hadoop.fs.s3a.secret.key=...
    "--spark-remote": lambda value: value.split(";")[0] + (";<redacted>" if ";" in value else ""),  # ;token=...
}


def redact_argv(args: list[str]) -> list[str]:
    """`args` with the values of --spark-conf (all but the key) and --spark-remote (its ;options) cut."""
    out: list[str] = []
    pending = None
    for arg in args:
        if pending is not None:
            out.append(pending(arg))
            pending = None
            continue
        name, sep, value = arg.partition("=")
        if name in _SECRET_VALUES and sep:
            out.append(f"{name}={_SECRET_VALUES[name](value)}")
        else:
            out.append(arg)
            pending = _SECRET_VALUES.get(arg)
    return out


Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Hide progress bars and messages on stderr.")]
AsJson = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON object on stdout and nothing else there (messages go to stderr)."),
]
Debug = Annotated[
    bool,
    typer.Option(
        "--debug", help="On failure, print the full traceback as well as the one-line error.", callback=_set_debug,
        expose_value=False, is_eager=True,
    ),
]
Engine = Annotated[
    str, typer.Option("--engine", metavar="ENGINE", help="Where the row-level passes run: local (this process) or spark.")
]
SparkMaster = Annotated[
    Optional[str],
    typer.Option("--spark-master", metavar="URL", help="With --engine spark: local[N], spark://host:7077, yarn, k8s://..."),
]
SparkRemote = Annotated[
    Optional[str],
    typer.Option("--spark-remote", metavar="URL", help="With --engine spark: a Spark Connect server, sc://host:15002."),
]
SparkConf = Annotated[
    Optional[list[str]],
    typer.Option("--spark-conf", metavar="KEY=VALUE", help="With --engine spark: a Spark setting; repeatable."),
]
KeyFile = Annotated[
    Optional[Path],
    typer.Option("--key-file", metavar="FILE", help="32-byte hex key file (see `forensics keygen`).", dir_okay=False),
]


def _say(message: str, quiet: bool) -> None:
    if not quiet:
        typer.echo(message, err=True)


def _print_json(result: dict) -> None:
    typer.echo(json.dumps(result, sort_keys=True, indent=2, default=str))


def _finish(result: dict, as_json: bool, message: str, quiet: bool) -> None:
    """One JSON object on stdout under --json; otherwise the one-line summary on stderr."""
    if as_json:
        _print_json(result)
    else:
        _say(message, quiet)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"forensics {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True)
    ] = False,
    debug: Debug = False,
) -> None:
    """Forensic analysis of LLM API logs."""


@app.command()
def keygen(
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="Where to write the new key file.", dir_okay=False)],
    as_json: AsJson = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Create a random 32-byte pseudonymisation key, readable only by you (mode 0600).

    \b
    Example:
      forensics keygen --out ~/cases/acme.key
    """
    from forensics.keys import generate_key_file, load_key

    generate_key_file(out)
    fingerprint = load_key(out).fingerprint
    _finish(
        {"key_file": str(out), "key_fingerprint": fingerprint},
        as_json,
        f"wrote key {out} (fingerprint {fingerprint}); store it safely, it re-identifies accounts",
        quiet,
    )


@app.command()
def ingest(
    logs: Annotated[list[str], typer.Argument(metavar="LOGS...", help="Parquet files, directories or globs; with --engine spark, also URIs the cluster reads (s3a://, abfss://, hdfs://...).")],
    case: Annotated[
        Path, typer.Option("--case", metavar="DIR", help="Case directory to create or replace.", file_okay=False)
    ],
    accounts: Annotated[
        Optional[Path], typer.Option("--accounts", metavar="FILE", help="Account table (Parquet).")
    ] = None,
    since: Annotated[
        Optional[str], typer.Option(metavar="DATE", help="Window start, UTC ISO-8601 date or datetime, inclusive.")
    ] = None,
    until: Annotated[
        Optional[str], typer.Option(metavar="DATE", help="Window end, UTC ISO-8601 date or datetime, exclusive.")
    ] = None,
    key_file: KeyFile = None,
    column_map: Annotated[
        Optional[list[str]],
        typer.Option("--map", metavar="CANONICAL=SOURCE", help="Column mapping; repeatable."),
    ] = None,
    map_file: Annotated[
        Optional[Path],
        typer.Option("--map-file", metavar="FILE", help="TOML file with a [columns] table of canonical = source."),
    ] = None,
    epoch_unit: Annotated[str, typer.Option(metavar="UNIT", help="Unit of integer timestamps: s, ms or us.")] = "s",
    engine: Engine = "local",
    spark_master: SparkMaster = None,
    spark_remote: SparkRemote = None,
    spark_conf: SparkConf = None,
    as_json: AsJson = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Validate, pseudonymise and account for every row of the logs; write a case directory.

    \b
    Example:
      forensics ingest logs/ --accounts accounts.parquet --since 2026-04-22 \\
        --until 2026-06-06 --key-file case.key --case cases/acme
      forensics ingest logs/ --engine spark --spark-master spark://host:7077 \\
        --key-file case.key --case cases/acme
    """
    from forensics.engine import spark_target
    from forensics.ingest import IngestOptions, run_ingest
    from forensics.schema import parse_column_map

    options = IngestOptions(
        engine=engine,
        spark=spark_target(engine, spark_master, spark_remote, spark_conf or []),
        since=since,
        until=until,
        epoch_unit=epoch_unit,
        column_map=parse_column_map(column_map or [], map_file),
        accounts=accounts,
        key_file=key_file,
    )
    with progress_for(quiet or as_json) as progress:
        result = run_ingest(logs, case, options, progress=progress, argv=_argv())
    if result.generated_key is not None:
        _say(
            f"warning: no --key-file given; created {result.generated_key}. Store it safely: it re-identifies accounts.",
            quiet and not as_json,
        )
    summary = result.summary
    reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(summary["quarantine_reasons"].items())) or "none"
    _finish(
        summary,
        as_json,
        f"read {summary['rows_read']:,} rows from {len(summary['inputs'])} files: "
        f"{summary['rows_accepted']:,} accepted, {summary['rows_quarantined']:,} quarantined ({reasons}). "
        f"Case: {case}",
        quiet,
    )


@app.command()
def synth(
    out: Annotated[
        Path,
        typer.Option("--out", metavar="DIR", help="Directory to write logs/, accounts.parquet and labels.parquet."),
    ],
    scale: Annotated[
        str, typer.Option(metavar="SCALE", help="tiny, sample, small, medium, quarter, half or seed.")
    ] = "tiny",
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed; the same arguments give the same bytes.")] = 1,
    stealth: Annotated[
        float, typer.Option(metavar="X", help="Campaign tradecraft from 0 (blatant) to 1 (very stealthy).")
    ] = 0.5,
    scenario: Annotated[
        str,
        typer.Option(
            metavar="NAME",
            help="How many hard negatives: default, many-hard-negatives, few-hard-negatives or shared-proxy "
            "(six times the benign customers of the campaigns' proxy pool and relay).",
        ),
    ] = "default",
    family: Annotated[
        Optional[list[str]],
        typer.Option(
            "--family",
            metavar="NAME",
            help="A campaign or hard-negative family to include (repeatable; default: all). Campaigns: "
            "fanout-datacenter, bulk-datacenter, hydra-residential, lowslow-sticky, reseller-relay, agentic. "
            "Hard negatives: eval-org, classroom, platform-relay, university-nat, enterprise-org, wrapper-app, "
            "eval-harness, mobile-cgnat. The benign background is always there; hydra-residential and "
            "reseller-relay bring the benign customers of their proxy pool and relay.",
        ),
    ] = None,
    as_json: AsJson = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Generate a realistic incident: benign background, hard negatives and distillation campaigns.

    \b
    Example:
      forensics synth --out /tmp/incident --scale small --seed 3 --stealth 0.7 \\
        --family hydra-residential --family eval-org --family classroom
    """
    from forensics.synth import generate

    with progress_for(quiet or as_json) as progress:
        summary = generate(out, scale=scale, seed=seed, progress=progress, stealth=stealth, scenario=scenario,
                           families=family or ["all"])
    _finish(
        {**summary, "out": str(out)},
        as_json,
        f"wrote {summary['rows']:,} requests from {summary['accounts']:,} accounts to {out}",
        quiet,
    )


def _option(field: str, text: str):
    """The `forensics cluster` option of a ClusterParams field, under the flag that the report's re-run commands
    print for it (CLUSTER_FLAGS), with a metavariable saying what kind of value it takes."""
    default = getattr(ClusterParams, field)
    metavar = "SECONDS" if field.endswith("_s") else ("N" if isinstance(default, int) else "X")
    return typer.Option(CLUSTER_FLAGS[field], metavar=metavar, help=text)


@app.command()
def cluster(
    case: Annotated[
        Path, typer.Argument(metavar="CASE", help="Case directory written by `forensics ingest`.", file_okay=False)
    ],
    coaction_window_s: Annotated[
        int, _option("coaction_window_s", "Seconds within which two requests with the same prompt co-act.")
    ] = ClusterParams.coaction_window_s,
    min_coaction: Annotated[
        int, _option("min_coaction", "Drop co-action pairs with a lower count.")
    ] = ClusterParams.min_coaction,
    coaction_max_accounts: Annotated[
        int,
        _option(
            "coaction_max_accounts",
            "Skip prompt fingerprints used by more distinct accounts (0: no cap). A prompt sent by more accounts is "
            "public or popular, not a campaign's private work list.",
        ),
    ] = ClusterParams.coaction_max_accounts,
    key_max_accounts: Annotated[
        int,
        _option(
            "key_max_accounts",
            "Drop shared keys (addresses, networks, clock slots, templates, cards) held by more accounts as "
            "ubiquitous (0: no cap).",
        ),
    ] = ClusterParams.key_max_accounts,
    key_all_pairs_max: Annotated[
        int,
        _option("key_all_pairs_max", "A key held by at most this many accounts links every pair of its holders."),
    ] = ClusterParams.key_all_pairs_max,
    key_partners: Annotated[
        int,
        _option(
            "key_partners",
            "In a key held by more accounts, each holder is linked to this many others along a fixed ring.",
        ),
    ] = ClusterParams.key_partners,
    signup_burst_s: Annotated[
        int,
        _option(
            "signup_burst_s",
            "Seconds: accounts with the same signup name stem and email domain, created within one such window, are "
            "linked.",
        ),
    ] = ClusterParams.signup_burst_s,
    sync_bucket_s: Annotated[
        int, _option("sync_bucket_s", "Seconds per clock slot for synchronised activity (at least 60).")
    ] = ClusterParams.sync_bucket_s,
    evidence_scale: Annotated[
        float,
        _option(
            "evidence_scale",
            "Evidence (log10 units) at which a pair's similarity is 0.5; similarity = E / (E + this).",
        ),
    ] = ClusterParams.evidence_scale,
    coaction_evidence: Annotated[
        float, _option("coaction_evidence", "Evidence per co-action match.")
    ] = ClusterParams.coaction_evidence,
    coaction_evidence_max: Annotated[
        float, _option("coaction_evidence_max", "Most evidence co-action gives one pair.")
    ] = ClusterParams.coaction_evidence_max,
    network_evidence_max: Annotated[
        float, _option("network_evidence_max", "Most evidence shared addresses and networks give one pair on their own.")
    ] = ClusterParams.network_evidence_max,
    time_evidence_max: Annotated[
        float, _option("time_evidence_max", "Most evidence synchronised clock slots give one pair on their own.")
    ] = ClusterParams.time_evidence_max,
    behaviour_min_requests: Annotated[
        int, _option("behaviour_min_requests", "Fewest requests for an account to get a behavioural fingerprint.")
    ] = ClusterParams.behaviour_min_requests,
    behaviour_min_cosine: Annotated[
        float, _option("behaviour_min_cosine", "Lowest fingerprint cosine for a behaviour link (0 <= value < 1).")
    ] = ClusterParams.behaviour_min_cosine,
    behaviour_evidence_max: Annotated[
        float, _option("behaviour_evidence_max", "Most evidence a behaviour link gives (at identical fingerprints).")
    ] = ClusterParams.behaviour_evidence_max,
    min_similarity: Annotated[
        float, _option("min_similarity", "Drop account pairs less similar than this before clustering (0..1).")
    ] = ClusterParams.min_similarity,
    top_k: Annotated[
        int, _option("top_k", "Each account keeps links to at most this many most similar accounts.")
    ] = ClusterParams.top_k,
    min_cluster_size: Annotated[
        int, _option("min_cluster_size", "Smallest group HDBSCAN reports.")
    ] = ClusterParams.min_cluster_size,
    min_samples: Annotated[
        int, _option("min_samples", "HDBSCAN's min_samples: how many strong links make an account a core member.")
    ] = ClusterParams.min_samples,
    cluster_epsilon: Annotated[
        float,
        _option(
            "cluster_epsilon",
            "Keep a member in its group while its min-samples-th strongest link has similarity >= 1 - this "
            "(0 <= value < 1); lower values leave more weakly linked accounts ungrouped.",
        ),
    ] = ClusterParams.cluster_epsilon,
    flag_threshold: Annotated[
        float, _option("flag_threshold", "Suspicion score from which a cluster is flagged (0..1).")
    ] = ClusterParams.flag_threshold,
    min_flag_accounts: Annotated[
        int, _option("min_flag_accounts", "Fewest flagged accounts for a group to be flagged.")
    ] = ClusterParams.min_flag_accounts,
    engine: Engine = "local",
    spark_master: SparkMaster = None,
    spark_remote: SparkRemote = None,
    spark_conf: SparkConf = None,
    as_json: AsJson = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Derive account features, build the similarity graph, cluster it and score each cluster.

    Every option but the engine's is recorded in clusters.json and replayed by `forensics verify`; the engine
    changes no output.

    \b
    Example:
      forensics cluster cases/acme --coaction-window 60 --min-coaction 2
      forensics cluster cases/acme --engine spark --spark-master spark://host:7077
    """
    from forensics.detect.run import run_cluster
    from forensics.engine import spark_target

    spark = spark_target(engine, spark_master, spark_remote, spark_conf or [])

    values = dict(locals())
    params = ClusterParams(**{name: values[name] for name in CLUSTER_FLAGS})
    with progress_for(quiet or as_json) as progress:
        summary = run_cluster(case, params, progress=progress, argv=_argv(), spark=spark)
    _finish(summary, as_json, f"{summary['clusters']} clusters, {summary['flagged']} flagged; outputs in {case}", quiet)


def _metadata_option(flag: str, metavar: str, text: str):
    return typer.Option(flag, metavar=metavar, help=text)


@app.command()
def report(
    case: Annotated[
        Path, typer.Argument(metavar="CASE", help="Case directory after `forensics cluster`.", file_okay=False)
    ],
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Bundle directory to create.", file_okay=False)],
    title: Annotated[str, typer.Option(metavar="TEXT", help="Report title.")] = "Distillation campaign evidence report",
    case_id: Annotated[
        Optional[str],
        typer.Option("--case-id", metavar="ID", help="Case identifier (bag-info.txt: Internal-Sender-Identifier)."),
    ] = None,
    source_organization: Annotated[
        Optional[str],
        _metadata_option("--source-organization", "TEXT", "Organisation the logs come from (bag-info.txt: Source-Organization)."),
    ] = None,
    contact_name: Annotated[
        Optional[str], _metadata_option("--contact-name", "TEXT", "Analyst to contact (bag-info.txt: Contact-Name).")
    ] = None,
    contact_email: Annotated[
        Optional[str], _metadata_option("--contact-email", "EMAIL", "Analyst's email (bag-info.txt: Contact-Email).")
    ] = None,
    external_identifier: Annotated[
        Optional[str],
        _metadata_option(
            "--external-identifier", "ID", "Your own reference, e.g. a matter number (bag-info.txt: External-Identifier)."
        ),
    ] = None,
    analysis_date: Annotated[
        Optional[str],
        _metadata_option(
            "--analysis-date", "YYYY-MM-DD", "Date of the analysis (bag-info.txt: Analysis-Date; not the bagging date)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing bundle.")] = False,
    sign: Annotated[
        Optional[Path],
        typer.Option(
            "--sign", metavar="FILE", help="OpenSSH private key: add a detached signature over the tag manifest.",
            dir_okay=False,
        ),
    ] = None,
    as_json: AsJson = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Write the evidence bundle: a BagIt bag with the report, tables, timelines and figures.

    \b
    Example:
      forensics report cases/acme --out bundles/acme --case-id ACME-2026-001 \\
        --source-organization 'Example AI Ltd' --contact-name 'A. Analyst' \\
        --contact-email analyst@example.com --analysis-date 2026-06-10
    """
    from forensics.bundle.case_metadata import CaseMetadata
    from forensics.bundle.run import build_bundle

    metadata = CaseMetadata(
        source_organization=source_organization,
        contact_name=contact_name,
        contact_email=contact_email,
        external_identifier=external_identifier,
        analysis_date=analysis_date,
    )
    with progress_for(quiet or as_json) as progress:
        result = build_bundle(
            case, out, title=title, case_id=case_id, force=force, progress=progress, sign_key=sign,
            metadata=metadata, argv=_argv(),
        )
    signed = ", signed" if result.get("signed") else ""
    _finish({**result, "bundle": str(out)}, as_json, f"wrote evidence bundle {out} ({result['files']} files{signed})", quiet)


@app.command()
def verify(
    bundle: Annotated[
        Path, typer.Argument(metavar="BUNDLE", help="Evidence bundle directory.", file_okay=False)
    ],
    logs: Annotated[
        Optional[list[str]],
        typer.Option("--logs", metavar="PATH", help="Original logs, to re-run the pipeline (repeatable)."),
    ] = None,
    key_file: KeyFile = None,
    accounts: Annotated[
        Optional[Path], typer.Option("--accounts", metavar="FILE", help="Original account table.")
    ] = None,
    allowed_signers: Annotated[
        Optional[Path],
        typer.Option(
            "--allowed-signers", metavar="FILE", help="OpenSSH allowed-signers file: require a good signature.",
            dir_okay=False,
        ),
    ] = None,
    as_json: AsJson = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Check a bundle's integrity; with --logs and --key-file, re-run the pipeline and compare every file.

    With --json, the verdict is one object ({"ok": ..., "lines": [...]}) whenever the bundle was examined, also
    when it fails (exit 3); usage errors print nothing on stdout.

    \b
    Examples:
      forensics verify bundles/acme
      forensics verify bundles/acme --logs logs/ --key-file case.key --accounts accounts.parquet
    """
    from forensics.bundle.verify import verify_bundle
    from forensics.errors import BundleInvalidError

    try:
        with progress_for(quiet or as_json) as progress:
            result = verify_bundle(
                bundle, logs=logs, key_file=key_file, accounts=accounts, allowed_signers=allowed_signers,
                progress=progress,
            )
    except BundleInvalidError as exc:
        if as_json:
            _print_json({"bundle": str(bundle), "ok": False, "lines": [], "error": str(exc)})
        raise
    if as_json:
        _print_json({"bundle": str(bundle), **result})
    else:
        for line in result["lines"]:
            typer.echo(line)
    if not result["ok"]:
        raise BundleInvalidError(f"{bundle}: the re-run did not reproduce every file (see the lines above)")


@app.command()
def reveal(
    case: Annotated[
        Path, typer.Argument(metavar="CASE", help="Case directory after `forensics cluster`.", file_okay=False)
    ],
    logs: Annotated[
        list[str], typer.Argument(metavar="LOGS...", help="The logs the case was ingested from (files, directories, globs).")
    ],
    key_file: Annotated[
        Path,
        typer.Option("--key-file", metavar="FILE", help="The case's key file (its fingerprint must match the case).",
                     dir_okay=False),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", metavar="FILE", help="CSV to create (mode 0600); refused inside a bundle or the case.",
                     dir_okay=False),
    ],
    cluster_ids: Annotated[
        Optional[list[int]],
        typer.Option("--cluster", metavar="ID", help="Only this flagged cluster (repeatable; default: all flagged)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output file.")] = False,
    as_json: AsJson = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """For the key holder: write the raw account IDs of the flagged accounts, to act on them.

    Pseudonyms are re-derived from the logs with the key; the case stores nothing raw. The CSV identifies
    accounts: keep it out of bundles and share it only with those who must act on it.

    \b
    Example:
      forensics reveal cases/acme logs/ --key-file case.key --out ~/private/acme-accounts.csv \\
        --cluster 0 --cluster 2
    """
    from forensics.reveal import reveal_accounts

    with progress_for(quiet or as_json) as progress:
        result = reveal_accounts(
            case, logs, key_file=key_file, out=out, cluster_ids=cluster_ids, force=force, progress=progress,
            argv=_argv(),
        )
    typer.echo(
        f"warning: {out} identifies {result['accounts']:,} accounts by their raw IDs; keep it private "
        "and out of any bundle",
        err=True,
    )
    _finish(result, as_json, f"wrote {result['accounts']:,} accounts of {len(result['clusters'])} flagged clusters to {out}", quiet)


class _Argument(typer.core.TyperArgument):
    """Arguments shown by their metavariable (CASE, LOGS...) in the usage line and the Arguments list, without
    Typer's `{case}` braces and `<list[str]>` type labels."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        return name if self.required else f"[{name}]"

    def _rich_display_name(self) -> str:
        return self.display_name_raw

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


def command() -> Any:
    """The Click command group of the app (Typer's own Click), with every argument shown as _Argument."""
    group = typer.main.get_command(app)
    for sub in group.commands.values():  # type: ignore[attr-defined]
        for param in sub.params:
            if isinstance(param, typer.core.TyperArgument):
                param.__class__ = _Argument
    return group  # type: ignore[return-value]


def process_defaults(command: str | None = None) -> None:
    """Process settings a command runs with; call before numpy or polars is first imported. A value already set in
    the environment wins.

    - numpy asks the kernel for transparent huge pages on every array of 4 MiB or more; on the 2-core VM this
      project is measured on, those faults cost more system time than they save (README, Performance). numpy
      reads the setting once, at its import.
    - ingest allocates and frees about the same memory for every batch, through three allocators: polars'
      jemalloc, pyarrow's mimalloc and glibc's malloc (numpy's and the compiled kernels' arrays). Each would hand
      freed pages back to the system, and touching them again costs a page fault each: ingest has jemalloc and
      glibc keep them, and mimalloc keep them for a second, long enough for the next batch (keeping them for
      good saved few more faults and cost 0.65 GB more). jemalloc and mimalloc read their settings from the
      environment when polars and pyarrow load. Ingest's peak RSS still follows the batch size. cluster gained
      no speed from jemalloc keeping its pages, which raised cluster's peak by over 4 GiB."""
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    if command == "ingest":
        os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:-1,muzzy_decay_ms:-1")
        os.environ.setdefault("MIMALLOC_PURGE_DELAY", "1000")
        keep_freed_heap()


# mallopt's parameters (glibc's malloc.h), and the environment variables that set them at a process's start.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MALLOC_ENVIRONMENT = ("GLIBC_TUNABLES", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_THRESHOLD_")


def keep_freed_heap() -> None:
    """Have glibc's malloc serve blocks of up to 32 MiB (its largest mmap threshold) from the heap and keep the
    heap's free top instead of returning it: by default a block of a few MiB is a fresh mapping, faulted in page
    by page, each time a batch allocates it. Nothing changes where the C library has no mallopt, or where the
    environment already configures malloc."""
    if any(name in os.environ for name in _MALLOC_ENVIRONMENT):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # TypeError: a platform without a process-wide C library handle
        return
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    mallopt(_M_TRIM_THRESHOLD, (1 << 31) - 1)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the one place where errors become exit codes."""
    args = list(sys.argv[1:] if argv is None else argv)
    process_defaults(next((a for a in args if not a.startswith("-")), None))  # nothing has imported numpy yet
    _State.debug, _State.argv = False, args
    warnings.simplefilter("ignore")  # library deprecation chatter is not for users
    warnings.simplefilter("default", ForensicsWarning)
    warnings.showwarning = lambda message, category, *rest: typer.echo(f"warning: {message}", err=True)
    try:
        command().main(args=args, prog_name="forensics", standalone_mode=False)
    except ForensicsError as exc:
        if _State.debug:
            traceback.print_exc()
        typer.echo(f"error: {exc}", err=True)
        return int(exc.exit_code)
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("error: interrupted", err=True)
        return ExitStatus.INTERRUPTED
    except typer.TyperException as exc:  # usage errors from the parser
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            typer.echo(f"error: {exc}", err=True)
        return ExitStatus.BAD_INPUT
    except Exception as exc:  # the last line of defence: never a traceback unless --debug
        if _State.debug:
            traceback.print_exc()
        typer.echo(f"internal error: {type(exc).__name__} (re-run with --debug for details)", err=True)
        return ExitStatus.INTERNAL_ERROR
    return ExitStatus.OK


if __name__ == "__main__":
    sys.exit(main())
