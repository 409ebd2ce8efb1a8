"""The tool's environment as the bundle and the custody log record it: Python and dependency versions.

Kept apart from bundle/run.py (which loads polars) so the custody log and `verify` can use it cheaply.
"""

from __future__ import annotations

import platform
from importlib import metadata

from forensics import __version__

DEPENDENCIES = (
    "polars", "polars-hash", "numba", "pyarrow", "networkx", "hdbscan", "numpy", "scipy", "matplotlib", "typer",
    "typst",
)
# polars-hash computes XXH64 (and the keyed pseudonyms where OpenSSL's libcrypto cannot be loaded), numba compiles
# the prompt shapes and MinHash band keys; typst typesets report.pdf, so its version decides the PDF's bytes.
# Fields of `versions` that describe the environment rather than the tool: they may differ on an auditor's
# machine without the analysis differing (`verify --logs` names them and compares everything else).
ENVIRONMENT_FIELDS = ("python", *DEPENDENCIES)


def versions() -> dict[str, str]:
    """Python as major.minor (patch releases do not change results, and would make bundles differ between
    machines), the tool's version, and each dependency's installed version."""
    found = {"python": ".".join(platform.python_version_tuple()[:2]), "forensics": __version__}
    for name in DEPENDENCIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found
