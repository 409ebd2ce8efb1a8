"""Evidence edges between accounts, each kind found by blocking on shared keys (row-level work).

Every kind reduces to a table of (account, key) facts. A key held by `d` accounts yields the d*(d-1)/2
pairs of its holders via a polars self-join on the key, so the cost is the sum of d^2 over keys, never
all account pairs. Keys held by more than `max_accounts` accounts carry little evidence (a CGNAT address,
the prompt "hi") and are skipped and counted; the others weigh 1/log(d + c) each (FRAUDAR-style), so a key
shared by two accounts weighs ~0.72 and one shared by 50 ~0.25.

Edges of these kinds are undirected and written once with src < dst. Co-action edges are directed and
written in both directions, exactly as `forensics.coaction.coaction_edges` returns them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from forensics.codes import ACCOUNT, account_codes, collect_coded, decode

# The edge table as written to edges.parquet (pseudonyms), and as the cluster stage holds it (account codes;
# `kind` an Enum in alphabetical order, so sorting by it sorts by the kind's name).
EDGE_SCHEMA = {"src": pl.String, "dst": pl.String, "kind": pl.String, "count": pl.Int64, "weight": pl.Float64}
EDGE_KINDS = ("coaction", "ip_day", "net", "payment", "signup", "sync", "template")
KIND = pl.Enum(EDGE_KINDS)
CODED_SCHEMA = {"src": pl.UInt32, "dst": pl.UInt32, "count": pl.Int64, "weight": pl.Float64}
IDF_C = 1.5
_WEIGHT_SCALE = 1e9
_SHIFT = 1 << 32
# Facts sorted at once when deduplicating (~12 bytes each): bounds the sort's memory to a few hundred MB.
_FACTS_PER_SLICE = 1 << 24


@dataclass(frozen=True)
class KindStats:
    """Per edge kind: undirected pairs found, keys that linked accounts, keys skipped for high degree."""

    pairs: int = 0
    keys_used: int = 0
    keys_skipped: int = 0

    def as_dict(self) -> dict:
        return {"pairs": self.pairs, "keys_used": self.keys_used, "keys_skipped": self.keys_skipped}


@dataclass
class EdgeSet:
    """One edge kind: `coded` holds src/dst account codes (indices into `names`), count and weight."""

    kind: str
    coded: pl.DataFrame
    names: pl.Series
    stats: dict[str, KindStats]

    @property
    def edges(self) -> pl.DataFrame:
        """The same edges with pseudonyms (EDGE_SCHEMA), for small tables and tests."""
        return decode_edges(self.coded.with_columns(pl.lit(self.kind).alias("kind")), self.names)


def decode_edges(coded: pl.DataFrame, names: pl.Series) -> pl.DataFrame:
    """Coded edges (src/dst codes, kind, count, weight) with pseudonyms, in EDGE_SCHEMA."""
    return coded.select(
        names.gather(coded["src"]).alias("src"),
        names.gather(coded["dst"]).alias("dst"),
        pl.col("kind").cast(pl.String),
        pl.col("count").cast(pl.Int64),
        pl.col("weight").cast(pl.Float64),
    )


def _hash_key(expr: pl.Expr) -> pl.Expr:
    # Only used to join equal keys inside one run; collisions at 64 bits are negligible.
    return expr.hash(seed=0)


def _pairs_from_facts(
    facts: pl.LazyFrame, codes: pl.DataFrame, max_accounts: int, group_cols: tuple[str, ...] = ()
) -> tuple[pl.LazyFrame, tuple[int, int], pl.DataFrame]:
    """(pairs, key_counts, sizes) from (account, key) facts.

    pairs: src/dst codes (src < dst), group_cols, `_n` shared keys, `_w` IDF weight sum; key_counts: keys
    used and keys skipped for their degree; sizes: distinct keys per (code, group_cols) as `_size`.
    `group_cols` must be a function of the key (sync tokens carry their grid inside the key).
    The facts are collected once as integers and sorted by (key, account): deduplication and key degrees
    are then runs of that order. Hash-based unique() and group_by() over tens of millions of keys
    would cost several times the memory.
    """
    key_cols = [*group_cols, "_k"]
    held = collect_coded(facts, codes, *[pl.col(c) for c in group_cols], _hash_key(pl.col("key")).alias("_k"))
    # Keys are processed in disjoint slices by hash, so the sorts below hold one slice at a time.
    slices = max(1, -(-held.height // _FACTS_PER_SLICE))
    parts = (
        [held]
        if slices == 1
        else held.with_columns((pl.col("_k") % slices).alias("_slice")).partition_by("_slice", include_key=False, maintain_order=False)
    )
    del held
    used = skipped = 0
    sizes_parts, linked_parts = [], []
    while parts:
        part = parts.pop()
        # Two stable single-column sorts are about twice as fast as one sort on (key, code); group_cols are
        # a function of the key, so runs of `_k` are runs of (group_cols, key).
        part = part.sort("code").sort("_k", maintain_order=True)
        part = part.filter(_changed(["_k", "code"]))
        runs = part.select(_changed(["_k"]).cum_sum().rle())["_k"].struct.field("len").to_numpy()
        capped = (runs > max_accounts) if max_accounts > 0 else np.zeros(len(runs), dtype=bool)
        used += int(((runs >= 2) & ~capped).sum())
        skipped += int(capped.sum())
        sizes_parts.append(part.group_by("code", *group_cols).agg(pl.len().alias("_size")))
        degree = pl.Series("_deg", np.repeat(runs, runs))
        keep = (degree >= 2) & ~pl.Series(np.repeat(capped, runs))
        # Per-key weight as a fixed-point integer: the per-pair sum is then exact and independent of
        # summation order (and so of thread count).
        linked_parts.append(
            part.with_columns(degree).filter(keep).select(
                "code", *key_cols, (_WEIGHT_SCALE / (pl.col("_deg").cast(pl.Float64) + IDF_C).log()).round().cast(pl.Int64).alias("_wi")
            )
        )
        del part, degree, keep
    sizes = pl.concat(sizes_parts).group_by("code", *group_cols).agg(pl.col("_size").sum())
    linked = pl.concat(linked_parts)
    del sizes_parts, linked_parts
    # Pairs are counted on one UInt64 key (src << 32 | dst): grouping on a single integer column is several
    # times cheaper than on two.
    pairs = (
        linked.lazy()
        .join(linked.lazy().select(pl.col("code").alias("_d"), *key_cols), on=key_cols, how="inner")
        .filter(pl.col("code") < pl.col("_d"))
        .select((pl.col("code").cast(pl.UInt64) * _SHIFT + pl.col("_d")).alias("_pair"), *group_cols, "_wi")
        .group_by("_pair", *group_cols)
        .agg(pl.len().cast(pl.Int64).alias("_n"), (pl.col("_wi").sum() / _WEIGHT_SCALE).alias("_w"))
        .select(
            (pl.col("_pair") // _SHIFT).cast(pl.UInt32).alias("src"),
            (pl.col("_pair") % _SHIFT).cast(pl.UInt32).alias("dst"),
            *group_cols,
            "_n",
            "_w",
        )
    )
    return pairs, (used, skipped), sizes


def _changed(cols: list[str]) -> pl.Expr:
    """True where a row differs from the previous one in any of `cols` (and on the first row)."""
    return pl.any_horizontal(*[pl.col(c) != pl.col(c).shift() for c in cols]).fill_null(True).alias(cols[-1])


def _codes_for(facts: pl.LazyFrame, codes: pl.DataFrame | None) -> pl.DataFrame:
    return codes if codes is not None else account_codes(facts)


def _edge_set(kind: str, edges: pl.LazyFrame, codes: pl.DataFrame, key_counts: tuple[int, int]) -> EdgeSet:
    coded = edges.collect(engine="streaming").sort("src", "dst").cast(CODED_SCHEMA)
    stats = KindStats(pairs=coded.height, keys_used=key_counts[0], keys_skipped=key_counts[1])
    return EdgeSet(kind, coded, decode(codes), {kind: stats})


def shared_key_edges(
    facts: pl.LazyFrame,
    *,
    kind: str,
    max_accounts: int,
    min_count: int = 1,
    codes: pl.DataFrame | None = None,
    normalize: bool = False,
) -> EdgeSet:
    """Pairs of accounts sharing keys. `facts` has columns account_pseudonym, key (duplicates allowed).

    count = number of distinct shared keys; weight = sum over them of 1/log(degree + IDF_C), divided, with
    `normalize`, by sqrt(keys of src * keys of dst) (cosine-style). Normalising matters for network keys: two
    users behind one NAT share most of their IP-days, while a rotating-proxy account shares a handful of its
    hundreds of IP-days with each other customer of the same proxy pool.
    `max_accounts` 0 means no cap. `codes` (from `account_codes`) numbers the accounts; by default the
    accounts in `facts`.
    """
    facts = facts.select(ACCOUNT, pl.col("key")).drop_nulls()
    codes = _codes_for(facts, codes)
    pairs, key_counts, sizes = _pairs_from_facts(facts, codes, max_accounts)
    if normalize:
        sizes = sizes.lazy().select("code", pl.col("_size").cast(pl.Float64))
        pairs = (
            pairs.join(sizes.rename({"code": "src", "_size": "_ns"}), on="src")
            .join(sizes.rename({"code": "dst", "_size": "_nd"}), on="dst")
            .with_columns((pl.col("_w") / (pl.col("_ns") * pl.col("_nd")).sqrt()).alias("_w"))
        )
    edges = pairs.filter(pl.col("_n") >= min_count).select("src", "dst", pl.col("_n").alias("count"), pl.col("_w").alias("weight"))
    return _edge_set(kind, edges, codes, key_counts)


def ip_day_facts(events: pl.LazyFrame) -> pl.LazyFrame:
    """Same IP address on the same UTC day."""
    return events.filter(pl.col("ip_pseudonym").is_not_null()).select(
        ACCOUNT, pl.struct(pl.col("ip_pseudonym"), pl.col("timestamp").dt.date()).alias("key")
    )


def net_facts(events: pl.LazyFrame) -> pl.LazyFrame:
    """Same /24 (IPv4) or /48 (IPv6) prefix at any time in the case."""
    return events.select(ACCOUNT, pl.col("net_pseudonym").alias("key"))


def payment_facts(accounts: pl.LazyFrame) -> pl.LazyFrame:
    return accounts.select(ACCOUNT, pl.col("payment_pseudonym").alias("key"))


def signup_facts(accounts: pl.LazyFrame, *, burst_s: int) -> pl.LazyFrame:
    """Same signup stem and email domain, created within the same burst window (two offset grids)."""
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
                pl.struct(
                    pl.col("signup_stem_fingerprint"),
                    pl.col("email_domain_fingerprint"),
                    pl.lit(grid, dtype=pl.Int64).alias("_grid"),
                    ((created + offset) // burst_s).alias("_burst"),
                ).alias("key"),
            )
            for grid, offset in ((0, 0), (1, burst_s // 2))
        ]
    )


def template_facts(events: pl.LazyFrame) -> pl.LazyFrame:
    """Near-duplicate prompts: the masked template fingerprint and each MinHash-LSH band key are blocking keys.

    A band key matches only at the same band position; keys are hashed to UInt64 to share one column.
    """
    tmpl = events.filter(pl.col("prompt_template_fingerprint").is_not_null()).select(
        ACCOUNT, _hash_key(pl.col("prompt_template_fingerprint")).alias("key")
    )
    bands = (
        events.select(ACCOUNT, pl.col("prompt_minhash"))
        .filter(pl.col("prompt_minhash").is_not_null())
        .with_columns(pl.int_ranges(0, pl.col("prompt_minhash").list.len()).alias("_band"))
        .explode("prompt_minhash", "_band", empty_as_null=True)
        .select(ACCOUNT, _hash_key(pl.struct("_band", "prompt_minhash")).alias("key"))
    )
    return pl.concat([tmpl, bands])


def sync_edges(
    events: pl.LazyFrame,
    *,
    bucket_s: int,
    key_col: str,
    max_accounts: int,
    min_shared: int,
    min_jaccard: float,
    kind: str = "sync",
    codes: pl.DataFrame | None = None,
) -> EdgeSet:
    """SynchroTrap-style synchronised activity: Jaccard over (time bucket, key) tokens.

    Tokens are built on two grids offset by half a bucket so a wave that straddles a bucket edge still
    matches on one of them; a pair's similarity is the larger of its two Jaccard values (count = the shared
    tokens on that grid). Tokens held by more than `max_accounts` accounts are skipped (a busy NAT in a busy
    minute is no evidence) but still count in each account's token total.
    """
    secs = pl.col("timestamp").dt.epoch("s")
    base = events.filter(pl.col(key_col).is_not_null())
    codes = _codes_for(base, codes)
    tokens = pl.concat(
        [
            base.select(
                ACCOUNT,
                pl.lit(grid, dtype=pl.UInt8).alias("_grid"),
                pl.struct(pl.lit(grid, dtype=pl.UInt8).alias("_g"), ((secs + offset) // bucket_s).alias("_b"), pl.col(key_col)).alias("key"),
            )
            for grid, offset in ((0, 0), (1, bucket_s // 2))
        ]
    )
    pairs, key_counts, sizes = _pairs_from_facts(tokens, codes, max_accounts, group_cols=("_grid",))
    sizes = sizes.lazy()
    shared = (
        pairs.join(sizes.rename({"code": "src", "_size": "_ns"}), on=["src", "_grid"])
        .join(sizes.rename({"code": "dst", "_size": "_nd"}), on=["dst", "_grid"])
        .with_columns((pl.col("_n") / (pl.col("_ns") + pl.col("_nd") - pl.col("_n"))).alias("_jac"))
        .sort("src", "dst", "_jac", "_n", descending=[False, False, True, True])
        .group_by("src", "dst", maintain_order=True)
        .agg(pl.col("_n").first().alias("count"), pl.col("_jac").first().alias("weight"))
        .filter((pl.col("count") >= min_shared) & (pl.col("weight") >= min_jaccard))
    )
    return _edge_set(kind, shared, codes, key_counts)
