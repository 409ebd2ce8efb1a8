"""Keyed hashing of an incident's own prompts, three ways, in seconds per million values (fastest of three runs):

- Python's `hmac.new` one value at a time: how ingest hashed before issue 19;
- polars-hash's SHA-256 twice over the column (keys._polars_hash_hmac_hex): the fallback where libcrypto is unusable;
- OpenSSL's libcrypto from the key's two midstates (forensics.libcrypto): what ingest uses.

All three must give the same pseudonyms, `HMAC-SHA256(key, "prompt:" + prompt)` cut to 32 hex characters, or the
script fails. Usage: `.venv/bin/python bench/hmac_micro.py LOGS_DIR [--values N] [--json]` (--json: one object,
{"values", "mean_bytes", "rates": {method: seconds per million or null}}, for bench/run.py).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import time
from pathlib import Path

import polars as pl

from forensics import libcrypto
from forensics.keys import PSEUDONYM_HEX_LEN, _polars_hash_hmac_hex

KEY = bytes(range(32))
PREFIX = b"prompt:"


def prompts(logs: Path, count: int) -> pl.Series:
    """The first `count` non-null prompts of the logs, in file order."""
    files = sorted(logs.glob("*.parquet"))
    return pl.scan_parquet(files).select("prompt").drop_nulls().head(count).collect()["prompt"]


def fastest(fn, repeats: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _listed(column: pl.Series | None) -> list | None:
    return None if column is None else column.to_list()


# What each method is called in the printed table; --json keys its rates by the short names.
METHODS = {
    "python": "Python hmac, one value at a time (ingest before issue 19)",
    "polars_hash": "polars-hash, SHA-256 twice over the column (fallback)",
    "libcrypto": "libcrypto from the key's midstates (ingest)",
}


def measure(values: pl.Series) -> dict[str, float | None]:
    """Seconds per million values of each method (None where libcrypto is unusable); exits if any method's
    pseudonyms differ from Python's."""
    block = KEY.ljust(64, b"\0")
    inner, outer = bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)
    texts = values.to_list()
    binary = values.cast(pl.Binary)
    methods = {
        "python": lambda: [
            hmac.new(KEY, PREFIX + t.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX_LEN]
            for t in texts
        ],
        "polars_hash": lambda: _polars_hash_hmac_hex(inner, outer, PREFIX, binary, PSEUDONYM_HEX_LEN).to_list(),
        "libcrypto": lambda: _listed(libcrypto.hmac_hex(inner, outer, PREFIX, binary, PSEUDONYM_HEX_LEN)),
    }
    rates: dict[str, float | None] = {}
    reference = None
    for name, fn in methods.items():
        seconds, out = fastest(fn)
        if out is None:  # libcrypto.hmac_hex returned None: this Python's OpenSSL cannot be used
            rates[name] = None
            continue
        if reference is None:
            reference = out
        elif out != reference:
            raise SystemExit(f"{METHODS[name]}: pseudonyms differ from Python's hmac")
        rates[name] = seconds * 1e6 / max(len(texts), 1)
    return rates


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", type=Path)
    parser.add_argument("--values", type=int, default=200_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    values = prompts(args.logs, args.values)
    if values.is_empty():
        raise SystemExit(f"{args.logs}: no prompts to hash")
    mean_bytes = float(values.str.len_bytes().mean())
    rates = measure(values)
    if args.json:
        rounded = {name: None if seconds is None else round(seconds, 4) for name, seconds in rates.items()}
        print(json.dumps({"values": len(values), "mean_bytes": round(mean_bytes, 1), "rates": rounded}))
        return 0
    print(f"{len(values):,} prompts of the incident, {mean_bytes:.0f} bytes on average; fastest of three runs\n")
    print("| method | s per million values |\n|---|---:|")
    for name, seconds in rates.items():
        print(f"| {METHODS[name]} | {'unavailable' if seconds is None else f'{seconds:.2f}'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
