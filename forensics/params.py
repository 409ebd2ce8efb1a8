"""The parameters of `forensics cluster`, with their defaults, in a module that imports nothing heavy: the CLI
reads its option defaults from here without loading polars or the graph code, so `--help` stays fast and the
defaults are written once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from forensics.errors import BadInputError

@dataclass(frozen=True)
class GraphParams:
    # A pair's similarity is E / (E + evidence_scale), E its evidence in log10 units summed over kinds: at
    # E = evidence_scale (by default a one-in-a-million overlap beyond the per-account bound) it is 0.5.
    evidence_scale: float = 6.0
    # Co-action counts enter E at this much per request answered by the other account within the window,
    # up to the maximum (co-action edges count matches, not chance; see README, Detection).
    coaction_evidence: float = 3.0
    coaction_evidence_max: float = 30.0
    # Shared places and busy clocks have innocent explanations (a proxy pool, a campus NAT, office hours): on
    # their own they give a pair at most this much evidence, below what keeps a member in a group.
    network_evidence_max: float = 3.5
    time_evidence_max: float = 3.5
    min_similarity: float = 0.4
    top_k: int = 15
    min_cluster_size: int = 5
    min_samples: int = 3
    # HDBSCAN's cluster_selection_epsilon on the distance 1 - s: members joined at a distance up to this stay
    # in their cluster (without it, allow_single_cluster keeps only the densest core of a uniform campaign),
    # and sub-groups closer than this are not split. A member stays when its min_samples-th strongest link has
    # similarity >= 1 - epsilon.
    cluster_epsilon: float = 0.6


@dataclass(frozen=True)
class ScoreParams:
    flag_threshold: float = 0.5
    min_flag_accounts: int = 5
    signup_burst_h: float = 72.0
    # Accounts singled out for review: >= `high_volume_min_requests` and >= `high_volume_factor` x the median account.
    high_volume_min_requests: int = 1000
    high_volume_factor: float = 100.0
    high_volume_max_listed: int = 100


@dataclass(frozen=True)
class ClusterParams:
    """Every option of `forensics cluster`; all are recorded in clusters.json.

    coaction_max_accounts defaults to 50: a prompt sent by more than 50 distinct accounts is a public or
    popular prompt, not a campaign's private work list, and would cost O(accounts^2) pairs.
    """

    coaction_window_s: int = 60
    min_coaction: int = 2
    coaction_max_accounts: int = 50
    # Shared-key kinds: keys held by more accounts than this are ubiquitous and dropped (0 = no cap); keys held
    # by up to key_all_pairs_max accounts link every pair of holders, larger ones link each holder to
    # key_partners others along the salting ring.
    key_max_accounts: int = 10_000
    key_all_pairs_max: int = 50
    key_partners: int = 12
    signup_burst_s: int = 24 * 3600
    sync_bucket_s: int = 600
    # The graph and scoring options, with their defaults taken from GraphParams and ScoreParams.
    evidence_scale: float = GraphParams.evidence_scale
    coaction_evidence: float = GraphParams.coaction_evidence
    coaction_evidence_max: float = GraphParams.coaction_evidence_max
    # Behavioural nearest neighbours (forensics.detect.behaviour): accounts with at least this many requests, linked when
    # their fingerprints' cosine is at least the minimum, with at most this much evidence per link.
    behaviour_min_requests: int = 20
    behaviour_min_cosine: float = 0.9
    behaviour_evidence_max: float = 4.5
    network_evidence_max: float = GraphParams.network_evidence_max
    time_evidence_max: float = GraphParams.time_evidence_max
    min_similarity: float = GraphParams.min_similarity
    top_k: int = GraphParams.top_k
    min_cluster_size: int = GraphParams.min_cluster_size
    min_samples: int = GraphParams.min_samples
    cluster_epsilon: float = GraphParams.cluster_epsilon
    flag_threshold: float = ScoreParams.flag_threshold
    min_flag_accounts: int = ScoreParams.min_flag_accounts

    def graph_params(self) -> GraphParams:
        return GraphParams(**self._shared_with(GraphParams))

    def score_params(self) -> ScoreParams:
        return ScoreParams(**self._shared_with(ScoreParams))

    def _shared_with(self, params_type: type) -> dict:
        """This object's values of the fields it shares with `params_type`."""
        own = {f.name for f in dataclasses.fields(self)}
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(params_type) if f.name in own}

    def validate(self) -> None:
        for name, low in _AT_LEAST.items():
            value = getattr(self, name)
            if value < low:
                no_cap = " (0 = no cap)" if name in _ZERO_IS_NO_CAP else ""
                raise BadInputError(f"{CLUSTER_FLAGS[name]} must be >= {low}{no_cap}, got {value}")
        for name, (low, high, high_included) in _WITHIN.items():
            value = getattr(self, name)
            if not (low <= value <= high if high_included else low <= value < high):
                bounds = f"[{low:g}, {high:g}{']' if high_included else ')'}"
                raise BadInputError(f"{CLUSTER_FLAGS[name]} must be within {bounds}, got {value}")


# The `forensics cluster` option of every parameter: the CLI declares them (tests/test_cli.py checks that the two
# agree), and the report's re-run commands replay every recorded value with them.
CLUSTER_FLAGS: dict[str, str] = {
    "coaction_window_s": "--coaction-window",
    "min_coaction": "--min-coaction",
    "coaction_max_accounts": "--coaction-max-accounts",
    "key_max_accounts": "--key-max-accounts",
    "key_all_pairs_max": "--key-all-pairs-max",
    "key_partners": "--key-partners",
    "signup_burst_s": "--signup-burst",
    "sync_bucket_s": "--sync-bucket",
    "evidence_scale": "--evidence-scale",
    "coaction_evidence": "--coaction-evidence",
    "coaction_evidence_max": "--coaction-evidence-max",
    "behaviour_min_requests": "--behaviour-min-requests",
    "behaviour_min_cosine": "--behaviour-min-cosine",
    "behaviour_evidence_max": "--behaviour-evidence-max",
    "network_evidence_max": "--network-evidence-max",
    "time_evidence_max": "--time-evidence-max",
    "min_similarity": "--min-similarity",
    "top_k": "--top-k",
    "min_cluster_size": "--min-cluster-size",
    "min_samples": "--min-samples",
    "cluster_epsilon": "--cluster-epsilon",
    "flag_threshold": "--flag-threshold",
    "min_flag_accounts": "--min-flag-accounts",
}
_AT_LEAST = {
    "coaction_window_s": 0, "min_coaction": 1, "coaction_max_accounts": 0, "key_max_accounts": 0,
    "key_all_pairs_max": 2, "key_partners": 2, "signup_burst_s": 1, "sync_bucket_s": 60, "evidence_scale": 0.1,
    "coaction_evidence": 0.0, "coaction_evidence_max": 0.0, "network_evidence_max": 0.0, "time_evidence_max": 0.0,
    "behaviour_min_requests": 2, "behaviour_evidence_max": 0.0, "top_k": 1, "min_cluster_size": 2, "min_samples": 1,
    "min_flag_accounts": 1,
}
_ZERO_IS_NO_CAP = {"coaction_max_accounts", "key_max_accounts"}
_WITHIN = {  # name: (lowest, highest, whether the highest is allowed)
    "behaviour_min_cosine": (0.0, 1.0, False),
    "min_similarity": (0.0, 1.0, True),
    "cluster_epsilon": (0.0, 1.0, False),
    "flag_threshold": (0.0, 1.0, True),
}
