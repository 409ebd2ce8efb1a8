"""Canonical JSON: sorted keys, no NaN, fixed float formatting, so equal content gives equal bytes."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

FLOAT_DIGITS = 6


def _canonical(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("canonical JSON has no NaN or infinity")
        rounded = round(value, FLOAT_DIGITS)
        return 0.0 if rounded == 0 else rounded
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _canonical(value.item())
    return value


def dumps(value: Any) -> str:
    return json.dumps(_canonical(value), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write(path: Path, value: Any) -> None:
    from forensics.fsio import write_bytes_atomic

    write_bytes_atomic(path, dumps(value).encode("utf-8"))


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
