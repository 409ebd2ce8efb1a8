"""The evidence bundle: `forensics report` (run) renders a case's cluster outputs as a BagIt bundle (render: the
HTML, Markdown and PDF documents; figures: the charts; case_metadata: the case's descriptive fields; bag: the
manifests and signature), and `forensics verify` (verify) checks one.

Nothing here is imported by `forensics --help` or needed by `verify` beyond bag and case_metadata: this package's
__init__ stays free of imports so that verify loads no polars."""
