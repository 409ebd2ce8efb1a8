"""The shapes of the case files: every schema and file name that one stage writes and a later stage reads.

Writers and readers import them from here, so a column added or renamed changes one place.

- ingest writes events/YYYY-MM-DD.parquet (EVENT_SCHEMA, sorted by EVENT_ORDER), accounts.parquet
  (ACCOUNT_SCHEMA), quarantine.parquet (QUARANTINE_META, then the raw columns as text), ingest.json and key.hex;
- cluster writes CLUSTER_OUTPUTS: features.parquet, edges.parquet (EDGE_SCHEMA), clusters.parquet, the timelines
  (TIMELINE_DAILY_SCHEMA, TIMELINE_HOURLY_SCHEMA), graph.graphml and, last, clusters.json.
"""

from __future__ import annotations

import polars as pl

UTC_US = pl.Datetime("us", "UTC")
KEY_FILE_NAME = "key.hex"
PARQUET_WRITE = {"compression": "zstd", "compression_level": 3, "statistics": True, "row_group_size": 262_144}

# ---------------------------------------------------------------------------------------------- ingest

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
EVENT_ORDER = ("account_pseudonym", "timestamp", "request_id")  # a total order: request IDs are unique by then
ACCOUNT_SCHEMA: dict[str, pl.DataType] = {
    "account_pseudonym": pl.String(),
    "created_at": UTC_US,
    "email_domain_fingerprint": pl.String(),
    "payment_pseudonym": pl.String(),
    "billing_country": pl.String(),
    "org_pseudonym": pl.String(),
    "signup_stem_fingerprint": pl.String(),
}
# quarantine.parquet's first columns; a raw column of the same name is kept as raw.<name>.
QUARANTINE_META = ("source_file", "source_sha256", "source_row", "quarantine_reason")

# ---------------------------------------------------------------------------------------------- cluster

# The edge table as written to edges.parquet (pseudonyms), and as the cluster stage holds it (account codes;
# `kind` an Enum in alphabetical order, so sorting by it sorts by the kind's name).
EDGE_SCHEMA = {
    "src": pl.String, "dst": pl.String, "kind": pl.String, "count": pl.Int64, "expected": pl.Float64,
    "surprise": pl.Float64, "weight": pl.Float64,
}
EDGE_KINDS = (
    "behaviour", "closing", "coaction", "ip", "net", "opening", "payment", "signup", "skeleton", "slot", "slot_asn",
    "template",
)
KIND = pl.Enum(EDGE_KINDS)
CODED_SCHEMA = {
    "src": pl.UInt32, "dst": pl.UInt32, "count": pl.Int64, "expected": pl.Float64, "surprise": pl.Float64,
    "weight": pl.Float64,
}

# The timelines (forensics.detect.timelines): per series (`cluster-N` or TIMELINE_BACKGROUND) and UTC day or hour of day.
TIMELINE_BACKGROUND = "background"
TIMELINE_DAILY_FILE = "timeline_daily.parquet"
TIMELINE_HOURLY_FILE = "timeline_hourly.parquet"
TIMELINE_DAILY_SCHEMA = {
    "series": pl.String(), "day": pl.Date(), "requests": pl.Int64(), "accounts": pl.Int64(), "input_tokens": pl.Int64(),
    "output_tokens": pl.Int64(),
}
TIMELINE_HOURLY_SCHEMA = {"series": pl.String(), "hour": pl.Int8(), "requests": pl.Int64()}

# Written in this order: clusters.json last, so a case with it holds every other output of the same run.
CLUSTER_OUTPUTS = (
    "features.parquet", "edges.parquet", "clusters.parquet", TIMELINE_DAILY_FILE, TIMELINE_HOURLY_FILE, "graph.graphml",
    "clusters.json",
)
