"""Offline forensic analysis of LLM API logs for distillation campaigns."""

import os

__version__ = "0.1.0"

# numpy asks the kernel for transparent huge pages on every array of 4 MiB or more. On the 2-core VM this
# project is measured on, such faults cost more system time than they save: with the advice off, co-action took
# about 8% less time at 5M rows and 17% less at seed scale (README, Performance). numpy reads the setting once,
# at import, so it is set here, before any forensics module imports numpy. A value already in the environment
# wins.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
