"""Duplicate request IDs: which staged rows repeat an earlier request ID, and their raw values copied into the
quarantine.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from forensics.codes import xxh64
from forensics.ingest.discover import FileStats, InputFile, with_partitions
from forensics.ingest.validate import prefix_clashes, raw_strings


_ID_HASH_SEED = 0x5EED


def request_id_hash() -> pl.Expr:
    """XXH64 of the request ID's UTF-8 text with seed _ID_HASH_SEED: which rows may repeat an ID. Only equal
    hashes matter (the candidates are then compared by the ID itself), so the hash never picks a winner."""
    return xxh64(pl.col("request_id"), seed=_ID_HASH_SEED)


def find_duplicates(work: Path, file_stats: dict[int, FileStats]) -> pl.DataFrame:
    """(_file, _row) of every staged row that repeats an earlier request_id under the documented rule."""
    files = sorted((work / "valid").glob("*/*.parquet"))
    empty = pl.DataFrame(schema={"_file": pl.Int32, "_row": pl.Int64})
    if not files:
        return empty
    staged = pl.scan_parquet(files)
    hashed = request_id_hash().alias("_h")
    candidates = (
        staged.select(hashed).group_by("_h").agg(pl.len()).filter(pl.col("len") > 1).select("_h")
        .collect(engine="streaming")
    )
    if candidates.is_empty():
        return empty
    shas = pl.DataFrame(
        {"_file": list(file_stats), "_sha": [st.sha256 for st in file_stats.values()]},
        schema={"_file": pl.Int32, "_sha": pl.String},
    )
    rows = (
        staged.select("request_id", "timestamp", "_file", "_row", hashed)
        .filter(pl.col("_h").is_in(candidates["_h"].implode()))
        .collect(engine="streaming")
        .join(shas, on="_file", how="left")
        .sort(["request_id", "timestamp", "_sha", "_file", "_row"])
    )
    losers = rows.filter(pl.col("request_id").cum_count().over("request_id") > 1)
    return losers.select("_file", "_row").sort(["_file", "_row"])


def quarantine_duplicates(
    losers: pl.DataFrame, inputs: list[InputFile], stats: dict[str, FileStats], work: Path, batch_rows: int
) -> None:
    """Copy the raw values of duplicate rows from their source files into the quarantine."""
    by_file = {index: group["_row"] for (index,), group in losers.partition_by("_file", as_dict=True).items()}
    for inp in inputs:
        st = stats[inp.rel]
        rows = by_file.get(st.index)
        if rows is None:
            continue
        wanted = pl.DataFrame({"source_row": rows})
        st.valid -= len(rows)
        st.reasons["duplicate_request_id"] += len(rows)
        offset = 0
        for batch_no, record_batch in enumerate(pq.ParquetFile(inp.path).iter_batches(batch_size=batch_rows)):
            batch = pl.from_arrow(record_batch)
            assert isinstance(batch, pl.DataFrame)
            batch = with_partitions(batch, inp)
            indexed = batch.with_row_index("source_row", offset=offset).with_columns(pl.col("source_row").cast(pl.Int64))
            picked = indexed.join(wanted, on="source_row", how="semi")
            offset += batch.height
            if picked.is_empty():
                continue
            meta = picked.select(
                pl.lit(inp.rel).alias("source_file"),
                pl.lit(st.sha256).alias("source_sha256"),
                pl.col("source_row"),
                pl.lit("duplicate_request_id").alias("quarantine_reason"),
            )
            raw = prefix_clashes(raw_strings(picked.drop("source_row")))
            meta.hstack(raw).write_parquet(
                work / "quarantine" / f"{st.index:06d}-dup-{batch_no:06d}.parquet"
            )
