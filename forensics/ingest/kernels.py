"""Compiled loops over UTF-8 bytes (numba): XXH64 and the prompt shapes, one pass over each text's bytes where
numpy needs a dozen passes over arrays as large as the text.

Every function here is pure and released from the GIL, so the ingest's derivation threads (and Spark's Python
workers) run them side by side. Their definitions are in pseudonymise.prompt_shapes and MinHasher; tests
compare them with the schema's regular expressions and with a plain-Python XXH64.
"""

from __future__ import annotations

import numpy as np

from forensics.compiled import compiled

_P1 = np.uint64(0x9E3779B185EBCA87)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_P3 = np.uint64(0x165667B19E3779F9)
_P4 = np.uint64(0x85EBCA77C2B2AE63)
_P5 = np.uint64(0x27D4EB2F165667C5)
_ZERO = np.uint64(0)
_SPACE = 0x20
MARK = 0x01  # leads a token that is one character (pseudonymise.prompt_shapes marks them)
_APOSTROPHE = 0x27
_TILDE = 0x7E
KEY_BYTES = 8  # function words are compared as their UTF-8 bytes read as one little-endian uint64


@compiled(inline="always")
def _rotl(x, r):
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


@compiled(inline="always")
def _read(data, i, width):
    """`width` bytes from data[i] as a little-endian integer."""
    v = _ZERO
    for k in range(width):
        v |= np.uint64(data[i + k]) << np.uint64(8 * k)
    return v


@compiled(inline="always")
def _round(acc, lane):
    return _rotl(acc + lane * _P2, 31) * _P1


@compiled(nogil=True)
def xxh64(data, start, end, seed):
    """XXH64 (the xxHash specification, 64-bit variant) of data[start:end] with a 64-bit seed."""
    n = end - start
    i = start
    if n >= 32:
        v1 = seed + _P1 + _P2
        v2 = seed + _P2
        v3 = seed
        v4 = seed - _P1
        while i + 32 <= end:
            v1 = _round(v1, _read(data, i, 8))
            v2 = _round(v2, _read(data, i + 8, 8))
            v3 = _round(v3, _read(data, i + 16, 8))
            v4 = _round(v4, _read(data, i + 24, 8))
            i += 32
        h = _rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)
        for v in (v1, v2, v3, v4):
            h = (h ^ _round(_ZERO, v)) * _P1 + _P4
    else:
        h = seed + _P5
    h += np.uint64(n)
    return _avalanche(_tail(data, i, end, h, h, h, h)[0])  # the three unused accumulators compile away


@compiled(inline="always")
def _tail(data, i, end, a0, a1, a2, a3):
    """XXH64's rounds after its 32-byte stripes, over data[i:end], on four accumulators at once (four seeds):
    only the accumulators depend on the seed, so the bytes are read once for all four, and the accumulators,
    scalars, stay in registers."""
    while i + 8 <= end:
        lane = _round(_ZERO, _read(data, i, 8))
        a0, a1, a2, a3 = (_rotl(a0 ^ lane, 27) * _P1 + _P4, _rotl(a1 ^ lane, 27) * _P1 + _P4,
                          _rotl(a2 ^ lane, 27) * _P1 + _P4, _rotl(a3 ^ lane, 27) * _P1 + _P4)
        i += 8
    if i + 4 <= end:
        word = _read(data, i, 4) * _P1
        a0, a1, a2, a3 = (_rotl(a0 ^ word, 23) * _P2 + _P3, _rotl(a1 ^ word, 23) * _P2 + _P3,
                          _rotl(a2 ^ word, 23) * _P2 + _P3, _rotl(a3 ^ word, 23) * _P2 + _P3)
        i += 4
    while i < end:
        byte = np.uint64(data[i]) * _P5
        a0, a1, a2, a3 = (_rotl(a0 ^ byte, 11) * _P1, _rotl(a1 ^ byte, 11) * _P1,
                          _rotl(a2 ^ byte, 11) * _P1, _rotl(a3 ^ byte, 11) * _P1)
        i += 1
    return a0, a1, a2, a3


@compiled(inline="always")
def _avalanche(h):
    h = (h ^ (h >> np.uint64(33))) * _P2
    h = (h ^ (h >> np.uint64(29))) * _P3
    return h ^ (h >> np.uint64(32))


@compiled(inline="always")
def _least_hashes(data, start, end, seeds, signature):
    """signature[r] = min(signature[r], XXH64(data[start:end], seeds[r])) for every seed (a multiple of four);
    an input shorter than one 32-byte stripe is read once for every four seeds (`_tail`)."""
    n = end - start
    if n >= 32:
        for r in range(len(seeds)):
            signature[r] = min(signature[r], xxh64(data, start, end, seeds[r]))
        return
    for r in range(0, len(seeds), 4):
        base = _P5 + np.uint64(n)
        hashes = _tail(data, start, end, seeds[r] + base, seeds[r + 1] + base, seeds[r + 2] + base, seeds[r + 3] + base)
        for k in range(4):
            signature[r + k] = min(signature[r + k], _avalanche(hashes[k]))


@compiled(inline="always")
def _is_function_word(table, key):
    """Whether `key` (a token's bytes, kernels.KEY_BYTES at most, as one integer) is in `table`, an open-addressing
    hash table of the function words' keys (pseudonymise._function_word_table): one probe or two, where a binary
    search of the sorted keys took eight. 0 marks an empty slot, and is no function word."""
    mask = np.uint64(len(table) - 1)
    slot = function_word_slot(key) & mask
    while table[slot] != _ZERO:
        if table[slot] == key:
            return True
        slot = (slot + np.uint64(1)) & mask
    return False


@compiled(inline="always")
def function_word_slot(key):
    """Where a function word's key is first looked for in the table (the multiplicative hash's high bits)."""
    return (key * _P1) >> np.uint64(32)


@compiled(inline="always")
def _copy(src, start, end, dst, at):
    for k in range(start, end):
        dst[at + k - start] = src[k]
    return at + end - start


@compiled(inline="always")
def _decimal(value, buf, at):
    """Write the decimal digits of an unsigned 64-bit value at buf[at]; return the end."""
    digits = 1
    rest = value // np.uint64(10)
    while rest > _ZERO:
        digits += 1
        rest //= np.uint64(10)
    for k in range(digits - 1, -1, -1):
        buf[at + k] = np.uint8(value % np.uint64(10)) + 0x30
        value //= np.uint64(10)
    return at + digits


@compiled(inline="always")
def _is_word_byte(c):
    """An ASCII letter, digit or apostrophe: what schema.SKELETON_TOKEN's word alternative matches in ASCII."""
    folded = c | 0x20
    return (0x30 <= c <= 0x39) or (0x61 <= folded <= 0x7A) or c == _APOSTROPHE


@compiled(inline="always")
def _is_ascii_space(c):
    """What the regular expressions' Unicode \\s matches in ASCII: tab to carriage return, and space."""
    return c == _SPACE or 0x09 <= c <= 0x0D


@compiled(nogil=True)
def prompt_shapes(offsets, data, premarked, function_word_table, phrase_words, shingle_words, seeds, band_seeds, rows_per_band):
    """Skeletons, openings, closings (each as n + 1 offsets and bytes) and MinHash band keys (n x bands) of texts.

    A text is read in one of two ways. Where `premarked[t]` is set, pseudonymise.prompt_shapes has spaced and
    marked it: tokens are the runs of bytes between spaces, and a token led by the mark byte is one character that
    is not a letter, a number or an apostrophe. Otherwise the text is ASCII as it came: tokens are runs of ASCII
    letters, digits and apostrophes, and every other byte that is not white space is a token of its own.
    `function_word_table` is pseudonymise._function_word_table; the MinHash seeds come in fours.
    """
    if len(seeds) % 4:
        raise ValueError("MinHash seeds must come in fours")
    n = len(offsets) - 1
    size = max(len(data), 1)
    # Tokens are joined by one space, and two ASCII tokens can touch ("a~"): a skeleton is at most twice its text.
    skel, opening, closing = np.empty(2 * size, np.uint8), np.empty(size, np.uint8), np.empty(size, np.uint8)
    skel_off, open_off, close_off = np.zeros(n + 1, np.int64), np.zeros(n + 1, np.int64), np.zeros(n + 1, np.int64)
    longest = 1  # scratch for one text: its words joined by single spaces, and where each word is in it
    for t in range(n):
        longest = max(longest, offsets[t + 1] - offsets[t])
    joined = np.empty(longest, np.uint8)
    word_start, word_end = np.empty(longest, np.int64), np.empty(longest, np.int64)
    signature = np.empty(len(seeds), np.uint64)
    label = np.empty(21 * rows_per_band, np.uint8)
    bands = np.empty((n, len(band_seeds)), np.uint64)
    sk = op = cl = 0
    for t in range(n):
        i, stop = offsets[t], offsets[t + 1]
        marked = premarked[t]
        words = length = 0
        first = True
        previous_tilde = False
        while i < stop:
            c = data[i]
            if c == _SPACE or (not marked and _is_ascii_space(c)):
                i += 1
                continue
            s = i
            if marked:
                while i < stop and data[i] != _SPACE:
                    i += 1
                single = c == MARK
                body = s + 1 if single else s
            elif _is_word_byte(c):
                while i < stop and _is_word_byte(data[i]):
                    i += 1
                single = False
                body = s
            else:
                i += 1
                single = True
                body = s
            if single:
                masked = False
                tilde = i - body == 1 and data[body] == _TILDE
            else:
                masked = True
                if i - s <= KEY_BYTES:
                    key = _read(data, s, i - s)
                    masked = not _is_function_word(function_word_table, key)
                tilde = masked
                w = s
                for k in range(s, i + 1):  # words: the token split at its apostrophes
                    if k == i or data[k] == _APOSTROPHE:
                        if k > w:
                            if words:
                                joined[length] = _SPACE
                                length += 1
                            word_start[words] = length
                            length = _copy(data, w, k, joined, length)
                            word_end[words] = length
                            words += 1
                        w = k + 1
            if first or not (tilde and previous_tilde):  # a run of "~" tokens collapses into one
                if not first:
                    skel[sk] = _SPACE
                    sk += 1
                if masked:
                    skel[sk] = _TILDE
                    sk += 1
                else:
                    sk = _copy(data, body, i, skel, sk)
            first = False
            previous_tilde = tilde
        skel_off[t + 1] = sk
        if words:
            op = _copy(joined, 0, word_end[min(words, phrase_words) - 1], opening, op)
            cl = _copy(joined, word_start[max(words - phrase_words, 0)], word_end[words - 1], closing, cl)
        open_off[t + 1] = op
        close_off[t + 1] = cl
        signature[:] = ~_ZERO
        if words == 0:  # a text without words has the one shingle ""
            _least_hashes(joined, 0, 0, seeds, signature)
        for j in range(words):
            _least_hashes(joined, word_start[j], word_end[min(j + shingle_words - 1, words - 1)], seeds, signature)
        for b in range(len(band_seeds)):
            at = 0
            for r in range(rows_per_band):
                if r:
                    label[at] = 0x3A  # ":"
                    at += 1
                at = _decimal(signature[b * rows_per_band + r], label, at)
            bands[t, b] = xxh64(label, 0, at, band_seeds[b])
    return (skel_off, skel[:sk]), (open_off, opening[:op]), (close_off, closing[:cl]), bands


@compiled(nogil=True)
def normalise_ascii(offsets, data, skip):
    """Each text lower-cased, its white-space runs made one space and trimmed (pseudonymise.normalise_text), and that
    text with each run of digits made "0" (schema.DIGIT_RUN), as two columns of n + 1 offsets and bytes, for ASCII
    texts. A text where `skip[t]` is set is left empty in both, for the caller to fill.
    """
    n = len(offsets) - 1
    size = max(len(data), 1)
    norm, text = np.empty(size, np.uint8), np.empty(size, np.uint8)
    norm_off, text_off = np.zeros(n + 1, np.int64), np.zeros(n + 1, np.int64)
    a = b = 0
    for t in range(n):
        start, stop = offsets[t], offsets[t + 1]
        if not skip[t]:
            space = False  # white space seen since the last character written
            digits = False  # the last character written to `text` is a masked run of digits
            for i in range(start, stop):
                c = data[i]
                if _is_ascii_space(c):
                    space = a > norm_off[t]
                    continue
                if space:
                    norm[a] = _SPACE
                    text[b] = _SPACE
                    a += 1
                    b += 1
                    space = digits = False
                if 0x41 <= c <= 0x5A:
                    c += 0x20
                norm[a] = c
                a += 1
                if 0x30 <= c <= 0x39:
                    if not digits:
                        text[b] = 0x30
                        b += 1
                    digits = True
                else:
                    text[b] = c
                    b += 1
                    digits = False
        norm_off[t + 1] = a
        text_off[t + 1] = b
    return (norm_off, norm[:a]), (text_off, text[:b])
