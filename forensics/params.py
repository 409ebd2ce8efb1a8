"""The parameters of `forensics cluster`, with their defaults, in a module that imports nothing heavy: the CLI
reads its option defaults from here without loading polars or the graph code, so `--help` stays fast and the
defaults are written once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from forensics.errors import BadInputError

# kind -> (alpha, scale): the ceiling of one kind's contribution and the evidence at which it reaches 63% of it.
DEFAULT_KIND_STRENGTH: dict[str, tuple[float, float]] = {
    "coaction": (0.9, 2.0),
    "ip_day": (0.6, 0.25),
    "net": (0.3, 0.25),
    "payment": (0.8, 0.5),
    "signup": (0.6, 0.5),
    "template": (0.6, 3.0),
    "sync": (0.6, 0.25),
}


@dataclass(frozen=True)
class GraphParams:
    min_similarity: float = 0.3
    top_k: int = 15
    min_cluster_size: int = 5
    min_samples: int = 3
    # HDBSCAN's cluster_selection_epsilon on the distance 1 - s: members joined at a distance up to this stay
    # in their cluster (without it, allow_single_cluster keeps only the densest core of a uniform campaign),
    # and sub-groups closer than this are not split. A member stays when its min_samples-th strongest link has
    # similarity >= 1 - epsilon: at 0.5, a tenth of the seed-scale campaign accounts, whose third link was
    # 0.40-0.49, were left ungrouped (README, Detection quality).
    cluster_epsilon: float = 0.6
    kind_strength: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_KIND_STRENGTH))


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
    # Shared-key kinds (IP-day, /24, payment, signup burst, templates): keys held by more accounts are skipped.
    key_max_accounts: int = 50
    signup_burst_s: int = 24 * 3600
    sync_bucket_s: int = 600
    sync_max_accounts: int = 50
    sync_min_shared: int = 3
    sync_min_jaccard: float = 0.05
    template_min_shared: int = 2
    # The graph and scoring options, with their defaults taken from GraphParams and ScoreParams.
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
    "signup_burst_s": "--signup-burst",
    "sync_bucket_s": "--sync-bucket",
    "sync_max_accounts": "--sync-max-accounts",
    "sync_min_shared": "--sync-min-shared",
    "sync_min_jaccard": "--sync-min-jaccard",
    "template_min_shared": "--template-min-shared",
    "min_similarity": "--min-similarity",
    "top_k": "--top-k",
    "min_cluster_size": "--min-cluster-size",
    "min_samples": "--min-samples",
    "cluster_epsilon": "--cluster-epsilon",
    "flag_threshold": "--flag-threshold",
    "min_flag_accounts": "--min-flag-accounts",
}
_AT_LEAST = {
    "coaction_window_s": 0, "min_coaction": 1, "coaction_max_accounts": 0, "key_max_accounts": 0, "signup_burst_s": 1,
    "sync_bucket_s": 1, "sync_max_accounts": 0, "sync_min_shared": 1, "template_min_shared": 1, "top_k": 1,
    "min_cluster_size": 2, "min_samples": 1, "min_flag_accounts": 1,
}
_ZERO_IS_NO_CAP = {"coaction_max_accounts", "key_max_accounts", "sync_max_accounts"}
_WITHIN = {  # name: (lowest, highest, whether the highest is allowed)
    "sync_min_jaccard": (0.0, 1.0, True),
    "min_similarity": (0.0, 1.0, True),
    "cluster_epsilon": (0.0, 1.0, False),
    "flag_threshold": (0.0, 1.0, True),
}
