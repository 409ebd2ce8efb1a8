"""The cluster stage: evidence between accounts from a case's events and accounts, groups, scores and timelines.

Row-level rules are pure functions over polars frames: features (per-account columns), facts (the keys each
evidence kind blocks on, and the edge table), blocking (shared-key pairs and their chance calibration), coaction,
behaviour and groups; graph combines the edges and clusters them; score judges each group; timelines is the
post-clustering row-level step. run (`forensics cluster`) reads the case, runs them in order and writes the outputs
(forensics.casefiles.CLUSTER_OUTPUTS).
"""
