"""Keyed pseudonyms and the prompt-derived event columns: normalised text, prompt shapes (skeleton, opening,
closing), MinHash band keys, and derive_event_columns, which both engines run on classified valid rows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import polars as pl
import polars_hash  # noqa: F401  (registers the .nchash namespace: XXH64 for MinHash)
import pyarrow as pa

from forensics.casefiles import EVENT_SCHEMA
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
    """Replace each value by its keyed pseudonym, hashing each distinct value once.

    With `normalise`, the pseudonym is that of the value's fingerprint normalisation (see normalise_text).
    """
    uniq = values.drop_nulls().unique()
    if uniq.is_empty():
        return pl.Series(values.name, [None] * len(values), dtype=pl.String)
    texts = uniq.to_frame("t").select(normalise_text(pl.col("t"))).to_series() if normalise else uniq
    mapped = _keyed(key, kind, texts)
    return values.replace_strict(uniq, mapped, default=None, return_dtype=pl.String)


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
    """MinHash-LSH band keys over word shingles (PromptShapes), hashed with XXH64 (polars-hash),
    a hash defined by its algorithm, so any polars version, or any xxHash library, gives the same keys:

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

    def _hashes(self) -> list[pl.Expr]:
        return [pl.col("_s").nchash.xxhash64(seed=seed).alias(f"_m{i}") for i, seed in enumerate(self.seeds)]

    @functools.cached_property
    def _no_words(self) -> np.ndarray:
        """The signature of a text without words (that of the one word "")."""
        return pl.DataFrame({"_s": [""]}).select(self._hashes()).to_numpy()

    def band_keys(self, texts: pl.Series | None, shapes: "PromptShapes | None" = None) -> pl.Series:
        """Band keys of each text of `texts`, in the same order; or of the texts of `shapes`."""
        shapes = PromptShapes(texts) if shapes is None else shapes
        shingles, first, some = shapes.shingles()
        signature = np.empty((shapes.n, len(self.seeds)), np.uint64)
        signature[:] = self._no_words
        if len(first):
            hashed = shingles.to_frame("_s").select(self._hashes()).to_numpy()
            signature[some] = np.minimum.reduceat(hashed, first, axis=0)
        mins = pl.DataFrame({f"_m{i}": signature[:, i] for i in range(len(self.seeds))})
        bands = [
            pl.concat_str(
                [pl.col(f"_m{b * MINHASH_ROWS_PER_BAND + r}") for r in range(MINHASH_ROWS_PER_BAND)], separator=":"
            ).nchash.xxhash64(seed=seed)
            for b, seed in enumerate(self.band_seeds)
        ]
        return mins.select(pl.concat_list(bands).alias("prompt_minhash")).to_series()


def _distinct(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """The distinct values and each value's index among them: fingerprints that many templates share
    (skeletons, phrases) are hashed once each."""
    distinct = values.unique()
    index = values.to_frame("_v").join(
        distinct.to_frame("_v").with_row_index("_i"), on="_v", how="left", maintain_order="left"
    )["_i"]
    return distinct, index


# Every character that is not white space, a letter, a number or an apostrophe is a token of its own
# (schema.SKELETON_TOKEN's second alternative). Marked with this byte and spaced apart, and with a space around each
# text, the tokens are the runs of bytes between spaces: found, split into words and classified with numpy over
# token positions, without a list of strings per text.
_MARK = 0x01
_WORD_TOKEN, _MARK_PATTERN = SKELETON_TOKEN.split("|")
if (_WORD_TOKEN, _MARK_PATTERN, WORD) != (r"[\p{L}\p{N}']+", r"[^\s\p{L}\p{N}']", r"[\p{L}\p{N}]+"):
    raise ValueError("PromptShapes implements schema.SKELETON_TOKEN and schema.WORD as written; change it with them")
# Bytes that may start white space other than " ": ASCII tab to carriage return, and the lead bytes of the UTF-8
# encodings of U+0085, U+00A0, U+1680, U+2000-U+205F and U+3000. Texts with any are passed through _SPACE first.
_MAYBE_SPACE = np.zeros(256, bool)
_MAYBE_SPACE[[0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0xC2, 0xE1, 0xE2, 0xE3]] = True
_SPACE = r"[^\S ]"
_KEY_BYTES = 8  # function words are compared as their UTF-8 bytes packed into one little-endian uint64


def _packed(rows: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rows).view("<u8").ravel()


def _function_word_keys() -> np.ndarray:
    encoded = [w.encode() for w in FUNCTION_WORDS]
    if max(map(len, encoded)) > _KEY_BYTES:
        raise ValueError(f"function words longer than {_KEY_BYTES} bytes need a wider key")
    rows = np.zeros((len(encoded), _KEY_BYTES), np.uint8)
    for i, word in enumerate(encoded):
        rows[i, : len(word)] = np.frombuffer(word, np.uint8)
    return np.unique(_packed(rows))


_FUNCTION_WORD_KEYS = _function_word_keys()


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


def _windows(buffer: np.ndarray, width: int) -> np.ndarray:
    """Row i: buffer[i : i + width], zero-padded past the end (a view)."""
    return np.lib.stride_tricks.sliding_window_view(np.concatenate([buffer, np.zeros(width, np.uint8)]), width)


def _exclusive_cumsum(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _string_views(buffer: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> pl.Series:
    """The substrings buffer[start:end] as an Arrow string-view column over `buffer`, without copying them."""
    n = len(starts)
    if len(buffer) >= 2**31:
        raise ValueError("string views address at most 2 GiB")
    lengths = (ends - starts).astype(np.int32)
    views = np.empty((n, 16), np.uint8)
    # A view is its length and either its bytes (up to 12) or its first 4 bytes, buffer 0 and its offset.
    views[:, 4:] = _windows(buffer, 12)[starts] * (np.arange(12, dtype=np.int32) < lengths[:, None])
    words = views.view(np.int32)
    words[:, 0] = lengths
    long = lengths > 12
    words[:, 2] = np.where(long, 0, words[:, 2])
    words[:, 3] = np.where(long, starts.astype(np.int32), words[:, 3])
    array = pa.Array.from_buffers(pa.string_view(), n, [None, pa.py_buffer(views), pa.py_buffer(buffer)])
    return pl.Series(array)


def _text_of(positions: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The text of each of the ordered byte `positions`, given the texts' n + 1 offsets."""
    first = np.searchsorted(positions, offsets)
    return np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(first))


def _firsts(text: np.ndarray) -> np.ndarray:
    """Whether each item of an ordered text index is its text's first."""
    first = np.ones(len(text), bool)
    first[1:] = text[1:] != text[:-1]
    return first


class PromptShapes:
    """The tokens and words of each text of a column, found once and shared by skeletons, phrases and MinHash
    shingles. A null text counts as "".

    Tokens are schema.SKELETON_TOKEN's matches; words are schema.WORD's matches (the word tokens split at their
    apostrophes). One regular-expression pass marks every single-character token; everything after is numpy.
    """

    def __init__(self, texts: pl.Series) -> None:
        texts = texts.cast(pl.String).fill_null("")
        self.n = len(texts)
        if _MAYBE_SPACE[_utf8_arrays(texts)[1]].any():
            texts = texts.str.replace_all(_SPACE, " ")
        spaced = texts.to_frame("_t").select(
            pl.concat_str([pl.lit(" "), pl.col("_t").str.replace_all(_MARK_PATTERN, f" {chr(_MARK)}${{0}} "), pl.lit(" ")])
        ).to_series()
        self.offsets, self.data = _utf8_arrays(spaced)
        data = self.data
        spaces = np.flatnonzero(data == 0x20)
        after, before = spaces[:-1] + 1, spaces[1:] - 1
        self.tok_start = after[data[after] != 0x20]
        self.tok_end = before[data[before] != 0x20] + 1
        self.tok_text = _text_of(self.tok_start, self.offsets)
        self.tok_first = _firsts(self.tok_text)
        self.tok_punct = data[self.tok_start] == _MARK
        self._words: tuple | None = None

    def skeletons(self) -> pl.Series:
        """schema.FUNCTION_WORDS: every word token that is not a function word becomes "~", runs of "~" tokens
        collapse into one, and the tokens are joined by single spaces."""
        data, s, e, first, punct = self.data, self.tok_start, self.tok_end, self.tok_first, self.tok_punct
        length = e - s
        short = np.flatnonzero(~punct & (length <= _KEY_BYTES))
        keys = _packed(_windows(data, _KEY_BYTES)[s[short]] * (np.arange(_KEY_BYTES) < length[short, None]))
        slot = np.minimum(np.searchsorted(_FUNCTION_WORD_KEYS, keys), len(_FUNCTION_WORD_KEYS) - 1)
        function = np.zeros(len(s), bool)
        function[short] = _FUNCTION_WORD_KEYS[slot] == keys
        masked = ~punct & ~function
        body = s + punct  # a single-character token without its mark
        literal = punct & (e - body == 1) & (data[body] == ord("~"))
        tilde = masked | literal
        repeat = np.zeros(len(s), bool)
        repeat[1:] = tilde[1:] & tilde[:-1]
        kept = np.flatnonzero(~(repeat & ~first))
        # Every kept token is at most 8 bytes ("~", a function word, one character): a row of a fixed-width table
        # led by the space that joins it to the previous token.
        masked_k, first_k = masked[kept], first[kept]
        size = np.where(masked_k, 1, (e - body)[kept])
        table = np.empty((len(kept), _KEY_BYTES + 1), np.uint8)
        table[:, 0] = 0x20
        table[:, 1:] = _windows(data, _KEY_BYTES)[body[kept]]
        table[:, 1] = np.where(masked_k, ord("~"), table[:, 1])
        column = np.arange(_KEY_BYTES + 1)
        values = table[(column >= first_k[:, None]) & (column <= size[:, None])]
        lengths = np.bincount(self.tok_text[kept], weights=size + ~first_k, minlength=self.n).astype(np.int64)
        offsets = _exclusive_cumsum(lengths)
        return _string_views(values, offsets[:-1], offsets[1:])

    def _word_table(self) -> tuple:
        """(joined, word start, word end, first word of each text, words of each text): `joined` holds each text's
        words joined by single spaces, texts one after another; word positions are in `joined`."""
        if self._words is None:
            data, punct = self.data, self.tok_punct
            ws, we = self.tok_start[~punct], self.tok_end[~punct]
            apostrophes = np.flatnonzero(data == ord("'"))  # only ever inside word tokens
            if len(apostrophes):
                ws = np.insert(ws, np.searchsorted(ws, apostrophes + 1), apostrophes + 1)
                we = np.insert(we, np.searchsorted(we, apostrophes), apostrophes)
                some = we > ws
                ws, we = ws[some], we[some]
            w_text = _text_of(ws, self.offsets)
            first = _firsts(w_text)
            lo = ws - ~first  # each word but a text's first keeps the byte before it, which becomes a space
            delta = np.zeros(len(data) + 1, np.int8)
            delta[lo] = 1
            delta[we] -= 1
            joined = data[np.cumsum(delta[:-1], dtype=np.int8).view(bool)]
            word_end = np.cumsum(we - lo)
            word_start = word_end - (we - ws)
            joined[word_start[~first] - 1] = 0x20
            counts = np.bincount(w_text, minlength=self.n)
            self._words = (joined, word_start, word_end, _exclusive_cumsum(counts)[:-1], counts)
        return self._words

    def phrases(self) -> tuple[pl.Series, pl.Series]:
        """The first and the last `PHRASE_WORDS` words of each text joined by single spaces; "" without words."""
        joined, word_start, word_end, first, counts = self._word_table()
        some = counts > 0
        text_start = np.zeros(self.n, np.int64)
        text_end = np.zeros(self.n, np.int64)
        text_start[some] = word_start[first[some]]
        text_end[some] = word_end[first[some] + counts[some] - 1]
        open_end, close_start = text_start.copy(), text_end.copy()
        open_end[some] = word_end[first[some] + np.minimum(counts[some], PHRASE_WORDS) - 1]
        close_start[some] = word_start[first[some] + np.maximum(counts[some] - PHRASE_WORDS, 0)]
        return _string_views(joined, text_start, open_end), _string_views(joined, close_start, text_end)

    def shingles(self) -> tuple[pl.Series, np.ndarray, np.ndarray]:
        """(shingles, their first index for each text with words, which texts have words): shingle j of a text is
        its words j .. j + SHINGLE_WORDS - 1 that exist, joined by single spaces, one per word, in text order."""
        joined, word_start, word_end, first, counts = self._word_table()
        some = counts > 0
        last = np.repeat(first + counts - 1, counts)
        upto = np.minimum(np.arange(len(word_start)) + SHINGLE_WORDS - 1, last)
        return _string_views(joined, word_start, word_end[upto]), first[some], some


# Texts per PromptShapes: its numpy temporaries stay a few MB, which malloc reuses instead of taking fresh pages
# from the kernel for each.
_SHAPE_CHUNK = 16_384


def prompt_shapes(texts: pl.Series, minhasher: MinHasher) -> tuple[pl.Series, pl.Series, pl.Series, pl.Series]:
    """(skeletons, openings, closings, MinHash band keys) of each text, in order."""
    parts = []
    for start in range(0, max(len(texts), 1), _SHAPE_CHUNK):
        shapes = PromptShapes(texts.slice(start, _SHAPE_CHUNK))
        minhash = minhasher.band_keys(None, shapes)
        parts.append((shapes.skeletons(), *shapes.phrases(), minhash))
    skeletons, openings, closings, minhash = (pl.concat(column, rechunk=False) for column in zip(*parts))
    return skeletons, openings, closings, minhash


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
        table = pl.DataFrame({"_prompt": raw.drop_nulls().unique()}, schema={"_prompt": pl.String})
        table = table.with_columns(normalise_text(pl.col("_prompt")).alias("_norm"))
        table = table.with_columns(pl.col("_norm").str.replace_all(DIGIT_RUN, "0").alias("_text"))
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
