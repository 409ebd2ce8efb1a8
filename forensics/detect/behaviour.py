"""Behavioural fingerprints: accounts that behave near-identically are linked even when they share no key.

Each account with at least `min_requests` requests gets a vector of blocks, each centred on the case's mean
and scaled to unit length, so that no block outweighs the others and what two accounts share with everybody
(a daytime peak, the popular model) does not make them similar:
- time of day at 10-minute resolution (144 bins) and the weekly rhythm (7 days);
- prompt shape: a 32-bin sketch of the prompt skeletons it used, its mean prompt length (log), and its share
  of reasoning requests;
- model mix (shares of 8 bins of models, by splitmix64 of the name's XXH64) and how soon it took up a newly
  released model;
- the output/input token ratio (log);
- user agents (a 16-bin sketch).

Nearest neighbours come from random-hyperplane LSH (fixed seed): `tables` hash tables of `bits` sign bits
each; accounts in one bucket are candidates, and in buckets larger than `2 * partners` each account meets
only its `partners` nearest along the salting ring (`AccountOrder`), so the cost stays linear. Candidates
are scored by exact cosine, and each account keeps its `neighbours` most similar above `min_cosine`.

A behaviour link is evidence of likeness, not of a shared resource: on its own it gives a pair at most
`behaviour_evidence_max`, and the report never flags a group on behaviour alone (its coordination must come
from a shared key; see `forensics.detect.score`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from forensics.codes import AccountOrder, collect_coded, mix64, sorted_unique, xxh64
from forensics.detect.groups import FactStore

SLOTS_PER_DAY = 144
SKELETON_BINS = 32
UA_BINS = 16
MODEL_BINS = 8
_SEED = 20260422
_CHUNK = 1 << 15


@dataclass(frozen=True)
class BehaviourParams:
    min_requests: int = 20
    tables: int = 12
    bits: int = 14
    partners: int = 12
    neighbours: int = 10
    min_cosine: float = 0.9
    evidence_max: float = 4.0


def _unit_rows(block: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Centre a block on its column means and scale each row to unit length (zero rows stay zero)."""
    block = block - block.mean(axis=0, keepdims=True)
    norm = np.linalg.norm(block, axis=1, keepdims=True)
    return np.divide(block, norm, out=np.zeros_like(block), where=norm > 0)


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, total, out=np.zeros_like(counts, dtype=np.float64), where=total > 0)


def _sketch(store: FactStore, kind: str, codes: np.ndarray, bins: int) -> np.ndarray:
    """Per account in `codes` (sorted), the share of its requests in each bin of the kind's keys.

    A key's bin is a hash of what the logs say about the key (how many accounts hold it, how many requests use
    it), never of its keyed fingerprint, so the sketch is the same under any case key: two accounts working the
    same templates put their requests in the same bins, while one-off prompts share the bins of one-off prompts.
    """
    out = np.zeros((len(codes), bins))
    if kind not in store.kinds:
        return out
    every = pl.read_parquet(store.kinds[kind].path, columns=["code", "key", "rows", "degree"])
    per_key = every.group_by("key").agg(pl.col("rows").sum().alias("_total"))
    facts = every.filter(pl.col("code").is_in(pl.Series(codes).implode())).join(per_key, on="key", how="left")
    if facts.height == 0:
        return out
    row = np.searchsorted(codes, facts["code"].to_numpy())
    col = (mix64(facts["_total"].to_numpy(), mix64(facts["degree"].to_numpy())) % np.uint64(bins)).astype(np.int64)
    np.add.at(out, (row, col), facts["rows"].to_numpy().astype(np.float64))
    return _shares(out)


# An account's behaviour counts as (code, cell, requests): cells 0..143 are the 10-minute slots of the day, then the
# 7 weekdays, then the model bins. Counts of disjoint batches of events add up cell by cell.
_WEEK_CELL = SLOTS_PER_DAY
_MODEL_CELL = SLOTS_PER_DAY + 7
_CELLS = _MODEL_CELL + MODEL_BINS
CELL_SCHEMA = {"code": pl.UInt32, "cell": pl.UInt16, "requests": pl.Int64}


def behaviour_cells(events: pl.LazyFrame, codes: pl.DataFrame) -> pl.DataFrame:
    """Every coded account's requests per behaviour cell in `events`, one row per (code, cell) with requests > 0."""
    rows = collect_coded(
        events, codes,
        ((pl.col("timestamp").dt.hour().cast(pl.Int32) * 60 + pl.col("timestamp").dt.minute().cast(pl.Int32)) // 10).alias("slot"),
        (pl.col("timestamp").dt.weekday().cast(pl.Int32) - 1).alias("weekday"),
        xxh64(pl.col("model")).alias("model"),  # the model's bin: splitmix64 of its name's XXH64
    )
    if rows.height == 0:
        return pl.DataFrame(schema=CELL_SCHEMA)
    # Each distinct model's bin, mapped onto the rows; requests without a model count in no model bin.
    models = rows["model"].drop_nulls().unique()
    bins = pl.Series((mix64(models.to_numpy()) % np.uint64(MODEL_BINS)).astype(np.int64) + _MODEL_CELL)
    # Codes number the accounts 0..n-1, so (code, cell) is the index code * _CELLS + cell of one count array.
    base = pl.col("code").cast(pl.Int64) * _CELLS
    index = rows.select(
        (base + pl.col("slot")).alias("slot"),
        (base + _WEEK_CELL + pl.col("weekday")).alias("weekday"),
        (base + pl.col("model").replace_strict(models, bins, default=None, return_dtype=pl.Int64)).alias("model"),
    )
    del rows
    size = codes.height * _CELLS
    counts = np.bincount(index["slot"].to_numpy(), minlength=size)
    counts += np.bincount(index["weekday"].to_numpy(), minlength=size)
    counts += np.bincount(index["model"].drop_nulls().to_numpy(), minlength=size)
    cell = np.flatnonzero(counts)
    return pl.DataFrame({"code": cell // _CELLS, "cell": cell % _CELLS, "requests": counts[cell]}, schema=CELL_SCHEMA)


def behaviour_vectors(cells: pl.DataFrame, features: pl.DataFrame, store: FactStore, params: BehaviourParams) -> tuple[np.ndarray, np.ndarray]:
    """(account codes, float32 matrix) for the accounts with at least `min_requests` requests, codes sorted.

    `cells` are the `behaviour_cells` of every account (repeats of a (code, cell) are summed); `features` is in
    code order (one row per code, as `collect_features` returns it)."""
    active = np.flatnonzero(features["requests"].to_numpy() >= params.min_requests).astype(np.int64)
    if len(active) < 2:
        return active, np.zeros((len(active), 0), dtype=np.float32)
    code = cells["code"].to_numpy().astype(np.int64)
    at = np.searchsorted(active, code)
    inside = (at < len(active)) & (active[np.minimum(at, len(active) - 1)] == code)
    matrix = np.zeros((len(active), _CELLS), dtype=np.int64)
    np.add.at(matrix, (at[inside], cells["cell"].to_numpy().astype(np.int64)[inside]), cells["requests"].to_numpy()[inside])
    tod, week, models = matrix[:, :_WEEK_CELL], matrix[:, _WEEK_CELL:_MODEL_CELL], matrix[:, _MODEL_CELL:]
    del cells, code, at, inside
    f = features.select(
        "prompt_chars_mean", "reasoning_share", "input_tokens", "output_tokens", "new_model_lag_h"
    )[pl.Series(active)]
    length = np.log1p(f["prompt_chars_mean"].fill_null(0).to_numpy())
    reasoning = f["reasoning_share"].fill_null(0).to_numpy()
    ratio = np.log1p(f["output_tokens"].fill_null(0).to_numpy().astype(np.float64)) - np.log1p(
        f["input_tokens"].fill_null(0).to_numpy().astype(np.float64)
    )
    lag = np.log1p(np.clip(f["new_model_lag_h"].fill_null(24 * 45).to_numpy(), 0, None))
    scalars = np.column_stack([length, reasoning * 3.0, ratio, lag])
    scalars = (scalars - scalars.mean(axis=0)) / np.maximum(scalars.std(axis=0), 1e-9)
    blocks = [
        _unit_rows(_shares(tod.astype(np.float64))),
        _unit_rows(_shares(week.astype(np.float64))) * 0.5,
        _unit_rows(_sketch(store, "skeleton", active, SKELETON_BINS)),
        _unit_rows(scalars) * 0.7,
        _unit_rows(_shares(models.astype(np.float64))) * 0.5,
        _unit_rows(_sketch(store, "user_agent", active, UA_BINS)) * 0.5,
    ]
    vectors = np.hstack(blocks)
    norm = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.divide(vectors, norm, out=np.zeros_like(vectors), where=norm > 0)
    return active, vectors.astype(np.float32)


def behaviour_pairs(active: np.ndarray, vectors: np.ndarray, order: AccountOrder, params: BehaviourParams) -> pl.DataFrame:
    """Nearest-neighbour pairs (`src` < `dst` codes, `cosine`), each account keeping its `neighbours` best."""
    empty = pl.DataFrame(schema={"src": pl.UInt32, "dst": pl.UInt32, "cosine": pl.Float64})
    n = len(active)
    if n < 2 or vectors.shape[1] == 0:
        return empty
    rng = np.random.default_rng(_SEED)
    planes = rng.standard_normal((vectors.shape[1], params.tables * params.bits)).astype(np.float32)
    signs = (vectors @ planes) > 0
    weights = (1 << np.arange(params.bits, dtype=np.uint64))
    rank = order.rank[active]
    cand_a, cand_b = [], []
    half = max(1, params.partners // 2)
    for t in range(params.tables):
        bucket = (signs[:, t * params.bits:(t + 1) * params.bits].astype(np.uint64) * weights).sum(axis=1)
        by = np.lexsort((rank, bucket))
        b = bucket[by]
        starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
        size = np.diff(np.r_[starts, n])
        pos = np.arange(n) - np.repeat(starts, size)
        d = np.repeat(size, size)
        start = np.repeat(starts, size)
        for o in range(1, min(half, int(size.max()) - 1 if len(size) else 0) + 1):
            use = (d > o) & ((d > 2 * o) | (pos < d - o))
            idx = np.flatnonzero(use)
            partner = start[idx] + (pos[idx] + o) % d[idx]
            cand_a.append(by[idx])
            cand_b.append(by[partner])
    if not cand_a:
        return empty
    a = np.concatenate(cand_a)
    b = np.concatenate(cand_b)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    packed = sorted_unique(lo[keep].astype(np.uint64) * np.uint64(n) + hi[keep].astype(np.uint64))
    lo = (packed // np.uint64(n)).astype(np.int64)
    hi = (packed % np.uint64(n)).astype(np.int64)
    # Cosines in chunks: all candidate pairs' vectors at once would take gigabytes.
    cosine = np.concatenate(
        [np.einsum("ij,ij->i", vectors[lo[i:i + _CHUNK]].astype(np.float64), vectors[hi[i:i + _CHUNK]].astype(np.float64))
         for i in range(0, len(lo), _CHUNK)]
    ) if len(lo) else np.zeros(0)
    good = cosine >= params.min_cosine
    pairs = pl.DataFrame({"u": lo[good], "v": hi[good], "cosine": np.round(cosine[good], 6)})
    if pairs.height == 0:
        return empty
    both = pl.concat([pairs, pairs.select(pl.col("v").alias("u"), pl.col("u").alias("v"), "cosine")])
    both = both.with_columns(pl.lit(pl.Series("_rank", rank)).gather(pl.col("v")).alias("_rv"))
    kept = (
        both.sort(["u", "cosine", "_rv"], descending=[False, True, False])
        .group_by("u", maintain_order=True)
        .head(params.neighbours)
        .select(pl.min_horizontal("u", "v").alias("lo"), pl.max_horizontal("u", "v").alias("hi"))
        .unique()
    )
    out = pairs.join(kept, left_on=["u", "v"], right_on=["lo", "hi"], how="semi")
    return out.select(
        pl.lit(pl.Series(active)).gather(pl.col("u")).cast(pl.UInt32).alias("src"),
        pl.lit(pl.Series(active)).gather(pl.col("v")).cast(pl.UInt32).alias("dst"),
        "cosine",
    ).sort("src", "dst")


def behaviour_evidence(cosine: pl.Expr, params: BehaviourParams) -> pl.Expr:
    """Evidence of a behaviour link: 0 at `min_cosine`, `evidence_max` at identity."""
    return ((cosine - params.min_cosine) / (1.0 - params.min_cosine) * params.evidence_max).clip(0.0, params.evidence_max)
