"""The canonical request-log schema, column mapping, and the normalisation rules behind fingerprints."""

from __future__ import annotations

import tomllib
from datetime import datetime, timezone
from pathlib import Path

from forensics.errors import ColumnMapError

REQUIRED_COLUMNS = ("request_id", "timestamp", "account_id")
OPTIONAL_COLUMNS = (
    "ip",
    "asn",
    "country",
    "user_agent",
    "model",
    "input_tokens",
    "output_tokens",
    "prompt",
    "system_prompt",
)
LOG_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

ACCOUNT_COLUMNS = ("account_id", "created_at", "email_domain", "payment_fingerprint", "billing_country", "org_id")

# Reasons a row is quarantined, in precedence order: a row gets the first that applies.
QUARANTINE_REASONS = (
    "missing_request_id",
    "missing_account_id",
    "missing_timestamp",
    "unparseable_timestamp",
    "implausible_timestamp",
    "outside_window",
    "invalid_ip",
    "invalid_asn",
    "invalid_token_count",
    "duplicate_request_id",
)

# Timestamps outside this range are quarantined as implausible for API logs (epoch-zero defaults, unit mix-ups).
PLAUSIBLE_FROM = datetime(2000, 1, 1, tzinfo=timezone.utc)
PLAUSIBLE_UNTIL = datetime(2100, 1, 1, tzinfo=timezone.utc)

EPOCH_UNITS = {"s": 1_000_000, "ms": 1_000, "us": 1}

# Normalisation shared by every prompt fingerprint: case and whitespace runs do not matter.
WHITESPACE_RUN = r"\s{2,}|[^\S ]"  # same result as \s+ -> " ", but matches only where something changes
DIGIT_RUN = r"\d+"
WORD = r"[\p{L}\p{N}]+"

# A prompt that asks the model to show its reasoning (matched on the normalised, lower-cased prompt).
REASONING_PATTERN = (
    r"step[ -]by[ -]step|show (?:your|all|the|me your) (?:work|reasoning|steps|thinking)|chain[ -]of[ -]thought"
    r"|think (?:it |this )?through|explain your (?:reasoning|thinking|thought process)|reason (?:carefully|step)"
    r"|walk (?:me )?through|let'?s think|detailed reasoning|full reasoning|thought process"
    # An agent's ReAct format (Thought: / Action: / Observation:) asks the model to write out its thoughts.
    r"|\bthought\s*:"
)

MINHASH_BANDS = 2
MINHASH_ROWS_PER_BAND = 2
SHINGLE_WORDS = 3
# The MinHash seeds are fixed, not derived from the key: which prompts collide must be a property of the logs,
# never of the pseudonymisation key. The band keys written to the events are still keyed (see ingest.MinHasher).
MINHASH_SEED = 0x6D696E68617368  # "minhash"

# Opening and closing phrases: the first and last words of the digit-masked prompt. A template's fixed frame
# (its instruction, its request for reasoning) survives paraphrase of the middle and any fill.
PHRASE_WORDS = 4

# Prompt skeleton: the normalised, digit-masked prompt with every word that is not a function word replaced by
# "~" (runs of them collapsed into one), punctuation kept. Templates filled with different content, or the same
# template paraphrased only in its content words, share a skeleton; free text rarely does.
SKELETON_TOKEN = r"[\p{L}\p{N}']+|[^\s\p{L}\p{N}']"
FUNCTION_WORDS = (
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do",
    "does", "doing", "down", "during", "each", "either", "every", "few", "first", "for", "from", "further", "had",
    "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "i'm", "if", "in", "into", "is",
    "it", "it's", "its", "itself", "just", "let's", "me", "more", "most", "must", "my", "no", "nor", "not", "now",
    "of", "off", "on", "once", "one", "only", "or", "other", "our", "ours", "out", "over", "own", "please", "same",
    "shall", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "then",
    "there", "these", "they", "this", "those", "through", "to", "too", "two", "under", "until", "up", "upon", "us",
    "very", "was", "we", "were", "what", "when", "where", "whether", "which", "while", "who", "whom", "whose", "why",
    "will", "with", "within", "without", "would", "you", "your", "yours", "yourself",
)


def parse_column_map(items: list[str], map_file: Path | None = None) -> dict[str, str]:
    """Merge --map CANONICAL=SOURCE options over an optional TOML [columns] table."""
    mapping: dict[str, str] = {}
    if map_file is not None:
        try:
            table = tomllib.loads(Path(map_file).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ColumnMapError(f"{map_file}: mapping file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ColumnMapError(f"{map_file}: not valid TOML ({exc})") from None
        columns = table.get("columns", table)
        if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
            raise ColumnMapError(f"{map_file}: expected a [columns] table of canonical = \"source\" strings")
        mapping.update(columns)
    for item in items:
        canonical, sep, source = item.partition("=")
        if not sep or not canonical.strip() or not source.strip():
            raise ColumnMapError(f"--map {item!r}: expected CANONICAL=SOURCE")
        mapping[canonical.strip()] = source.strip()
    unknown = sorted(set(mapping) - set(LOG_COLUMNS))
    if unknown:
        raise ColumnMapError(f"--map: unknown canonical column {unknown[0]!r}; known: {', '.join(LOG_COLUMNS)}")
    sources = list(mapping.values())
    repeated = sorted({s for s in sources if sources.count(s) > 1})
    if repeated:
        raise ColumnMapError(f"--map: source column {repeated[0]!r} is mapped twice")
    return dict(sorted(mapping.items()))
