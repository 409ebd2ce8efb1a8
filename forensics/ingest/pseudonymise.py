"""Keyed pseudonyms and the prompt-derived event columns: normalised text, prompt shapes (skeleton, opening,
closing), MinHash band keys, and derive_event_columns, which both engines run on classified valid rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from forensics.casefiles import EVENT_SCHEMA
from forensics.ingest import kernels
from forensics.keys import CaseKey
from forensics.schema import (
    DIGIT_RUN,
    FUNCTION_WORDS,
    MINHASH_BANDS,
    MINHASH_ROWS_PER_BAND,
    MINHASH_SEED,
    PHRASE_WORDS,
    REASONING_PATTERN,
    SHINGLE_WORDS,
    SKELETON_TOKEN,
    WHITESPACE_RUN,
    WORD,
)


def _keyed(key: CaseKey, kind: str, values: pl.Series) -> pl.Series:
    """The keyed pseudonyms of `values` (one name for every keyed hash of ingest, which the benchmark times)."""
    return key.pseudonym_column(kind, values)


def pseudonymise_series(values: pl.Series, key: CaseKey, kind: str, *, normalise: bool = False) -> pl.Series:
    """Replace each value by its keyed pseudonym, hashing each distinct value of the series once.

    With `normalise`, the pseudonym is that of the value's fingerprint normalisation (see normalise_text). Values
    are hashed again in every batch that holds them: remembering them across batches cost more than hashing once
    the memo held a few hundred thousand values, because each batch's lookup in it grows with its size.
    """
    uniq = values.drop_nulls().unique()
    if uniq.is_empty():
        return pl.Series(values.name, [None] * len(values), dtype=pl.String)
    texts = uniq.to_frame("t").select(normalise_text(pl.col("t"))).to_series() if normalise else uniq
    return values.replace_strict(uniq, _keyed(key, kind, texts), default=None, return_dtype=pl.String)


def normalise_text(expr: pl.Expr) -> pl.Expr:
    """Fingerprint normalisation: lower case, whitespace runs to one space, trimmed."""
    return expr.str.to_lowercase().str.replace_all(WHITESPACE_RUN, " ").str.strip_chars()


def _splitmix64(x: int) -> int:
    """splitmix64's finaliser: spreads small integers into well-mixed 64-bit hash seeds."""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


@dataclass(frozen=True)
class MinHasher:
    """MinHash-LSH band keys over word shingles (prompt_shapes), hashed with XXH64 (kernels.xxh64), a hash
    defined by its algorithm, so any xxHash library gives the same keys:

    - words: the matches of schema.WORD in the text, in order (a text without words has the one word "");
    - shingle j: words j .. j + SHINGLE_WORDS - 1 that exist, joined by single spaces (the last ones are shorter);
    - signature i: the least XXH64(UTF-8 shingle, seeds[i]) over the text's shingles, with
      seeds[i] = splitmix64(MINHASH_SEED + i);
    - band b: XXH64(UTF-8 of the decimal signatures of its rows joined by ":", band_seeds[b]), with
      band_seeds[b] = the first 16 hex characters of HMAC-SHA256(key, "minhash-band:b") read as an integer.

    The signature seeds are fixed, so which prompts share a band is a property of the prompts, never of the key;
    the band seeds are keyed, so a stored band key cannot be recomputed from a guessed prompt without the key.
    """

    seeds: tuple[int, ...]
    band_seeds: tuple[int, ...]

    @classmethod
    def from_key(cls, key: CaseKey) -> "MinHasher":
        count = MINHASH_BANDS * MINHASH_ROWS_PER_BAND
        seeds = tuple(_splitmix64(MINHASH_SEED + i) for i in range(count))
        bands = tuple(int(key.digest(f"minhash-band:{b}")[:16], 16) for b in range(MINHASH_BANDS))
        return cls(seeds=seeds, band_seeds=bands)

    def band_keys(self, texts: pl.Series) -> pl.Series:
        """Band keys of each text of `texts`, in the same order."""
        return prompt_shapes(texts, self)[3]


def _distinct(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """The distinct values and each value's index among them: fingerprints that many templates share
    (skeletons, phrases) are hashed once each."""
    distinct = values.unique()
    index = values.to_frame("_v").join(
        distinct.to_frame("_v").with_row_index("_i"), on="_v", how="left", maintain_order="left"
    )["_i"]
    return distinct, index


# Every character that is not white space, a letter, a number or an apostrophe is a token of its own
# (schema.SKELETON_TOKEN's second alternative). In ASCII the compiled pass tells the characters apart itself; a text
# beyond ASCII has each such character marked with this byte and spaced apart, and a space around it, so that its
# tokens are the runs of bytes between spaces, which kernels.prompt_shapes walks once.
_WORD_TOKEN, _MARK_PATTERN = SKELETON_TOKEN.split("|")
if (_WORD_TOKEN, _MARK_PATTERN, WORD) != (r"[\p{L}\p{N}']+", r"[^\s\p{L}\p{N}']", r"[\p{L}\p{N}]+"):
    raise ValueError("prompt_shapes implements schema.SKELETON_TOKEN and schema.WORD as written; change it with them")
# White space other than " ", which becomes " " before the marking: the compiled pass splits tokens at " " alone.
_SPACE = r"[^\S ]"


def _function_word_table() -> np.ndarray:
    """The function words' keys (UTF-8 bytes read as one little-endian integer) in an open-addressing hash table
    of at least four slots a word, for kernels.prompt_shapes: each key in the first free slot from its
    `kernels.function_word_slot`; 0 is an empty slot."""
    encoded = sorted({w.encode() for w in FUNCTION_WORDS})
    if max(map(len, encoded)) > kernels.KEY_BYTES:
        raise ValueError(f"function words longer than {kernels.KEY_BYTES} bytes need a wider key")
    table = np.zeros(1 << (4 * len(encoded) - 1).bit_length(), np.uint64)
    mask = len(table) - 1
    for word in encoded:
        key = np.uint64(int.from_bytes(word, "little"))
        slot = int(kernels.function_word_slot(key)) & mask
        while table[slot]:
            slot = (slot + 1) & mask
        table[slot] = key
    return table


_FUNCTION_WORD_TABLE = _function_word_table()


def _utf8_arrays(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of a string column without nulls, as numpy views of its Arrow buffers."""
    array = texts.to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type != pa.large_string():
        array = array.cast(pa.large_string())
    n = len(array)
    offsets = np.frombuffer(array.buffers()[1], np.int64, count=n + 1, offset=array.offset * 8)
    data = array.buffers()[2]
    values = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    return offsets - offsets[0], values[offsets[0] : offsets[-1]]


def _strings(column: tuple[np.ndarray, np.ndarray]) -> pl.Series:
    """A string column from (n + 1 offsets, UTF-8 bytes), without copying the bytes."""
    offsets, data = column
    array = pa.Array.from_buffers(pa.large_string(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    return pl.Series(array)


def prompt_shapes(texts: pl.Series, minhasher: MinHasher) -> tuple[pl.Series, pl.Series, pl.Series, pl.Series]:
    """(skeletons, openings, closings, MinHash band keys) of each text, in order; a null text counts as "".

    - tokens: schema.SKELETON_TOKEN's matches; a skeleton keeps schema.FUNCTION_WORDS and single characters, turns
      every other word token into "~", collapses runs of "~" tokens into one and joins the tokens by single spaces;
    - words: schema.WORD's matches (the word tokens split at their apostrophes); an opening or closing is the first
      or last PHRASE_WORDS words joined by single spaces ("" without words);
    - band keys: MinHasher's definition over the words.
    """
    texts = texts.cast(pl.String).fill_null("")
    beyond_ascii = texts.str.len_bytes() != texts.str.len_chars()
    if beyond_ascii.any():  # Unicode's letters, numbers and white space are told apart here, by the regex engine
        where = beyond_ascii.arg_true()
        marked = pl.col("_t").str.replace_all(_SPACE, " ").str.replace_all(_MARK_PATTERN, f" {chr(kernels.MARK)}${{0}} ")
        spaced = texts.gather(where).to_frame("_t").select(pl.concat_str([pl.lit(" "), marked, pl.lit(" ")]))
        texts = texts.clone().scatter(where, spaced.to_series())
    skeletons, openings, closings, bands = kernels.prompt_shapes(
        *_utf8_arrays(texts),
        beyond_ascii.to_numpy(),
        _FUNCTION_WORD_TABLE,
        PHRASE_WORDS,
        SHINGLE_WORDS,
        np.array(minhasher.seeds, np.uint64),
        np.array(minhasher.band_seeds, np.uint64),
        MINHASH_ROWS_PER_BAND,
    )
    keys = pa.LargeListArray.from_arrays(
        np.arange(0, bands.size + 1, bands.shape[1], dtype=np.int64), pa.array(bands.ravel(), pa.uint64())
    )
    return _strings(skeletons), _strings(openings), _strings(closings), pl.Series("prompt_minhash", keys)


def derive_event_columns(valid: pl.DataFrame, key: CaseKey, minhasher: MinHasher) -> pl.DataFrame:
    """Event columns of classified valid rows (a pure function of each row, which both engines run). Everything derived from text is computed once per distinct
    raw text of the batch (a prompt repeats a few times in a batch, a system prompt or user agent thousands
    of times), then joined back to the rows.
    """
    prompts = _PromptTable(valid["_prompt"], key, minhasher)
    out = valid.with_columns(
        pseudonymise_series(valid["_account"], key, "account").alias("account_pseudonym"),
        pseudonymise_series(valid["_ua"], key, "ua").alias("user_agent_fingerprint"),
        pseudonymise_series(valid["_system"], key, "system", normalise=True).alias(
            "system_prompt_fingerprint"
        ),
    )
    out = prompts.attach(out)
    # A request asks for reasoning when its prompt or its system prompt does (agents put it in the system prompt).
    out = out.with_columns(
        pl.when(_system_reasoning(valid["_system"])).then(True).otherwise(pl.col("prompt_reasoning")).alias("prompt_reasoning")
    )
    return out.with_columns([pl.col(c).cast(t) for c, t in EVENT_SCHEMA.items()])


def _system_reasoning(system: pl.Series) -> pl.Series:
    """Whether each row's system prompt asks for reasoning, matched once per distinct system prompt."""
    distinct = system.drop_nulls().unique()
    if distinct.is_empty():
        return pl.Series(system.name, [False] * len(system), dtype=pl.Boolean)
    matches = distinct.to_frame("_s").select(normalise_text(pl.col("_s")).str.contains(REASONING_PATTERN))["_s"]
    return system.replace_strict(distinct, matches, default=False, return_dtype=pl.Boolean)


def _normalised(prompts: pl.Series) -> pl.DataFrame:
    """`_prompt`, `_norm` (normalise_text of it) and `_text` (`_norm` with each schema.DIGIT_RUN made "0") of
    prompts without nulls. ASCII texts take one compiled pass; the others polars' Unicode-aware string functions."""
    prompts = prompts.cast(pl.String)
    beyond_ascii = prompts.str.len_bytes() != prompts.str.len_chars()
    norm, text = (_strings(c) for c in kernels.normalise_ascii(*_utf8_arrays(prompts), beyond_ascii.to_numpy()))
    if beyond_ascii.any():
        where = beyond_ascii.arg_true()
        others = prompts.gather(where).to_frame("_n").select(normalise_text(pl.col("_n")))
        others = others.with_columns(pl.col("_n").str.replace_all(DIGIT_RUN, "0").alias("_t"))
        norm, text = norm.scatter(where, others["_n"]), text.scatter(where, others["_t"])
    return pl.DataFrame({"_prompt": prompts, "_norm": norm, "_text": text})


class _PromptTable:
    """The distinct non-null raw prompts of a batch, with everything derived from them.

    prompt_fingerprint          = pseudonym("prompt", normalised prompt)
    prompt_template_fingerprint = pseudonym("template", normalised prompt with digit runs as 0)
    prompt_skeleton_fingerprint = pseudonym("skeleton", that template's skeleton)
    prompt_opening_fingerprint  = pseudonym("opening", its first PHRASE_WORDS words)
    prompt_closing_fingerprint  = pseudonym("closing", its last PHRASE_WORDS words)
    prompt_minhash              = band keys of that template (the digit-masked text: slot-filled numbers should
                                  not make prompts look different)
    """

    def __init__(self, raw: pl.Series, key: CaseKey, minhasher: MinHasher) -> None:
        table = _normalised(raw.drop_nulls().unique())
        templates = table["_text"].unique()
        skeletons, openings, closings, self.minhash = prompt_shapes(templates, minhasher)
        skeletons, self.skeleton_of = _distinct(skeletons)
        openings, self.opening_of = _distinct(openings)
        closings, self.closing_of = _distinct(closings)
        # Distinct raw prompts almost never share a normalised form, so the normalised texts are hashed as they are.
        self.hashed = (
            _keyed(key, "prompt", table["_norm"]),
            _keyed(key, "template", templates),
            _keyed(key, "skeleton", skeletons),
            _keyed(key, "opening", openings),
            _keyed(key, "closing", closings),
        )
        template_index = pl.DataFrame({"_text": templates}).with_row_index("_gid")
        self.rows = table.select(
            "_prompt",
            "_text",
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("_tid"),
            pl.col("_prompt").str.len_chars().cast(pl.Int64).alias("prompt_chars"),
            pl.col("_norm").str.contains(REASONING_PATTERN).alias("prompt_reasoning"),
        ).join(template_index, on="_text", how="left").drop("_text")

    def attach(self, valid: pl.DataFrame) -> pl.DataFrame:
        """The prompt columns for each row of `valid`; null where the prompt is null."""
        out = valid.join(self.rows, on="_prompt", how="left", maintain_order="left")
        prompt_fp, template_fp, skeleton_fp, opening_fp, closing_fp = self.hashed
        tid, gid = out["_tid"], out["_gid"]
        return out.drop("_tid", "_gid").with_columns(
            prompt_fp.gather(tid).alias("prompt_fingerprint"),
            template_fp.gather(gid).alias("prompt_template_fingerprint"),
            skeleton_fp.gather(self.skeleton_of.gather(gid)).alias("prompt_skeleton_fingerprint"),
            opening_fp.gather(self.opening_of.gather(gid)).alias("prompt_opening_fingerprint"),
            closing_fp.gather(self.closing_of.gather(gid)).alias("prompt_closing_fingerprint"),
            self.minhash.gather(gid).alias("prompt_minhash"),
        )
