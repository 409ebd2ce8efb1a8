"""A deterministic generator of realistic LLM-API incidents: benign background, hard negatives, campaigns.

Real provider logs are never shared, so detection is developed and measured on these. Campaigns come in
named tradecraft FAMILIES (fan-out from datacenters, bulk one-shot farms, rotating residential proxies,
low-and-slow sticky homes, API resellers, agentic tool use), and so do the hard negatives that a detector
must not flag; an incident holds the background plus any selection of families, so that detection can be
measured with families held out. Everything is vectorised with numpy and polars and written one UTC day at
a time, so the seed-scale incident streams to disk in bounded memory. The same arguments give byte-identical
files, and every group draws from its own random streams, so a family's accounts and traffic (and the
background's) do not depend on which other families are selected; only the request IDs do.

Ground truth goes to `labels.parquet` only; nothing in the logs or the account table encodes it
(account IDs of every group come from the same keyed bijection).

Modules, in the order a run uses them: families (parameters, scales, scenarios), helpers (vectorised hashing and
text), world (networks, user agents, domains), prompts (text banks and prompt builders), population (accounts and
their infrastructure), days (one day of requests), run (`generate`).
"""

from forensics.synth.families import CAMPAIGN_FAMILIES, FAMILIES, HARD_NEGATIVE_FAMILIES, SCALES, SCENARIOS
from forensics.synth.run import generate

__all__ = ["CAMPAIGN_FAMILIES", "FAMILIES", "HARD_NEGATIVE_FAMILIES", "SCALES", "SCENARIOS", "generate"]
