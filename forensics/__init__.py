"""Offline forensic analysis of LLM API logs for distillation campaigns."""

__version__ = "0.1.0"
