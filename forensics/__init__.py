"""Offline forensic analysis of LLM API logs for distillation campaigns."""

import os

__version__ = "0.1.0"

# numpy asks the kernel for transparent huge pages on every array of 4 MiB or more. On the 2-core VM this
# project is measured on, each such fault compacts memory and the host re-faults memory the guest had handed
# back: with it off, co-action at 5M rows took 8% less time and at seed scale 17% less (README, Performance).
# numpy reads the setting once, at import: it is set here, before any forensics module imports numpy. A value
# already in the environment wins.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
