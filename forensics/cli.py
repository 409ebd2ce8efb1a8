"""The command line: argument parsing, help text and output only. Each command calls one stage function."""

from __future__ import annotations

import json
import sys
import traceback
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer

from forensics import __version__
from forensics.errors import ForensicsError, ForensicsWarning
from forensics.params import CLUSTER_FLAGS, ClusterParams
from forensics.progress import progress_for

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Forensic analysis of LLM API logs: find coordinated distillation campaigns and write a verifiable evidence bundle.",
)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Hide progress bars and messages on stderr.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout and nothing else there.")]
KeyFile = Annotated[
    Optional[Path], typer.Option("--key-file", help="32-byte hex key file (see `forensics keygen`).", dir_okay=False)
]


def _say(message: str, quiet: bool) -> None:
    if not quiet:
        typer.echo(message, err=True)


def _print_json(result: dict) -> None:
    typer.echo(json.dumps(result, sort_keys=True, indent=2))


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"forensics {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True)
    ] = False,
) -> None:
    """Forensic analysis of LLM API logs."""


@app.command()
def keygen(
    out: Annotated[Path, typer.Option("--out", help="Where to write the new key file.", dir_okay=False)],
    quiet: Quiet = False,
) -> None:
    """Create a random 32-byte pseudonymisation key, readable only by you (mode 0600).

    Example: forensics keygen --out ~/cases/acme.key
    """
    from forensics.keys import generate_key_file, load_key

    generate_key_file(out)
    _say(f"wrote key {out} (fingerprint {load_key(out).fingerprint}); store it safely, it re-identifies accounts", quiet)


@app.command()
def ingest(
    logs: Annotated[list[str], typer.Argument(help="Parquet files, directories or globs.")],
    case: Annotated[Path, typer.Option("--case", help="Case directory to create or replace.", file_okay=False)],
    accounts: Annotated[Optional[Path], typer.Option("--accounts", help="Account table (Parquet).")] = None,
    since: Annotated[Optional[str], typer.Option(help="Window start, UTC ISO-8601 date or datetime, inclusive.")] = None,
    until: Annotated[Optional[str], typer.Option(help="Window end, UTC ISO-8601 date or datetime, exclusive.")] = None,
    key_file: KeyFile = None,
    column_map: Annotated[
        Optional[list[str]], typer.Option("--map", help="CANONICAL=SOURCE column mapping; repeatable.")
    ] = None,
    map_file: Annotated[
        Optional[Path], typer.Option("--map-file", help="TOML file with a [columns] table of canonical = source.")
    ] = None,
    epoch_unit: Annotated[str, typer.Option(help="Unit of integer timestamps: s, ms or us.")] = "s",
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Validate, pseudonymise and account for every row of the logs; write a case directory.

    Example: forensics ingest logs/ --accounts accounts.parquet --since 2026-04-22 --until 2026-06-06 \\
    --key-file case.key --case cases/acme
    """
    from forensics.ingest import IngestOptions, run_ingest
    from forensics.schema import parse_column_map

    options = IngestOptions(
        since=since,
        until=until,
        epoch_unit=epoch_unit,
        column_map=parse_column_map(column_map or [], map_file),
        accounts=accounts,
        key_file=key_file,
    )
    with progress_for(quiet or as_json) as progress:
        result = run_ingest(logs, case, options, progress=progress)
    if result.generated_key is not None:
        _say(
            f"warning: no --key-file given; created {result.generated_key}. Store it safely: it re-identifies accounts.",
            quiet and not as_json,
        )
    summary = result.summary
    if as_json:
        _print_json(summary)
    else:
        reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(summary["quarantine_reasons"].items())) or "none"
        _say(
            f"read {summary['rows_read']:,} rows from {len(summary['inputs'])} files: "
            f"{summary['rows_accepted']:,} accepted, {summary['rows_quarantined']:,} quarantined ({reasons}). "
            f"Case: {case}",
            quiet,
        )


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Directory to write logs/, accounts.parquet and labels.parquet.")],
    scale: Annotated[str, typer.Option(help="tiny, sample, small, medium, quarter, half or seed.")] = "tiny",
    seed: Annotated[int, typer.Option(help="Random seed; the same arguments give the same bytes.")] = 1,
    stealth: Annotated[float, typer.Option(help="Campaign tradecraft from 0 (blatant) to 1 (very stealthy).")] = 0.5,
    scenario: Annotated[
        str,
        typer.Option(
            help="How many hard negatives: default, many-hard-negatives, few-hard-negatives or shared-proxy "
            "(six times the benign customers of the campaigns' proxy pool and relay)."
        ),
    ] = "default",
    family: Annotated[
        Optional[list[str]],
        typer.Option(
            "--family",
            metavar="<name>",
            help="A campaign or hard-negative family to include (repeatable; default: all). Campaigns: "
            "fanout-datacenter, bulk-datacenter, hydra-residential, lowslow-sticky, reseller-relay, agentic. "
            "Hard negatives: eval-org, classroom, platform-relay, university-nat, enterprise-org, wrapper-app, "
            "eval-harness, mobile-cgnat. The benign background is always there; hydra-residential and "
            "reseller-relay bring the benign customers of their proxy pool and relay.",
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Generate a realistic incident: benign background, hard negatives and distillation campaigns.

    Example: forensics synth --out /tmp/incident --scale small --seed 3 --stealth 0.7 --family hydra-residential
    --family eval-org --family classroom
    """
    from forensics.synth import generate

    with progress_for(quiet) as progress:
        summary = generate(out, scale=scale, seed=seed, progress=progress, stealth=stealth, scenario=scenario,
                           families=family or ["all"])
    _say(f"wrote {summary['rows']:,} requests from {summary['accounts']:,} accounts to {out}", quiet)


def _option(field: str, text: str):
    """The `forensics cluster` option of a ClusterParams field, under the flag that the report's re-run commands
    print for it (CLUSTER_FLAGS)."""
    return typer.Option(CLUSTER_FLAGS[field], help=text)


@app.command()
def cluster(
    case: Annotated[Path, typer.Argument(help="Case directory written by `forensics ingest`.", file_okay=False)],
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
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Derive account features, build the similarity graph, cluster it and score each cluster.

    Every option is recorded in clusters.json and replayed by `forensics verify`.

    Example: forensics cluster cases/acme --coaction-window 60 --min-coaction 2
    """
    from forensics.cluster import run_cluster

    values = dict(locals())
    params = ClusterParams(**{name: values[name] for name in CLUSTER_FLAGS})
    with progress_for(quiet or as_json) as progress:
        summary = run_cluster(case, params, progress=progress)
    if as_json:
        _print_json(summary)
    else:
        _say(f"{summary['clusters']} clusters, {summary['flagged']} flagged; outputs in {case}", quiet)


@app.command()
def report(
    case: Annotated[Path, typer.Argument(help="Case directory after `forensics cluster`.", file_okay=False)],
    out: Annotated[Path, typer.Option("--out", help="Bundle directory to create.", file_okay=False)],
    title: Annotated[str, typer.Option(help="Report title.")] = "Distillation campaign evidence report",
    case_id: Annotated[Optional[str], typer.Option("--case-id", help="Case identifier recorded in bag-info.txt.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing bundle.")] = False,
    sign: Annotated[
        Optional[Path],
        typer.Option("--sign", help="OpenSSH private key: add a detached signature over the tag manifest.", dir_okay=False),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Write the evidence bundle: a BagIt bag with the report, tables, timelines and figures.

    Example: forensics report cases/acme --out bundles/acme --case-id ACME-2026-001 --sign ~/.ssh/id_ed25519
    """
    from forensics.report import build_bundle

    with progress_for(quiet) as progress:
        result = build_bundle(case, out, title=title, case_id=case_id, force=force, progress=progress, sign_key=sign)
    signed = ", signed" if result.get("signed") else ""
    _say(f"wrote evidence bundle {out} ({result['files']} files{signed})", quiet)


@app.command()
def verify(
    bundle: Annotated[Path, typer.Argument(help="Evidence bundle directory.", file_okay=False)],
    logs: Annotated[Optional[list[str]], typer.Option("--logs", help="Original logs, to re-run the pipeline.")] = None,
    key_file: KeyFile = None,
    accounts: Annotated[Optional[Path], typer.Option("--accounts", help="Original account table.")] = None,
    allowed_signers: Annotated[
        Optional[Path],
        typer.Option("--allowed-signers", help="OpenSSH allowed-signers file: require a good signature.", dir_okay=False),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Check a bundle's integrity; with --logs and --key-file, re-run the pipeline and compare every file.

    Example: forensics verify bundles/acme --logs logs/ --key-file case.key --accounts accounts.parquet
    """
    from forensics.errors import BundleInvalidError
    from forensics.verify import verify_bundle

    with progress_for(quiet) as progress:
        result = verify_bundle(
            bundle, logs=logs, key_file=key_file, accounts=accounts, allowed_signers=allowed_signers, progress=progress
        )
    for line in result["lines"]:
        typer.echo(line)
    if not result["ok"]:
        raise BundleInvalidError(f"{bundle}: the re-run did not reproduce every file (see the lines above)")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the one place where errors become exit codes."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    warnings.simplefilter("ignore")  # library deprecation chatter is not for users
    warnings.simplefilter("default", ForensicsWarning)
    warnings.showwarning = lambda message, category, *rest: typer.echo(f"warning: {message}", err=True)
    try:
        app(args=args, prog_name="forensics", standalone_mode=False)
    except ForensicsError as exc:
        if debug:
            traceback.print_exc()
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("error: interrupted", err=True)
        return 130
    except typer.TyperException as exc:  # usage errors from the parser
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            typer.echo(f"error: {exc}", err=True)
        return 2
    except Exception as exc:  # the last line of defence: never a traceback unless --debug
        if debug:
            traceback.print_exc()
        typer.echo(f"internal error: {type(exc).__name__} (re-run with --debug for details)", err=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
