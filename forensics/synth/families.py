"""The incident's parameters: the window and models, the campaign and hard-negative families and the groups they
bring, scales, scenarios, and each group's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from forensics.errors import BadInputError


WINDOW_START = datetime(2026, 4, 22, tzinfo=timezone.utc)
DAYS = 45  # 2026-04-22 .. 2026-06-05 inclusive
WINDOW_END = WINDOW_START + timedelta(days=DAYS)
RELEASE_DAY = 22  # 2026-05-14: the new model becomes available at 16:00 UTC
RELEASE_SECOND = 16 * 3600
MODELS = ("nova-3-mini", "nova-3", "nova-3-pro", "nova-4")
NEW_MODEL = 3
SEED_CAMPAIGN_ACCOUNTS = 25_000
DAY_US = 86_400_000_000
START_US = int(WINDOW_START.timestamp()) * 1_000_000
CHUNK_DAYS = {"tiny": 45, "sample": 15, "small": 5, "medium": 1, "quarter": 1, "half": 1, "seed": 1}
PARQUET = dict(compression="zstd", compression_level=3, statistics=True, row_group_size=262_144)


# Campaign tradecraft families (label `attack`), in a fixed order; one campaign per family, named after it.
CAMPAIGN_FAMILIES = (
    "fanout-datacenter", "bulk-datacenter", "hydra-residential", "lowslow-sticky", "reseller-relay", "agentic",
)
# Benign structures that look like campaigns (label `hard_negative`).
HARD_NEGATIVE_FAMILIES = (
    "eval-org", "classroom", "platform-relay", "university-nat", "enterprise-org", "wrapper-app", "eval-harness",
    "mobile-cgnat",
)
FAMILIES = CAMPAIGN_FAMILIES + HARD_NEGATIVE_FAMILIES
# Benign customers of a campaign's own infrastructure: they come with the family and are not selectable alone.
COMPANIONS = {"hydra-residential": ("proxy-customers",), "reseller-relay": ("relay-customers",)}
# Every group in a fixed order (account slots, random streams and the label table follow it).
GROUPS = ("background",) + HARD_NEGATIVE_FAMILIES + ("proxy-customers", "relay-customers") + CAMPAIGN_FAMILIES
LABELS = {g: "attack" if g in CAMPAIGN_FAMILIES else "benign" if g == "background" else "hard_negative"
          for g in GROUPS}
CODE = {g: i for i, g in enumerate(GROUPS)}
# Share of SEED_CAMPAIGN_ACCOUNTS * scale.factor per campaign family (a family keeps its size when run alone).
_CAMPAIGN_SHARE = {
    "fanout-datacenter": 0.16, "bulk-datacenter": 0.28, "hydra-residential": 0.24, "lowslow-sticky": 0.12,
    "reseller-relay": 0.12, "agentic": 0.08,
}
_MIN_CAMPAIGN = 8


@dataclass(frozen=True)
class Scale:
    """Group sizes and activity of one scale. Seed-sized groups are multiplied by `factor`."""

    factor: float
    floors: bool  # keep hard-negative groups large enough to matter at small factors
    human_rate: float  # multiplier on benign active days (small scales: fewer days, same daily habits)
    campaign_days: float  # share of days on which campaigns (and the eval org) work: small scales, same daily volume
    harness_job: int  # mean requests per evaluation-harness run


SCALES: dict[str, Scale] = {
    "tiny": Scale(0.0024, False, 0.12, 0.3, 15),
    "sample": Scale(0.0096, True, 0.4, 0.45, 200),
    "small": Scale(0.025, True, 1.0, 1.0, 2_500),
    "medium": Scale(0.125, True, 1.0, 1.0, 4_000),
    "quarter": Scale(0.25, False, 1.0, 1.0, 5_000),
    "half": Scale(0.5, False, 1.0, 1.0, 5_000),
    "seed": Scale(1.0, False, 1.0, 1.0, 6_000),
}

# Seed-scale sizes of the non-campaign groups (classroom: see _SEED_CLASSES).
_SEED_SIZES = {
    "background": 150_000,
    "mobile-cgnat": 40_000,
    "university-nat": 1_500,
    "enterprise-org": 400,
    "wrapper-app": 3_000,
    "eval-harness": 6,
    "eval-org": 30,
    "platform-relay": 2_000,
    "proxy-customers": 1_500,
    "relay-customers": 1_000,
}
_FLOORS = {"university-nat": 60, "enterprise-org": 25, "wrapper-app": 80, "eval-harness": 2, "eval-org": 12,
           "platform-relay": 60, "proxy-customers": 40, "relay-customers": 40, "classroom": 2}
_TINY_MIN = {"university-nat": 20, "enterprise-org": 10, "wrapper-app": 20, "eval-harness": 1, "eval-org": 12,
             "platform-relay": 20, "proxy-customers": 12, "relay-customers": 12, "classroom": 1}
_SEED_CLASSES = 6  # classroom: classes of 30-60 students
# Multiplied by the scenario: hard negatives by `hard_negatives`, the campaigns' benign customers by `customers`.
_SCENARIO_FREE = {"background", "mobile-cgnat", "eval-harness"}
_CUSTOMERS = ("proxy-customers", "relay-customers")


@dataclass(frozen=True)
class Scenario:
    """A mix of hard negatives: how many of each family, and how many benign customers share campaign infrastructure."""

    hard_negatives: float
    customers: float
    enterprise_orgs: int
    description: str


SCENARIOS: dict[str, Scenario] = {
    "default": Scenario(1.0, 1.0, 1, "the reference mix"),
    "many-hard-negatives": Scenario(3.0, 3.0, 3, "three times the hard negatives, three enterprise orgs"),
    "few-hard-negatives": Scenario(0.3, 0.3, 1, "a third of the hard negatives"),
    "shared-proxy": Scenario(
        1.0, 6.0, 1, "six times the benign customers of the hydra proxy pool and of the reseller relay"
    ),
}


def lerp(a: float, b: float, s: float) -> float:
    return a + (b - a) * s


def selected_families(families: Sequence[str] | str) -> tuple[str, ...]:
    """The selected families in FAMILIES order; 'all' stands for every family."""
    if isinstance(families, str):
        families = (families,)
    names = list(families) or ["all"]
    unknown = [f for f in names if f != "all" and f not in FAMILIES]
    if unknown:
        raise BadInputError(
            f"unknown family {unknown[0]!r}; choose from all, {', '.join(FAMILIES)}"
        )
    chosen = set(FAMILIES) if "all" in names else set(names)
    return tuple(f for f in FAMILIES if f in chosen)


def groups_of(families: tuple[str, ...]) -> tuple[str, ...]:
    chosen = {"background", *families, *(c for f in families for c in COMPANIONS.get(f, ()))}
    return tuple(g for g in GROUPS if g in chosen)


def group_sizes(seed: int, scale: Scale, scenario: Scenario) -> tuple[dict[str, int], np.ndarray]:
    """Account count of every group (selected or not, so that account slots do not depend on the selection),
    and the class sizes of the classroom family."""
    sizes = {}
    for group, seed_size in _SEED_SIZES.items():
        mult = (1.0 if group in _SCENARIO_FREE
                else scenario.customers if group in _CUSTOMERS else scenario.hard_negatives)
        size = seed_size * scale.factor * mult
        if group in _FLOORS:
            size = max(size, (_FLOORS if scale.floors else _TINY_MIN)[group] * mult)
        sizes[group] = max(1, int(round(size)))
    floor = (_FLOORS if scale.floors else _TINY_MIN)["classroom"]
    classes = max(1, int(round(max(_SEED_CLASSES * scale.factor, floor) * scenario.hard_negatives)))
    class_sizes = np.random.default_rng([seed, 0x5EED, CODE["classroom"]]).integers(30, 61, classes)
    sizes["classroom"] = int(class_sizes.sum())
    total = SEED_CAMPAIGN_ACCOUNTS * scale.factor
    for fam in CAMPAIGN_FAMILIES:
        sizes[fam] = max(_MIN_CAMPAIGN, int(round(_CAMPAIGN_SHARE[fam] * total)))
    return sizes, class_sizes
