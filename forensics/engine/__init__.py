"""Engines that run the row-level stage. `local` (engine.local: polars in this process) is the default; `spark`
(engine.spark, engine.spark_ingest) runs the same per-row rules on a Spark cluster or a Spark Connect server. The
rules themselves live with their stage (forensics.ingest), so both engines call one implementation of each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from forensics.errors import BadInputError

if TYPE_CHECKING:
    from forensics.engine.spark import SparkTarget

ENGINES = ("local", "spark")


class EngineOptionError(BadInputError):
    """An --engine that does not exist, or --spark-* options without --engine spark."""


def spark_target(engine: str, master: str | None, remote: str | None, conf: Sequence[str]) -> SparkTarget | None:
    """The Spark target of the command-line options, or None for the local engine."""
    if engine not in ENGINES:
        raise EngineOptionError(f"--engine {engine!r}: expected one of {', '.join(ENGINES)}")
    if engine == "local":
        given = [name for name, value in (("--spark-master", master), ("--spark-remote", remote), ("--spark-conf", conf)) if value]
        if given:
            raise EngineOptionError(f"{', '.join(given)} {'apply' if len(given) > 1 else 'applies'} to --engine spark only")
        return None
    from forensics.engine.spark import SparkTarget

    return SparkTarget.from_options(master, remote, conf)
