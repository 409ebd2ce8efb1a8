"""The population: every group's accounts (humans, harnesses, the eval org, classrooms, campaigns), their shared
infrastructure and account-table rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import polars as pl

from forensics.errors import InternalError
from forensics.synth.families import (
    CAMPAIGN_FAMILIES,
    CODE,
    DAYS,
    DAY_US,
    GROUPS,
    RELEASE_DAY,
    START_US,
    WINDOW_START,
    Scale,
    Scenario,
    group_sizes,
    groups_of,
    lerp,
)
from forensics.synth.helpers import b32_ids, hex_ids, pick_text, splitmix
from forensics.synth.prompts import BENCHES, COURSES
from forensics.synth.world import (
    ALL_DOMAINS,
    BROWSER_UAS,
    BROWSER_W,
    CC,
    COUNTRIES,
    CW,
    DOM_EVAL_ORG,
    DOM_HARNESS,
    DOM_THROWAWAY,
    DOM_UNIV,
    EMAIL_DOMAINS,
    EMAIL_W,
    NETS,
    SDK_UAS,
    SDK_W,
    SYS_AGENT0,
    SYS_HELPFUL,
    SYS_NONE,
    SYS_ORG0,
    SYS_PLATFORM,
    SYS_SOLVER,
    SYS_UNIQUE,
    SYS_WRAPPER,
    TZ,
    UA_BROWSER0,
    UA_ENTERPRISE,
    UA_HTTPX,
    UA_LANGCHAIN,
    UA_OLD_REQUESTS,
    UA_OPENAI_PY,
    UA_PLATFORM,
    UA_RELAY,
    UA_SDK0,
    UA_WRAPPER,
    WORK_DOMAINS,
    country_asn,
    host_in_asn,
)


@dataclass
class Campaign:
    """Tradecraft of one campaign family, already interpolated for the stealth level."""

    name: str
    code: int  # index in CAMPAIGN_FAMILIES
    accounts: np.ndarray  # global account indices
    rate: np.ndarray  # per-account mean requests per active day (3..30)
    start: np.ndarray  # first and last active day per account
    end: np.ndarray
    p_day: float  # chance that an account is active on one of its days
    weekend: float  # multiplier on p_day on Saturdays and Sundays
    schedule: str  # "balanced" | "waves" | "workday" | "chains"
    waves: int = 0
    wave_start_h: float = 0.0  # the waves of a day are spread over [start, start + span) UTC hours
    wave_span_h: float = 24.0
    join: float = 1.0  # chance that an account joins a given wave
    jitter_s: float = 0.0  # mean delay after the wave (or after the scheduled slot)
    fanout: float = 1.0  # mean accounts per item (1: each item is sent once)
    fan_min: int = 1
    copy_jitter_s: float = 0.0  # mean delay of a fan-out copy after the first copy
    tz: float = 0.0  # workday: the time zone mimicked
    step_gap_s: float = 0.0  # chains: seconds between the calls of one task
    template: str = "math"
    paraphrase: float = 0.0
    reasoning: float = 1.0
    ip_mode: str = "pool"  # "pool" (any address of a shared pool per request) | "sticky" (one per account)
    pool: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint32))
    pool_asn: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    geo: np.ndarray | None = None  # rotating pool: per-account country of the exit (-1: any)
    geo_offsets: np.ndarray | None = None  # pool sorted by country: first entry of each country
    acct_ip: np.ndarray | None = None
    acct_asn: np.ndarray | None = None
    ua: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    sys: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    lag: np.ndarray = field(default_factory=lambda: np.zeros(0))  # days after the release before switching
    p_pro: float = 0.9
    prompt_elicit: np.ndarray | None = None  # agentic: accounts that ask for reasoning in the task prompt


@dataclass
class Block:
    """Public account attributes of one group (local arrays), before they go into the account table."""

    created: np.ndarray  # µs since window start
    email: np.ndarray  # index into ALL_DOMAINS
    card: np.ndarray  # local card number, -1: no payment method
    billing: np.ndarray  # index into COUNTRIES
    org: np.ndarray  # local org number, -1: none


@dataclass
class Population:
    n: int
    group: np.ndarray  # index into groups
    groups: list[str]
    slot: np.ndarray  # stable account number (independent of the selection)
    account_id: pl.Series
    created_us: np.ndarray  # signup instant, µs since the epoch
    accounts: pl.DataFrame  # the public account table, in account index order
    humans: list[dict]  # per human group: parameters aligned with ["idx"]
    harness: dict | None
    eval_org: dict | None
    classroom: dict | None
    campaigns: list[Campaign]
    infra: "Infra"
    campaign_days: float


def _residential_pool(rng: np.random.Generator, size: int, countries: tuple[str, ...], salt: int):
    ci = np.array([CC.index(c) for c in countries])[rng.integers(0, len(countries), size)]
    h = splitmix(np.arange(size, dtype=np.uint64), salt)
    asn_i = country_asn(NETS.residential, ci, h >> np.uint64(40))
    return host_in_asn(asn_i, h), asn_i


def _datacenter_pool(rng: np.random.Generator, size: int, nets: int, asn_choices: np.ndarray, salt: int):
    """`size` addresses spread over `nets` /24 prefixes of the given cloud ASNs (distinct within a prefix)."""
    nets = max(1, nets)
    net_asn = asn_choices[rng.integers(0, len(asn_choices), nets)]
    net_third = rng.integers(0, 4096, nets).astype(np.uint32)
    which = np.arange(size) % nets
    offset = (splitmix(np.arange(nets, dtype=np.uint64), salt) % np.uint64(254)).astype(np.int64)
    host = (1 + (np.arange(size) // nets + offset[which]) % 254).astype(np.uint32)
    ips = (NETS.base[net_asn[which]] | (net_third[which] << np.uint32(8)) | host).astype(np.uint32)
    return ips, net_asn[which]


def _created(rng: np.random.Generator, n: int, day: float | np.ndarray, width_h: float) -> np.ndarray:
    """Signup instants (µs since window start) in a burst centred on `day`, roughly `width_h` wide."""
    return ((np.asarray(day) * 86_400 + rng.normal(0.0, width_h * 3600 / 4, n)) * 1e6).astype(np.int64)


def _trickle(rng: np.random.Generator, n: int, first: float, last: float) -> np.ndarray:
    """Signup instants spread evenly over days [first, last)."""
    return (rng.uniform(first, last, n) * 86_400e6).astype(np.int64)


def _personal_emails(rng: np.random.Generator, k: int, work_share: float = 0.18) -> np.ndarray:
    work = rng.random(k) < work_share
    return np.where(
        work,
        len(EMAIL_DOMAINS) + rng.integers(0, len(WORK_DOMAINS), k),
        rng.choice(len(EMAIL_DOMAINS), k, p=EMAIL_W / EMAIL_W.sum()),
    )


def _throwaway_or_personal(rng: np.random.Generator, k: int, throwaway: float, which: int = 6) -> np.ndarray:
    return np.where(rng.random(k) < throwaway, DOM_THROWAWAY + rng.integers(0, which, k), _personal_emails(rng, k))


def _shared_cards(rng: np.random.Generator, k: int, per_card: float) -> np.ndarray:
    n_cards = max(1, int(round(k / max(per_card, 1.0))))
    return rng.integers(0, n_cards, k)


def _billing(rng: np.random.Generator, k: int, mismatch: float, abroad: tuple[str, ...],
             local: np.ndarray) -> np.ndarray:
    """Billing country: one of `abroad` with probability `mismatch`, else `local` (the IP country)."""
    away = np.array([CC.index(c) for c in abroad])[rng.integers(0, len(abroad), k)]
    return np.where(rng.random(k) < mismatch, away, local)


def _browser_uas(rng: np.random.Generator, k: int) -> np.ndarray:
    return UA_BROWSER0 + rng.choice(len(BROWSER_UAS), k, p=BROWSER_W / BROWSER_W.sum())


def _sdk_uas(rng: np.random.Generator, k: int) -> np.ndarray:
    return UA_SDK0 + rng.choice(len(SDK_UAS), k, p=SDK_W / SDK_W.sum())


# ---- shared infrastructure ---------------------------------------------------------------------------

_HYDRA_COUNTRIES = ("US", "GB", "DE", "CA", "FR", "JP", "NL", "AU", "BR", "IN", "ES", "IT", "PL", "MX", "KR", "SE")


@dataclass
class Infra:
    """Addresses shared between a campaign and the benign customers of the same service."""

    hydra_pool: np.ndarray
    hydra_asn: np.ndarray
    hydra_offsets: np.ndarray  # pool sorted by country index; offsets[c]..offsets[c+1]
    relay_pool: np.ndarray
    relay_asn: np.ndarray
    platform_pool: np.ndarray
    platform_asn: np.ndarray
    mobile_pool_size: np.ndarray  # CGNAT egress addresses per carrier ASN
    univ_nat_size: int


def _infra(seed: int, sizes: dict[str, int], stealth: float) -> Infra:
    s = stealth
    rng = np.random.default_rng([seed, 0x1F7A])
    size = int(max(lerp(150, 600, s), sizes["hydra-residential"] * lerp(0.6, 2.0, s)))
    pool, asn = _residential_pool(rng, size, _HYDRA_COUNTRIES, seed * 7 + 2)
    order = np.lexsort((np.arange(size), NETS.country[asn]))
    pool, asn = pool[order], asn[order]
    offsets = np.searchsorted(NETS.country[asn], np.arange(len(COUNTRIES) + 1))
    # The reseller's relay: a handful of egress addresses in one /24 of one cloud ASN (Frankfurt).
    relay, relay_asn = _datacenter_pool(rng, int(round(lerp(4, 10, s))), 1, NETS.datacenter[5:6], seed * 7 + 3)
    platform, platform_asn = _datacenter_pool(rng, 4, 1, NETS.datacenter[10:11], seed * 7 + 4)
    # Carrier-grade NAT: about one egress address per 25 expected mobile users of the carrier.
    mobile_users = (0.25 * sizes["background"] + sizes["mobile-cgnat"]) * CW / CW.sum()
    per_carrier = np.zeros(len(NETS.asn))
    for ci, carriers in NETS.mobile.items():
        per_carrier[carriers] = mobile_users[ci] / len(carriers)
    return Infra(
        hydra_pool=pool, hydra_asn=asn, hydra_offsets=offsets, relay_pool=relay, relay_asn=relay_asn,
        platform_pool=platform, platform_asn=platform_asn,
        mobile_pool_size=np.maximum(4, (per_carrier // 25).astype(np.int64)),
        univ_nat_size=max(4, sizes["university-nat"] // 60),
    )


# ---- humans --------------------------------------------------------------------------------------------

_HUMAN_GROUPS = ("background", "mobile-cgnat", "university-nat", "enterprise-org", "wrapper-app", "platform-relay",
                 "classroom", "proxy-customers", "relay-customers")


def _humans(name: str, k: int, rng: np.random.Generator, seed: int, slots: np.ndarray, scale: Scale,
            scenario: Scenario, infra: Infra, class_of: np.ndarray | None) -> tuple[Block, dict]:
    """People: heavy-tailed daily volumes, diurnal in their own time zones, home lines, phones and NATs."""
    home_country = rng.choice(len(COUNTRIES), size=k, p=CW / CW.sum())
    rate = np.minimum(np.exp(rng.normal(0.5, 1.35, k)), 1_500.0)
    p_active = rng.beta(1.3, 2.6, k) * scale.human_rate
    tz = TZ[home_country] + rng.normal(0.0, 0.6, k)
    style = np.zeros(k, dtype=np.int64)  # 0 general, 1 student, 2 office
    end = np.full(k, DAYS - 1, dtype=np.int64)
    nat_share = np.zeros(k)
    nat_asn = np.zeros(k, dtype=np.int64)
    nat_third = np.zeros(k, dtype=np.uint32)
    nat_size = np.ones(k, dtype=np.int64)
    mobile_share = np.where(rng.random(k) < 0.25, rng.uniform(0.05, 0.4, k), 0.0)
    pool_share = np.zeros(k)
    pool, pool_asn = np.zeros(1, dtype=np.uint32), np.zeros(1, dtype=np.int64)
    v6 = rng.random(k) < 0.1
    dynamic = rng.random(k) < 0.35
    browser = rng.random(k) < 0.45
    ua1 = np.where(browser, _browser_uas(rng, k), _sdk_uas(rng, k))
    ua2 = _browser_uas(rng, k)
    ua2_share = np.where(rng.random(k) < 0.3, rng.uniform(0.1, 0.5, k), 0.0)
    r = rng.random(k)
    sys_code = np.where(~browser & (r < 0.18), SYS_HELPFUL, np.where(~browser & (r < 0.28), SYS_UNIQUE, SYS_NONE))
    p_pro = rng.beta(1.0, 6.0, k)
    p_mini = rng.beta(3.0, 2.0, k) * (1 - p_pro)
    # Signups: mostly long before the incident, some during it.
    created = (rng.uniform(-1000, -1, k) * 86_400e6).astype(np.int64)
    new = rng.random(k) < 0.07
    created = np.where(new, (rng.uniform(0, DAYS - 1, k) * 86_400e6).astype(np.int64), created)
    email = _personal_emails(rng, k)
    org = np.full(k, -1, dtype=np.int64)
    # Payment: most have their own card, some none (free tier), a few share one with family.
    hp = rng.random(k)
    card = np.where(hp < 0.82, np.arange(k), -1)
    family = (hp >= 0.82) & (hp < 0.86)
    card = np.where(family, k + np.cumsum(family) // 2, card)

    if name == "mobile-cgnat":
        mobile_share = rng.uniform(0.5, 1.0, k)
        ua1 = np.where(browser, UA_BROWSER0 + rng.choice([3, 6], k), ua1)
    elif name in ("university-nat", "classroom"):
        if name == "university-nat":
            # Semester signup bursts: autumn, spring, and the summer session inside the window.
            term_day = np.array([-233.0, -92.0, 34.0])[rng.choice(3, k, p=[0.45, 0.40, 0.15])]
            created = ((term_day + rng.gamma(2.0, 1.5, k)) * 86_400e6).astype(np.int64)
            rate = np.minimum(rate, 60)
        else:
            term_day = class_of["term_day"][class_of["of"]]
            created = ((term_day - 1.0 + rng.gamma(1.5, 1.0, k)) * 86_400e6).astype(np.int64)
            rate = np.minimum(rate, 30)
            card = np.where(rng.random(k) < 0.5, np.arange(k), -1)  # own card or none
            ua1 = np.where(rng.random(k) < 0.7, _browser_uas(rng, k), ua1)
        style[:] = 1
        tz = -5.0 + rng.normal(0, 0.2, k)
        home_country[:] = CC.index("US")
        nat_share = rng.uniform(0.5, 0.95, k)
        nat_asn[:] = NETS.university
        nat_third[:] = 37
        nat_size[:] = infra.univ_nat_size
        email[:] = DOM_UNIV
    elif name == "enterprise-org":
        org = np.arange(k) % scenario.enterprise_orgs
        style[:] = 2
        tz[:] = 2.0
        home_country[:] = CC.index("DE")
        nat_share = rng.uniform(0.6, 0.95, k)
        nat_asn[:] = NETS.enterprise
        nat_third = (12 + 40 * org).astype(np.uint32)
        nat_size[:] = 3
        sys_code = SYS_ORG0 + org
        ua1 = np.where(rng.random(k) < 0.7, UA_ENTERPRISE, ua1)
        email = DOM_UNIV + 1 + org
        p_active = rng.uniform(0.55, 0.9, k) * scale.human_rate
        rate = np.clip(rate * 2, 1, 80)
        # Onboarding waves: most staff long ago, one cohort in a two-day burst during the incident.
        cohort = rng.random(k) < 0.25
        created = np.where(cohort, _created(rng, k, 9.4, 10), (rng.uniform(-600, -30, k) * 86_400e6).astype(np.int64))
        mobile_share[:] = 0.0
        card = 2 * k + org  # the company card
    elif name == "wrapper-app":
        sys_code[:] = SYS_WRAPPER
        ua1 = np.array(UA_WRAPPER)[rng.choice(3, k, p=[0.5, 0.3, 0.2])]
        ua2_share[:] = 0.0
    elif name == "platform-relay":
        # A community app's backend calls the API for its users from a few relay addresses.
        sys_code[:] = SYS_PLATFORM
        ua1[:] = UA_PLATFORM
        ua2_share[:] = 0.0
        pool_share[:] = 1.0
        mobile_share[:] = 0.0
        pool, pool_asn = infra.platform_pool, infra.platform_asn
        v6[:] = False
    elif name == "proxy-customers":
        # Benign users of the commercial residential proxy network that hydra-residential rents.
        pool_share = rng.uniform(0.7, 1.0, k)
        pool, pool_asn = infra.hydra_pool, infra.hydra_asn
    elif name == "relay-customers":
        # Benign customers of the API reseller whose relay reseller-relay also uses.
        pool_share = rng.uniform(0.9, 1.0, k)
        pool, pool_asn = infra.relay_pool, infra.relay_asn
        ua1[:] = UA_RELAY
        ua2_share[:] = 0.0
        sys_code = np.where(rng.random(k) < 0.35, SYS_UNIQUE, np.where(rng.random(k) < 0.3, SYS_HELPFUL, SYS_NONE))
        rate = np.minimum(rate, 200)
        created = np.where(rng.random(k) < 0.15, _trickle(rng, k, 0, DAYS - 1), _trickle(rng, k, -500, -1))

    start = np.maximum(0, created // DAY_US + (name == "enterprise-org"))
    billing = home_country.copy()
    travel = rng.random(k) < 0.04
    billing[travel] = rng.choice(len(COUNTRIES), int(travel.sum()), p=CW / CW.sum())
    home_h = splitmix(slots.astype(np.uint64), seed * 7 + 1)
    home_asn = country_asn(NETS.residential, home_country, home_h >> np.uint64(33))
    mobile_asn = country_asn(NETS.mobile, home_country, home_h >> np.uint64(45))
    H = dict(
        code=CODE[name], rate=rate, p_active=p_active, tz=tz, style=style, start=start, end=end, sys=sys_code,
        nat_share=nat_share, nat_asn=nat_asn, nat_third=nat_third, nat_size=nat_size, mobile_share=mobile_share,
        pool_share=pool_share, pool=pool, pool_asn=pool_asn, v6=v6, dynamic=dynamic, ua1=ua1, ua2=ua2,
        ua2_share=ua2_share, p_pro=p_pro, p_mini=p_mini, home_asn=home_asn, home_h=home_h, mobile_asn=mobile_asn,
    )
    return Block(created, email, card, billing, org), H


def _harness(k: int, rng: np.random.Generator, scale: Scale) -> tuple[Block, dict]:
    """Evaluation harnesses: one account each, own org and card, cloud IPs, long benchmark runs."""
    block = Block(
        created=(rng.uniform(-400, -20, k) * 86_400e6).astype(np.int64), email=np.full(k, DOM_HARNESS),
        card=np.arange(k), billing=np.full(k, CC.index("US")), org=np.arange(k),
    )
    E = dict(
        p_run=rng.uniform(0.25, 0.6, k),
        job=np.maximum(5, rng.gamma(3.0, scale.harness_job / 3.0, k)),
        asn=NETS.datacenter[rng.integers(0, 3, k)],
        third=rng.integers(0, 256, k).astype(np.uint32),
        bench=rng.integers(0, len(BENCHES), k),
    )
    return block, E


def _eval_org(k: int, rng: np.random.Generator, seed: int, scale: Scale) -> tuple[Block, dict]:
    """A registered benchmark organisation: one org, one card, many accounts running the same suites."""
    block = Block(
        created=(rng.uniform(-700, -200, k) * 86_400e6).astype(np.int64), email=np.full(k, DOM_EVAL_ORG),
        card=np.zeros(k, dtype=np.int64), billing=np.full(k, CC.index("US")), org=np.zeros(k, dtype=np.int64),
    )
    # Its runners sit in the cloud ASNs that the datacenter campaigns use.
    ips, asn = _datacenter_pool(rng, 8, 3, NETS.datacenter[:7], seed * 7 + 5)
    O = dict(rate=rng.uniform(12, 28, k), ips=ips, asn=asn, p_active=0.85, days=scale.campaign_days,
             ua=np.where(rng.random(k) < 0.8, UA_OPENAI_PY, UA_HTTPX))
    return block, O


def _classroom(class_sizes: np.ndarray, rng: np.random.Generator) -> dict:
    """Classes: term start (the signup burst), two lab weekdays and a local afternoon lab hour each."""
    c = len(class_sizes)
    term_day = rng.choice(np.array([-60.0, -30.0, 12.0]), c, p=[0.4, 0.35, 0.25])
    first_lab = rng.integers(0, 3, c)  # Mon, Tue or Wed, and two days later
    lab_hour = rng.choice(np.array([13.0, 14.0, 15.5, 16.0]), c)
    session = np.full((c, DAYS), -1, dtype=np.int64)
    for j in range(c):
        count = 0
        for day in range(DAYS):
            wd = (WINDOW_START.date() + timedelta(days=day)).weekday()
            if day >= term_day[j] + 2 and wd in (first_lab[j], first_lab[j] + 2):
                session[j, day] = count + int(max(0, -term_day[j]) // 3.5)  # labs held since term start
                count += 1
    return dict(of=np.repeat(np.arange(c), class_sizes), term_day=term_day, lab_hour=lab_hour, session=session,
                course=rng.integers(0, len(COURSES), c), p_attend=0.85)


# ---- campaigns -------------------------------------------------------------------------------------------


def _campaign(name: str, k: int, rng: np.random.Generator, seed: int, slots: np.ndarray, s: float,
              infra: Infra) -> tuple[Block, Campaign]:
    """One campaign of the family `name`, its tradecraft interpolated between blatant (s=0) and stealthy (s=1)."""
    code = CAMPAIGN_FAMILIES.index(name)
    reasoning = lerp(1.0, 0.6, s)
    lag = rng.uniform(0.3, 1.0, k)
    c = Campaign(name=name, code=code, accounts=np.zeros(0, dtype=np.int64), rate=np.zeros(k), start=np.zeros(k),
                 end=np.full(k, DAYS - 1), p_day=0.93, weekend=1.0, schedule="balanced", reasoning=reasoning,
                 sys=np.full(k, SYS_NONE))
    card = np.arange(k)
    if name == "fanout-datacenter":
        # A dispatcher hands every item to 2-4 accounts at once; a farm of datacenter egress addresses.
        refill = rng.random(k) < 0.2
        width = lerp(3, 48, s)
        created = np.where(refill, _created(rng, k, RELEASE_DAY + 1.0, width), _created(rng, k, -1.5, width))
        c.rate = rng.uniform(20, 30, k)
        c.fanout, c.fan_min, c.copy_jitter_s = lerp(3.2, 2.2, s), 2, lerp(3, 150, s)
        c.template, c.paraphrase = "math", lerp(0.05, 0.6, s)
        nets = int(round(lerp(2, 5, s)))
        size = int(np.clip(k / lerp(10, 3, s), 16, nets * 254))
        c.pool, c.pool_asn = _datacenter_pool(rng, size, nets, NETS.datacenter[:7], seed * 7 + 10)
        card = _shared_cards(rng, k, lerp(40, 15, s))
        email = _throwaway_or_personal(rng, k, lerp(1.0, 0.4, s), 3)
        c.ua = np.where(rng.random(k) < lerp(1.0, 0.2, s), UA_OLD_REQUESTS, _sdk_uas(rng, k))
        ip_country = NETS.country[c.pool_asn][rng.integers(0, size, k)]
        billing = _billing(rng, k, lerp(0.95, 0.6, s), ("SG", "HK"), ip_country)
        c.lag = lerp(0.1, 1.0, s) * lag
    elif name == "bulk-datacenter":
        # Thousands of accounts, each item once, a small datacenter pool shared by all of them.
        bursts = np.array([-6.0, 10.0, RELEASE_DAY + 0.7])
        created = _created(rng, k, bursts[rng.choice(3, k, p=[0.5, 0.3, 0.2])], lerp(4, 48, s))
        c.rate = rng.uniform(8, 12, k)
        c.template, c.paraphrase = "bulk", lerp(0.1, 0.7, s)
        nets = int(round(lerp(2, 6, s)))
        size = int(min(np.clip(k / 25 * lerp(0.6, 1.4, s), 50, 300), nets * 254))
        c.pool, c.pool_asn = _datacenter_pool(rng, size, nets, NETS.datacenter[:7], seed * 7 + 11)
        card = _shared_cards(rng, k, lerp(24, 14, s))
        email = _throwaway_or_personal(rng, k, lerp(0.9, 0.3, s))
        c.ua = np.where(rng.random(k) < lerp(0.8, 0.2, s), UA_HTTPX, _sdk_uas(rng, k))
        ip_country = NETS.country[c.pool_asn][rng.integers(0, size, k)]
        billing = _billing(rng, k, lerp(0.9, 0.55, s), ("VN", "PH"), ip_country)
        c.sys = np.where(rng.random(k) < 0.3, SYS_SOLVER, SYS_NONE)
        c.lag = lerp(0.2, 1.5, s) * lag
    elif name == "hydra-residential":
        # Rotating residential proxies shared with benign customers, synchronised waves, accounts rotated.
        created = _trickle(rng, k, -21, 40)
        c.rate = rng.uniform(3, 7, k)
        c.p_day = 0.9
        c.schedule, c.waves, c.wave_start_h, c.wave_span_h = "waves", int(round(lerp(3, 6, s))), 5.0, 18.0
        c.join, c.jitter_s = lerp(0.7, 0.45, s), lerp(5, 240, s)
        c.template, c.paraphrase = "hydra", lerp(0.6, 1.0, s)
        c.pool, c.pool_asn = infra.hydra_pool, infra.hydra_asn
        offsets = infra.hydra_offsets
        present = np.flatnonzero(offsets[1:] > offsets[:-1])
        geo = present[rng.integers(0, len(present), k)]
        abroad = rng.random(k) < lerp(0.9, 0.5, s)  # bills from abroad, exits anywhere
        c.geo = np.where(abroad, -1, geo)  # the others pick exits in their billing country
        c.geo_offsets = offsets
        billing = np.where(abroad, np.array([CC.index(x) for x in ("AE", "TR", "EG")])[rng.integers(0, 3, k)], geo)
        email = _personal_emails(rng, k, 0.1)
        c.ua = _browser_uas(rng, k)
        c.lag = lerp(0.3, 1.5, s) * lag
    elif name == "lowslow-sticky":
        # One home address per account, a US East working day, a few requests a day.
        created = _trickle(rng, k, -30, 25)
        c.rate = rng.uniform(3, 8, k)
        c.p_day, c.weekend = 0.85, 0.12
        c.schedule, c.tz = "workday", -5.0
        c.template, c.paraphrase = "lowslow", lerp(0.2, 0.9, s)
        h = splitmix(slots.astype(np.uint64), seed * 7 + 12)
        country = np.array([CC.index(x) for x in ("US", "CA")])[rng.choice(2, k, p=[0.8, 0.2])]
        c.ip_mode = "sticky"
        c.acct_asn = country_asn(NETS.residential, country, h >> np.uint64(40))
        c.acct_ip = host_in_asn(c.acct_asn, h)
        email = _personal_emails(rng, k)
        c.ua = np.where(rng.random(k) < 0.45, _browser_uas(rng, k), _sdk_uas(rng, k))
        billing = _billing(rng, k, lerp(0.85, 0.5, s), ("ID", "VN"), country)
        c.lag = lerp(1.0, 5.0, s) * lag
    elif name == "reseller-relay":
        # Through an API reseller's relay (shared with its benign customers), moderate fan-out in waves.
        bursts = np.array([-4.0, 14.0])
        created = _created(rng, k, bursts[rng.choice(2, k, p=[0.6, 0.4])], lerp(6, 72, s))
        c.rate = rng.uniform(10, 20, k)
        c.schedule, c.waves, c.wave_start_h, c.wave_span_h = "waves", int(round(lerp(6, 12, s))), 0.0, 24.0
        c.join, c.jitter_s = lerp(0.85, 0.55, s), lerp(5, 150, s)
        c.fanout, c.fan_min, c.copy_jitter_s = lerp(2.5, 1.5, s), 1, lerp(2, 90, s)
        c.template, c.paraphrase = "dialogue", lerp(0.5, 0.95, s)
        c.pool, c.pool_asn = infra.relay_pool, infra.relay_asn
        c.ua = np.full(k, UA_RELAY)
        card = _shared_cards(rng, k, lerp(5, 2, s))
        email = _throwaway_or_personal(rng, k, lerp(0.5, 0.1, s))
        billing = _billing(rng, k, lerp(0.9, 0.5, s), ("BR", "AR"), np.full(k, NETS.country[c.pool_asn[0]]))
        c.sys = np.where(rng.random(k) < lerp(0.6, 0.2, s), SYS_SOLVER, SYS_NONE)
        c.lag = lerp(0.2, 1.0, s) * lag
    elif name == "agentic":
        # Tool-using agents: chains of 3-8 calls seconds apart, one cloud address per account.
        created = np.where(rng.random(k) < 0.8, _created(rng, k, 7.5, lerp(3, 48, s)),
                           _created(rng, k, 26.0, lerp(3, 48, s)))
        c.rate = rng.uniform(20, 30, k)
        c.schedule, c.step_gap_s = "chains", lerp(2, 12, s)
        c.template = "agent"
        c.ip_mode = "sticky"
        c.acct_asn = NETS.datacenter[rng.integers(0, len(NETS.datacenter), k)]
        c.acct_ip = host_in_asn(c.acct_asn, splitmix(slots.astype(np.uint64), seed * 7 + 13))
        card = _shared_cards(rng, k, lerp(6, 3, s))
        email = np.where(rng.random(k) < lerp(0.8, 0.2, s), DOM_THROWAWAY + rng.integers(0, 6, k),
                         len(EMAIL_DOMAINS) + rng.integers(0, len(WORK_DOMAINS), k))
        c.ua = np.where(rng.random(k) < lerp(1.0, 0.3, s), UA_LANGCHAIN,
                        np.where(rng.random(k) < 0.5, UA_OPENAI_PY, UA_HTTPX))
        billing = _billing(rng, k, lerp(0.9, 0.5, s), ("HK", "AE"), NETS.country[c.acct_asn])
        # Reasoning is asked for in the system prompt (half the eliciting accounts) or in every task prompt.
        u = rng.random(k)
        c.sys = np.where(u < reasoning / 2, SYS_AGENT0 + rng.integers(0, 2, k), SYS_AGENT0 + 2)
        c.prompt_elicit = (u >= reasoning / 2) & (u < reasoning)
        c.lag = lerp(0.2, 1.0, s) * lag
    else:  # pragma: no cover - CAMPAIGN_FAMILIES is closed
        raise InternalError(f"no campaign family {name!r}")
    c.start = np.clip(created // DAY_US + (rng.random(k) < 0.4), 0, DAYS - 1)
    if name == "hydra-residential":
        c.end = np.minimum(DAYS - 1, c.start + rng.integers(14, 29, k))  # each account works 2-4 weeks
    c.end = np.maximum(c.end, c.start)
    return Block(created, email, card, billing, np.full(k, -1)), c


# ---- assembly ------------------------------------------------------------------------------------------


def build_population(seed: int, scale: Scale, scenario: Scenario, stealth: float,
                      families: tuple[str, ...]) -> Population:
    sizes, class_sizes = group_sizes(seed, scale, scenario)
    groups = list(groups_of(families))
    # Stable account numbers: every group has a fixed range whether or not it is selected.
    slot_base = dict(zip(GROUPS, np.cumsum([0] + [sizes[g] for g in GROUPS])[:-1].tolist()))
    counts = [sizes[g] for g in groups]
    group = np.repeat(np.arange(len(groups)), counts)
    n = len(group)
    lo = dict(zip(groups, np.cumsum([0] + counts)[:-1].tolist()))
    slot = np.concatenate([slot_base[g] + np.arange(sizes[g]) for g in groups]).astype(np.int64)
    infra = _infra(seed, sizes, stealth)

    created = np.zeros(n, dtype=np.int64)
    email = np.zeros(n, dtype=np.int64)
    card = np.full(n, -1, dtype=np.int64)
    billing = np.zeros(n, dtype=np.int64)
    org = np.full(n, -1, dtype=np.int64)
    humans: list[dict] = []
    harness = eval_org = classroom = None
    campaigns: list[Campaign] = []
    if "classroom" in groups:
        classroom = _classroom(class_sizes, np.random.default_rng([seed, 0xC1A5]))
    for g in groups:
        k = sizes[g]
        idx = np.arange(lo[g], lo[g] + k)
        rng = np.random.default_rng([seed, 0xACC0, CODE[g]])
        if g in _HUMAN_GROUPS:
            block, H = _humans(g, k, rng, seed, slot[idx], scale, scenario, infra, classroom)
            H["idx"] = idx
            humans.append(H)
            if g == "classroom":
                classroom.update(idx=idx, ua=H["ua1"])
        elif g == "eval-harness":
            block, harness = _harness(k, rng, scale)
            harness["idx"] = idx
        elif g == "eval-org":
            block, eval_org = _eval_org(k, rng, seed, scale)
            eval_org["idx"] = idx
        else:
            block, c = _campaign(g, k, rng, seed, slot[idx], stealth, infra)
            c.accounts = idx
            campaigns.append(c)
        created[idx], email[idx], billing[idx] = block.created, block.email, block.billing
        # Cards and orgs are numbered within the group; the group code keeps them apart.
        card[idx] = np.where(block.card >= 0, (CODE[g] << 40) | block.card, -1)
        org[idx] = np.where(block.org >= 0, (CODE[g] << 40) | block.org, -1)

    # ---- identifiers: one keyed bijection for every group, so the format says nothing about the label.
    id_key = int(splitmix(np.array([seed], dtype=np.uint64), 0xC0FFEE)[0])
    account_id = b32_ids(splitmix(slot.astype(np.uint64), id_key), "acct_").rename("account_id")
    has_card = card >= 0
    card_ids = hex_ids(splitmix(np.maximum(card, 0).astype(np.uint64), id_key + 1), "pm_", 16)
    pay = pl.select(pl.when(pl.lit(pl.Series(has_card))).then(pl.lit(card_ids)).otherwise(None))
    orgs = b32_ids(splitmix(np.maximum(org, 0).astype(np.uint64), id_key + 2), "org_", 10)
    accounts = pl.DataFrame(
        {
            "account_id": account_id,
            "created_at": pl.Series(START_US + created, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
            "email_domain": pick_text(ALL_DOMAINS, email),
            "payment_fingerprint": pay.to_series(),
            "billing_country": pick_text(CC, billing),
            "org_id": pl.select(pl.when(pl.lit(pl.Series(org >= 0))).then(pl.lit(orgs)).otherwise(None)).to_series(),
        }
    )
    return Population(
        n=n, group=group, groups=groups, slot=slot, account_id=account_id, created_us=START_US + created,
        accounts=accounts, humans=humans, harness=harness, eval_org=eval_org, classroom=classroom,
        campaigns=campaigns, infra=infra, campaign_days=scale.campaign_days,
    )
