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

from dataclasses import dataclass, field

import polars as pl

ACCOUNT = "account_pseudonym"
EDGE_SCHEMA = {"src": pl.String, "dst": pl.String, "kind": pl.String, "count": pl.Int64, "weight": pl.Float64}
IDF_C = 1.5


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
    edges: pl.DataFrame
    stats: dict[str, KindStats] = field(default_factory=dict)


def empty_edges() -> pl.DataFrame:
    return pl.DataFrame(schema=EDGE_SCHEMA)


def shared_key_edges(facts: pl.LazyFrame, *, kind: str, max_accounts: int, min_count: int = 1) -> EdgeSet:
    """Pairs of accounts sharing keys. `facts` has columns account_pseudonym, key (duplicates allowed).

    count = number of distinct shared keys; weight = sum over them of 1/log(degree + IDF_C).
    `max_accounts` 0 means no cap.
    """
    facts = facts.select(ACCOUNT, pl.col("key").cast(pl.String)).drop_nulls().unique()
    degree = facts.group_by("key").agg(pl.len().alias("_deg"))
    key_stats = degree.select(
        ((pl.col("_deg") >= 2) & ((pl.col("_deg") <= max_accounts) | (max_accounts == 0))).sum().alias("used"),
        ((pl.col("_deg") > max_accounts) & (max_accounts > 0)).sum().alias("skipped"),
    )
    keep = degree.filter(pl.col("_deg") >= 2)
    if max_accounts > 0:
        keep = keep.filter(pl.col("_deg") <= max_accounts)
    held = facts.join(keep, on="key", how="inner")
    pairs = (
        held.join(held.select(pl.col(ACCOUNT).alias("dst"), "key"), on="key", how="inner")
        .rename({ACCOUNT: "src"})
        .filter(pl.col("src") < pl.col("dst"))
        .group_by("src", "dst")
        .agg(
            pl.len().cast(pl.Int64).alias("count"),
            (1.0 / (pl.col("_deg").cast(pl.Float64) + IDF_C).log()).sum().alias("weight"),
        )
        .filter(pl.col("count") >= min_count)
        .select("src", "dst", pl.lit(kind).alias("kind"), "count", "weight")
        .sort("src", "dst")
    )
    edges, ks = pl.collect_all([pairs, key_stats])
    stats = KindStats(pairs=edges.height, keys_used=int(ks["used"][0] or 0), keys_skipped=int(ks["skipped"][0] or 0))
    return EdgeSet(edges.cast(EDGE_SCHEMA), {kind: stats})


def ip_day_facts(events: pl.LazyFrame) -> pl.LazyFrame:
    """Same IP address on the same UTC day."""
    return events.filter(pl.col("ip_pseudonym").is_not_null()).select(
        ACCOUNT, pl.concat_str(pl.col("ip_pseudonym"), pl.col("timestamp").dt.date().cast(pl.String), separator="|").alias("key")
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
    grids = []
    for grid, offset in (("a", 0), ("b", burst_s // 2)):
        grids.append(
            base.select(
                ACCOUNT,
                pl.concat_str(
                    pl.col("signup_stem_fingerprint"),
                    pl.col("email_domain_fingerprint"),
                    pl.lit(grid),
                    ((created + offset) // burst_s).cast(pl.String),
                    separator="|",
                ).alias("key"),
            )
        )
    return pl.concat(grids)


def template_facts(events: pl.LazyFrame) -> pl.LazyFrame:
    """Near-duplicate prompts: the masked template fingerprint and each MinHash-LSH band key are blocking keys."""
    tmpl = events.select(ACCOUNT, pl.concat_str(pl.lit("t|"), pl.col("prompt_template_fingerprint")).alias("key"))
    bands = (
        events.select(ACCOUNT, pl.col("prompt_minhash"))
        .filter(pl.col("prompt_minhash").is_not_null())
        .with_columns(pl.int_ranges(0, pl.col("prompt_minhash").list.len()).alias("_band"))
        .explode("prompt_minhash", "_band", empty_as_null=True)
        .select(
            ACCOUNT,
            pl.concat_str(pl.lit("b"), pl.col("_band").cast(pl.String), pl.lit("|"), pl.col("prompt_minhash").cast(pl.String)).alias(
                "key"
            ),
        )
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
) -> EdgeSet:
    """SynchroTrap-style synchronised activity: Jaccard over (time bucket, key) tokens.

    Tokens are built on two grids offset by half a bucket so a wave that straddles a bucket edge still
    matches on one of them; a pair's similarity is the larger of its two Jaccard values. Tokens held by
    more than `max_accounts` accounts are skipped (a busy NAT in a busy minute is no evidence).
    """
    secs = pl.col("timestamp").dt.epoch("s")
    base = events.filter(pl.col(key_col).is_not_null())
    tokens = pl.concat(
        [
            base.select(
                ACCOUNT,
                pl.lit(grid).alias("_grid"),
                pl.concat_str(((secs + offset) // bucket_s).cast(pl.String), pl.col(key_col).cast(pl.String), separator="|").alias(
                    "key"
                ),
            )
            for grid, offset in (("a", 0), ("b", bucket_s // 2))
        ]
    ).unique()
    sizes = tokens.group_by(ACCOUNT, "_grid").agg(pl.len().alias("_n"))
    degree = tokens.group_by("_grid", "key").agg(pl.len().alias("_deg"))
    key_stats = degree.select(
        ((pl.col("_deg") >= 2) & ((pl.col("_deg") <= max_accounts) | (max_accounts == 0))).sum().alias("used"),
        ((pl.col("_deg") > max_accounts) & (max_accounts > 0)).sum().alias("skipped"),
    )
    keep = degree.filter(pl.col("_deg") >= 2)
    if max_accounts > 0:
        keep = keep.filter(pl.col("_deg") <= max_accounts)
    held = tokens.join(keep.select("_grid", "key"), on=["_grid", "key"], how="inner")
    shared = (
        held.join(held.select(pl.col(ACCOUNT).alias("dst"), "_grid", "key"), on=["_grid", "key"], how="inner")
        .rename({ACCOUNT: "src"})
        .filter(pl.col("src") < pl.col("dst"))
        .group_by("src", "dst", "_grid")
        .agg(pl.len().alias("_shared"))
        .join(sizes.rename({ACCOUNT: "src", "_n": "_ns"}), on=["src", "_grid"])
        .join(sizes.rename({ACCOUNT: "dst", "_n": "_nd"}), on=["dst", "_grid"])
        .with_columns((pl.col("_shared") / (pl.col("_ns") + pl.col("_nd") - pl.col("_shared"))).alias("_jac"))
        .sort("src", "dst", "_jac", "_shared", descending=[False, False, True, True])
        .group_by("src", "dst", maintain_order=True)
        .agg(pl.col("_shared").first().cast(pl.Int64).alias("count"), pl.col("_jac").first().alias("weight"))
        .filter((pl.col("count") >= min_shared) & (pl.col("weight") >= min_jaccard))
        .select("src", "dst", pl.lit(kind).alias("kind"), "count", "weight")
        .sort("src", "dst")
    )
    edges, ks = pl.collect_all([shared, key_stats])
    stats = KindStats(pairs=edges.height, keys_used=int(ks["used"][0] or 0), keys_skipped=int(ks["skipped"][0] or 0))
    return EdgeSet(edges.cast(EDGE_SCHEMA), {kind: stats})
