"""The shapes of the case files: every schema and file name that a stage writes and a later stage reads.

Writers and readers import them from here, so a column added or renamed changes one place.
"""

from __future__ import annotations

import polars as pl


UTC_US = pl.Datetime("us", "UTC")
KEY_FILE_NAME = "key.hex"
EVENT_SCHEMA: dict[str, pl.DataType] = {
    "request_id": pl.String(),
    "timestamp": UTC_US,
    "account_pseudonym": pl.String(),
    "ip_pseudonym": pl.String(),
    "net_pseudonym": pl.String(),
    "asn": pl.Int64(),
    "country": pl.String(),
    "user_agent_fingerprint": pl.String(),
    "model": pl.String(),
    "input_tokens": pl.Int64(),
    "output_tokens": pl.Int64(),
    "prompt_fingerprint": pl.String(),
    "prompt_template_fingerprint": pl.String(),
    "prompt_skeleton_fingerprint": pl.String(),
    "prompt_opening_fingerprint": pl.String(),
    "prompt_closing_fingerprint": pl.String(),
    "prompt_minhash": pl.List(pl.UInt64()),
    "prompt_chars": pl.Int64(),
    "prompt_reasoning": pl.Boolean(),
    "system_prompt_fingerprint": pl.String(),
}
ACCOUNT_SCHEMA: dict[str, pl.DataType] = {
    "account_pseudonym": pl.String(),
    "created_at": UTC_US,
    "email_domain_fingerprint": pl.String(),
    "payment_pseudonym": pl.String(),
    "billing_country": pl.String(),
    "org_pseudonym": pl.String(),
    "signup_stem_fingerprint": pl.String(),
}
PARQUET_WRITE = {"compression": "zstd", "compression_level": 3, "statistics": True, "row_group_size": 262_144}


QUARANTINE_META = ("source_file", "source_sha256", "source_row", "quarantine_reason")


EVENT_ORDER = ("account_pseudonym", "timestamp", "request_id")  # a total order: request IDs are unique by then
