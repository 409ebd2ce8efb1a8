"""Evidence edges between accounts (row-level work): the facts each kind blocks on, and the edge table.

Each shared-key kind streams the events once into (account code, key, stratum) facts of integers; the
blocking and its chance calibration are in `forensics.detect.blocking`. Keys are 64-bit hashes of pseudonyms or of
times: equal values give equal hashes whatever the case key, so which accounts share a key never depends on
the key. The hash is XXH64 (`hash_key`), defined by its algorithm, so a Spark executor computes the same keys.

| kind | key | stratum | null model |
|---|---|---|---|
| `ip` | an address | its ASN | typical |
| `net` | a /24 (IPv4) or /48 (IPv6) network | its ASN | typical |
| `slot` | a 10-minute clock slot (two grids, half a slot apart) | - | observed |
| `slot_asn` | the same slot on the same ASN | the ASN | observed |
| `template` | a digit-masked prompt, or one of its MinHash band keys | - | observed |
| `skeleton` | a prompt skeleton (function words kept, content masked) | - | observed |
| `opening`, `closing` | a prompt's first or last four words (digit-masked) | - | observed |
| `payment` | a payment fingerprint | - | anomaly |
| `signup` | signup stem + e-mail domain within a signup burst (two grids) | - | anomaly |
| `prompt` | an exact prompt, of requests that ask for reasoning only (scoring counts them; no edges) | - | - |

Co-action edges come from `forensics.detect.coaction` and behaviour edges from `forensics.detect.behaviour`. Edges of every
kind but co-action are undirected and written once with src < dst; co-action edges are directed and written in
both directions, exactly as `coaction_edges` returns them.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from forensics.casefiles import CODED_SCHEMA
from forensics.codes import ACCOUNT, collect_coded, xxh64
from forensics.compiled import compiled
from forensics.detect.blocking import Blocking, BlockingStats, evidence_from_surprise, shared_key_pairs
from forensics.errors import InternalError

# Batches of events whose facts are made at once (the machine this is measured on has two cores).
_BATCH_WORKERS = 2


@dataclass(frozen=True)
class KeyKind:
    """A shared-key evidence kind: where its facts come from and how its keys' popularity is judged."""

    name: str
    null: str
    source: str  # "events" or "accounts"


KEY_KINDS = (
    KeyKind("ip", "typical", "events"),
    KeyKind("net", "typical", "events"),
    KeyKind("slot", "observed", "events"),
    KeyKind("slot_asn", "observed", "events"),
    KeyKind("template", "observed", "events"),
    KeyKind("skeleton", "observed", "events"),
    KeyKind("opening", "observed", "events"),
    KeyKind("closing", "observed", "events"),
    KeyKind("payment", "anomaly", "accounts"),
    KeyKind("signup", "anomaly", "accounts"),
)


@dataclass
class EdgeSet:
    """One edge kind: `coded` holds src/dst account codes (indices into `names`) and the CODED_SCHEMA columns."""

    kind: str
    coded: pl.DataFrame
    names: pl.Series
    stats: BlockingStats

    @property
    def edges(self) -> pl.DataFrame:
        """The same edges with pseudonyms (EDGE_SCHEMA), for small tables and tests."""
        return decode_edges(self.coded.with_columns(pl.lit(self.kind).alias("kind")), self.names)


def decode_edges(coded: pl.DataFrame, names: pl.Series) -> pl.DataFrame:
    """Coded edges (src/dst codes, kind, ...) with pseudonyms, in EDGE_SCHEMA."""
    return coded.select(
        names.gather(coded["src"]).alias("src"),
        names.gather(coded["dst"]).alias("dst"),
        pl.col("kind").cast(pl.String),
        pl.col("count").cast(pl.Int64),
        pl.col("expected").cast(pl.Float64),
        pl.col("surprise").cast(pl.Float64),
        pl.col("weight").cast(pl.Float64),
    )


def hash_key(*fields: pl.Expr) -> pl.Expr:
    """A 64-bit key for equality joins (collisions at 64 bits are negligible): XXH64 with seed 0 of the UTF-8
    text of `fields` (`codes.xxh64`: a pseudonym or fingerprint as it is; a tuple of integers and fingerprints as
    their decimal or hex texts joined by ":", e.g. "<slot>:<asn>"). Null when a field is null."""
    return xxh64(*fields, seed=0)


def _asn_stratum() -> pl.Expr:
    return pl.col("asn").fill_null(0).clip(0, 2**32 - 1).cast(pl.UInt32).alias("stratum")


def _no_stratum() -> pl.Expr:
    return pl.lit(0, dtype=pl.UInt32).alias("stratum")


def event_facts(kind: str, events: pl.LazyFrame | Sequence[pl.LazyFrame], codes: pl.DataFrame, *, slot_s: int = 600) -> pl.DataFrame:
    """(code, key, stratum, rows, reasoning) facts of one events kind (see `event_facts_many`)."""
    return event_facts_many((kind,), events, codes, slot_s=slot_s)[kind]


def _batch_columns(kinds: Sequence[str], slot_s: int) -> list[pl.Expr]:
    """What one read of a batch keeps for `kinds`: 64-bit key hashes, the ASN, times and the reasoning flag."""
    cols = [pl.col("prompt_reasoning").fill_null(False).alias("_r")]
    if {"ip", "net", "slot_asn"} & set(kinds):
        cols.append(pl.col("asn"))
    if {"slot", "slot_asn"} & set(kinds):
        cols.append(pl.col("timestamp").dt.epoch("s").alias("_secs"))
    for kind, col in (("ip", "ip_pseudonym"), ("net", "net_pseudonym"), ("template", "prompt_template_fingerprint"),
                      *GROUP_COLUMNS.items()):
        if kind in kinds:
            cols.append(hash_key(pl.col(col)).alias(f"_k_{kind}"))
    if "template" in kinds:
        cols.append(pl.col("prompt_minhash").alias("_m"))
    return cols


def _kind_rows(kind: str, batch: pl.DataFrame, slot_s: int) -> pl.DataFrame:
    """(code, key, stratum, _r) rows of one kind from a batch read by `_batch_columns`."""
    if kind in ("slot", "slot_asn"):
        # Two grids half a slot apart, told apart by the top bit: a wave across a slot edge matches on one. For
        # slot_asn the key is (slot, ASN) and the ASN is the stratum, so that co-activity is judged within a network.
        source = batch.filter(pl.col("asn").is_not_null()) if kind == "slot_asn" else batch
        stratum = _asn_stratum() if kind == "slot_asn" else _no_stratum()
        parts = []
        for grid, off in ((0, 0), (1, slot_s // 2)):
            slot = ((pl.col("_secs") + off) // slot_s).cast(pl.UInt64) | (grid << 63)
            key = hash_key(slot, pl.col("asn")) if kind == "slot_asn" else slot
            parts.append(source.select("code", key.alias("key"), stratum, "_r"))
        return pl.concat(parts)
    stratum = _asn_stratum() if kind in ("ip", "net") else _no_stratum()
    carried = pl.col(f"_k_{kind}").is_not_null()
    if kind == "prompt":  # what scoring counts of it is how many distinct prompts ask for reasoning
        carried &= pl.col("_r")
    rows = batch.filter(carried).select("code", pl.col(f"_k_{kind}").alias("key"), stratum, "_r")
    if kind != "template":
        return rows
    # The template kind also holds each MinHash band key, told apart by its band position.
    bands = (
        batch.filter(pl.col("_m").is_not_null())
        .select("code", "_m", "_r")
        .with_columns(pl.int_ranges(0, pl.col("_m").list.len()).alias("_band"))
        .explode("_m", "_band", empty_as_null=True)
        .drop_nulls("_m")
        .select("code", hash_key(pl.col("_band"), pl.col("_m")).alias("key"), _no_stratum(), "_r")
    )
    return pl.concat([rows, bands])


def event_facts_many(
    kinds: Sequence[str], events: pl.LazyFrame | Sequence[pl.LazyFrame], codes: pl.DataFrame, *, slot_s: int = 600
) -> dict[str, pl.DataFrame]:
    """(code, key, stratum, rows, reasoning) facts of several events kinds, with each fact's requests and how
    many of them ask for reasoning.

    `events` is a LazyFrame or batches of the event files. Each batch is read once for all `kinds` (its
    accounts coded once) and reduced to one fact per account and key before the next is read (`batch_facts`);
    repeats are summed by `blocking.unique_facts`.
    """
    unknown = [k for k in kinds if k not in EVENT_KINDS]
    if unknown:
        raise ValueError(f"not an events kind: {unknown[0]}")
    batches = [events] if isinstance(events, pl.LazyFrame) else list(events)
    parts: dict[str, list[pl.DataFrame]] = {kind: [] for kind in kinds}
    # Two batches at a time: a batch's facts are compiled loops that release the GIL, run one kind after another,
    # while polars reads the next. Results are taken in batch order.
    with ThreadPoolExecutor(max_workers=_BATCH_WORKERS, thread_name_prefix="cluster-facts") as pool:
        for batch in pool.map(lambda lazy: batch_facts(kinds, lazy, codes, slot_s), batches):
            for kind, facts in batch.items():
                parts[kind].append(facts)
    return {kind: pl.concat(frames) for kind, frames in parts.items()}


def batch_inputs(kinds: Sequence[str], slot_s: int) -> list[str]:
    """The event columns `batch_facts` reads for `kinds` (besides the account)."""
    return sorted({name for expr in _batch_columns(kinds, slot_s) for name in expr.meta.root_names()})


# Kinds whose keys seldom repeat within an account's rows (a prompt's MinHash band keys): their rows go on one
# fact each, since a reduction would sort nearly every row only to sum what unique_facts sums.
_UNREDUCED = ("template",)


def batch_facts(kinds: Sequence[str], events: pl.LazyFrame, codes: pl.DataFrame, slot_s: int) -> dict[str, pl.DataFrame]:
    """The facts of one batch of events, one per (code, key) within each run of an account's rows (one per row
    for `_UNREDUCED` kinds): summing `rows` and `reasoning` and taking the least `stratum` over all of them
    (`blocking.unique_facts`) gives the facts of the case, however the rows were split."""
    batch = collect_coded(events, codes, *_batch_columns(kinds, slot_s))
    out = {}
    for kind in kinds:
        rows = _kind_rows(kind, batch, slot_s)
        if kind in _UNREDUCED:
            out[kind] = rows.select("code", "key", "stratum", pl.lit(1, dtype=pl.UInt32).alias("rows"),
                                    pl.col("_r").cast(pl.UInt32).alias("reasoning"))
            continue
        out[kind] = _account_run_facts(rows)
    return out


def _account_run_facts(rows: pl.DataFrame) -> pl.DataFrame:
    """(code, key, stratum, rows, reasoning) facts of (code, key, stratum, _r) rows, one per key within each run
    of rows of one account. An events file is sorted by account, so a batch holds an account in one run per file
    it spans; `blocking.unique_facts` sums the runs' facts, in whatever order they come."""
    if rows["key"].null_count() or rows["code"].null_count():
        raise InternalError("facts need a key and an account on every row")
    columns = _sum_account_runs(
        rows["code"].to_numpy(), rows["key"].to_numpy(), rows["stratum"].to_numpy(), rows["_r"].cast(pl.UInt32).to_numpy()
    )
    return pl.DataFrame(dict(zip(("code", "key", "stratum", "rows", "reasoning"), columns)))


# Runs of an account's rows up to this long are key-ordered by insertion sort.
_INSERTION_SORT_MAX = 32


@compiled(nogil=True)
def _sum_account_runs(code, key, stratum, flag):
    """For each run of equal codes, its keys sorted, each with its rows counted, its flags summed and the least of
    its strata: an account's stratum on a key is the least of its rows' (an address logged under two ASNs, a /24
    split between two), so that it never depends on the order of the rows."""
    n = len(code)
    out_code = np.empty(n, dtype=np.uint32)
    out_key = np.empty(n, dtype=np.uint64)
    out_stratum = np.empty(n, dtype=np.uint32)
    out_rows = np.empty(n, dtype=np.uint32)
    out_flag = np.empty(n, dtype=np.uint32)
    order = np.empty(n, dtype=np.int64)
    m, i = 0, 0
    while i < n:
        j = i + 1
        while j < n and code[j] == code[i]:
            j += 1
        # Rows in key order: most runs are a few rows (an account's requests in one day's file), which an
        # insertion sort orders without the allocation an argsort makes.
        if j - i <= _INSERTION_SORT_MAX:
            for p in range(i, j):
                q = p
                while q > i and key[order[q - 1]] > key[p]:
                    order[q] = order[q - 1]
                    q -= 1
                order[q] = p
        else:
            order[i:j] = np.argsort(key[i:j]) + i
        p = i
        while p < j:
            k = key[order[p]]
            least, count, flagged = stratum[order[p]], 0, 0
            while p < j and key[order[p]] == k:
                least = min(least, stratum[order[p]])
                count += 1
                flagged += flag[order[p]]
                p += 1
            out_code[m], out_key[m], out_stratum[m], out_rows[m], out_flag[m] = code[i], k, least, count, flagged
            m += 1
        i = j
    return out_code[:m], out_key[:m], out_stratum[:m], out_rows[:m], out_flag[:m]


ACCOUNT_KINDS = ("payment", "signup", "created")
EVENT_KINDS = ("ip", "net", "slot", "slot_asn", "template", "skeleton", "opening", "closing", "user_agent", "system_prompt",
               "prompt")
# Kinds read straight off one events column (fingerprints shared as they are).
GROUP_COLUMNS = {
    "skeleton": "prompt_skeleton_fingerprint",
    "opening": "prompt_opening_fingerprint",
    "closing": "prompt_closing_fingerprint",
    "user_agent": "user_agent_fingerprint",
    "system_prompt": "system_prompt_fingerprint",
    "prompt": "prompt_fingerprint",
}


def account_facts(kind: str, accounts: pl.LazyFrame, codes: pl.DataFrame, *, burst_s: int = 86_400) -> pl.DataFrame:
    """(code, key, stratum, rows, reasoning) facts of an account-table kind (one row each, no reasoning)."""
    if kind == "payment":
        frame = accounts.filter(pl.col("payment_pseudonym").is_not_null()).select(ACCOUNT, hash_key(pl.col("payment_pseudonym")).alias("key"))
    elif kind == "signup":
        frame = signup_facts(accounts, burst_s=burst_s)
    elif kind == "created":
        # The hour of signup: a signup burst concentrates a group's accounts in a few hours.
        frame = accounts.filter(pl.col("created_at").is_not_null()).select(
            ACCOUNT, (pl.col("created_at").dt.epoch("s") // 3600).cast(pl.UInt64).alias("key")
        )
    else:
        raise ValueError(f"not an account kind: {kind}")
    rows = collect_coded(frame, codes, pl.col("key"), _no_stratum())
    return rows.group_by("code", "key").agg(
        pl.col("stratum").min(), pl.len().cast(pl.UInt32).alias("rows"), pl.lit(0, dtype=pl.UInt32).alias("reasoning")
    )


def signup_facts(accounts: pl.LazyFrame, *, burst_s: int) -> pl.LazyFrame:
    """(account, key): the same key for the same signup stem and email domain, created within the same burst
    window (two offset grids): `hash_key` of "<stem>:<domain>:<grid>:<window>"."""
    created = pl.col("created_at").dt.epoch("s")
    base = accounts.filter(
        pl.col("signup_stem_fingerprint").is_not_null()
        & pl.col("email_domain_fingerprint").is_not_null()
        & pl.col("created_at").is_not_null()
    )
    return pl.concat(
        [
            base.select(
                ACCOUNT,
                hash_key(
                    pl.col("signup_stem_fingerprint"),
                    pl.col("email_domain_fingerprint"),
                    pl.lit(grid, dtype=pl.Int64),
                    (created + offset) // burst_s,
                ).alias("key"),
            )
            for grid, offset in ((0, 0), (1, burst_s // 2))
        ]
    )


def key_edges(kind: KeyKind, facts: pl.DataFrame, blocking: Blocking, names: pl.Series, *, prepared: bool = False) -> EdgeSet:
    """The edges of one shared-key kind: pairs whose overlap is unlikely by chance (weight > 0)."""
    accounts = int(facts["code"].n_unique()) if facts.height else 0
    # Pairs whose surprise is below the per-account bound can never be evidence: leave them out early.
    pairs, stats = shared_key_pairs(facts, blocking, null=kind.null, prepared=prepared,
                                    min_surprise=float(np.log10(max(accounts, 2))))
    coded = (
        pairs.with_columns(evidence_from_surprise(pl.col("surprise"), stats.accounts).alias("weight"))
        .filter(pl.col("weight") > 0)
        .select(CODED_SCHEMA.keys())
        .cast(CODED_SCHEMA)
    )
    return EdgeSet(kind.name, coded, names, BlockingStats(coded.height, stats.keys_used, stats.keys_salted,
                                                             stats.keys_dropped, stats.accounts))
