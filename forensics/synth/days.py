"""One UTC day of requests: each group's traffic for the day, and the chunk of rows finished with IPs, prompts and
request IDs.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from forensics.synth.families import DAY_US, MODELS, NEW_MODEL, RELEASE_DAY, RELEASE_SECOND, START_US, WINDOW_START
from forensics.synth.helpers import assemble, concat_text, hex_ids, lookup, num, pick_text, sample_pmf, splitmix
from forensics.synth.population import Campaign, Population
from forensics.synth.prompts import (
    BENCHES,
    ORG_BENCHES,
    bench_prompts,
    benign_prompt_codes,
    benign_prompt_text,
    campaign_prompts,
    exercise_prompts,
    item_elicits,
)
from forensics.synth.world import (
    CC,
    COMPANIES,
    NETS,
    PERSONAS,
    SYSTEM_PROMPTS,
    SYS_UNIQUE,
    UAS,
    UA_HARNESS,
    host_in_asn,
)


_DIURNAL = {
    0: np.array([2, 1.2, .8, .6, .5, .7, 1.4, 2.8, 4.2, 5.4, 6, 6, 5.6, 5.5, 5.6, 5.5, 5.2, 5, 5.2, 5.8, 6.2, 6, 4.8, 3.4]),
    1: np.array([4, 3, 1.8, 1, .5, .3, .4, .8, 2, 3.5, 4.5, 5, 5, 5.5, 6, 6, 5.5, 5, 5, 5.5, 6.5, 7, 7, 6]),
    2: np.array([0, 0, 0, 0, 0, 0, .2, 1.5, 5, 8, 9, 8.5, 5, 7, 8.5, 8.5, 7, 4, 1, .3, .1, 0, 0, 0]),
}
# The low-and-slow campaign's imitation of a working day (local hours 9-18, a lunch dip).
_WORKDAY = np.array([0, 0, 0, 0, 0, 0, 0, 0, .15, 1, 1, 1, .5, 1, 1, 1, 1, .9, .1, 0, 0, 0, 0, 0])
_SRC_BENIGN, _SRC_HARNESS, _SRC_EVAL_ORG, _SRC_EXERCISE, _SRC_CAMPAIGN0 = 0, 1, 2, 3, 4


def _rows_frame(day, src, codes, acct, sec, ip, v6h, asn_i, ua, model, sys_code, out_tokens, history) -> pl.DataFrame:
    """Internal numeric rows of one day and source; `src` and `codes` say how to write the prompt later."""
    codes = np.asarray(codes, dtype=np.int64).reshape(len(acct), -1)
    return pl.DataFrame(
        {
            "day": np.full(len(acct), day, dtype=np.int64),
            "src": np.full(len(acct), src, dtype=np.int64),
            **{f"p{j}": np.ascontiguousarray(codes[:, j]) for j in range(codes.shape[1])},
            "acct": np.asarray(acct, dtype=np.int64),
            "sec": np.asarray(sec, dtype=np.float64),
            "ip_u32": np.asarray(ip, dtype=np.uint32),
            "v6h": np.asarray(v6h, dtype=np.uint64),
            "asn_i": np.asarray(asn_i, dtype=np.int64),
            "ua": np.asarray(ua, dtype=np.int64),
            "model_i": np.asarray(model, dtype=np.int64),
            "sys": np.asarray(sys_code, dtype=np.int64),
            "output_tokens": np.asarray(out_tokens, dtype=np.int64),
            "history": np.asarray(history, dtype=np.int64),
        }
    )


def _new_model_share(day: int, sec: np.ndarray, lag_days: float | np.ndarray) -> np.ndarray:
    t = day + sec / 86_400.0 - (RELEASE_DAY + RELEASE_SECOND / 86_400.0)
    return t >= lag_days


def _weekend(day: int) -> bool:
    return (WINDOW_START.date() + timedelta(days=day)).weekday() >= 5


def human_day(pop: Population, H: dict, day: int, seed: int) -> pl.DataFrame | None:
    rng = np.random.default_rng([seed, 0x4000, H["code"], day])
    nh = len(H["idx"])
    weekend = _weekend(day)
    factor = np.where(H["style"] == 2, 0.03 if weekend else 1.0, 0.85 if weekend else 1.0)
    active = (H["start"] <= day) & (day <= H["end"]) & (rng.random(nh) < H["p_active"] * factor)
    lam = H["rate"] * rng.lognormal(-0.08, 0.4, nh)
    cnt = np.where(active, 1 + rng.poisson(np.maximum(lam - 1, 0)), 0)
    a = np.repeat(np.arange(nh), cnt)
    n = len(a)
    if n == 0:
        return None
    # Sessions: up to four per account-day, each at a local hour drawn from the group's diurnal profile.
    sessions = np.clip(1 + cnt // 6, 1, 4)
    centres = np.zeros((nh, 4))
    for st, pmf in _DIURNAL.items():
        sel = np.flatnonzero(H["style"] == st)
        centres[sel] = (sample_pmf(rng, pmf, len(sel) * 4).reshape(-1, 4) + rng.random((len(sel), 4))) * 3600
    sess = (rng.random(n) * sessions[a]).astype(np.int64)
    local = centres[a, sess] + rng.exponential(420.0, n)
    sec = np.mod(local - H["tz"][a] * 3600.0, 86_400.0)
    sec = np.minimum(sec, 86_399.999)

    # Network: campus/office NAT, mobile carrier CGNAT, a proxy or relay service, or the home line.
    u = rng.random(n)
    nat = u < H["nat_share"][a]
    mobile = ~nat & (u < H["nat_share"][a] + H["mobile_share"][a])
    pooled = ~nat & ~mobile & (u < H["nat_share"][a] + H["mobile_share"][a] + H["pool_share"][a])
    home = ~nat & ~mobile & ~pooled
    ip = np.zeros(n, dtype=np.uint32)
    asn_i = H["home_asn"][a].copy()
    week = np.uint64(day // 7)
    hh = H["home_h"][a] + np.where(H["dynamic"][a], week, np.uint64(0))
    ip[home] = host_in_asn(asn_i[home], splitmix(hh[home], 3))
    v6h = np.where(home & H["v6"][a], splitmix(H["home_h"][a], 4) | np.uint64(1), np.uint64(0))
    if nat.any():
        na = a[nat]
        asn_i[nat] = H["nat_asn"][na]
        host = (1 + rng.integers(0, H["nat_size"][na])).astype(np.uint32)
        ip[nat] = NETS.base[H["nat_asn"][na]] | (H["nat_third"][na] << np.uint32(8)) | host
    if mobile.any():
        ma = a[mobile]
        carrier = H["mobile_asn"][ma]
        slot = rng.integers(0, pop.infra.mobile_pool_size[carrier])
        asn_i[mobile] = carrier
        # Carrier-grade NAT egress addresses sit together in a few /24 prefixes of the carrier.
        third = (17 + slot // 250).astype(np.uint32)
        ip[mobile] = NETS.base[carrier] | (third << np.uint32(8)) | (1 + slot % 250).astype(np.uint32)
    if pooled.any():
        k = rng.integers(0, len(H["pool"]), int(pooled.sum()))
        ip[pooled] = H["pool"][k]
        asn_i[pooled] = H["pool_asn"][k]

    ua = np.where(rng.random(n) < H["ua2_share"][a], H["ua2"][a], H["ua1"][a])
    r = rng.random(n)
    model = np.where(r < H["p_mini"][a], 0, np.where(r < H["p_mini"][a] + H["p_pro"][a], 2, 1))
    adopt = _new_model_share(day, sec, 0.0) & (
        rng.random(n) < 0.45 * (1 - np.exp(-np.maximum(day - RELEASE_DAY, 0) / 8.0)) + 0.02
    )
    model = np.where(adopt, NEW_MODEL, model)
    codes = benign_prompt_codes(rng, H["style"][a])
    reasoning = codes[:, 0] == 1
    out = np.minimum(np.exp(rng.normal(5.2, 0.9, n)) * np.where(reasoning, 2.5, 1.0), 4096).astype(np.int64) + 1
    history = np.where(rng.random(n) < 0.5, np.exp(rng.normal(5.5, 1.4, n)), 0).astype(np.int64)
    out = np.where(codes[:, 0] == 0, np.minimum(out, 60), out)
    return _rows_frame(day, _SRC_BENIGN, codes, H["idx"][a], sec, ip, v6h, asn_i, ua, model, H["sys"][a], out,
                       history)


def harness_day(pop: Population, day: int, seed: int) -> pl.DataFrame | None:
    E = pop.harness
    rng = np.random.default_rng([seed, 0x5000, day])
    frames = []
    for j in range(len(E["idx"])):
        if rng.random() >= E["p_run"][j]:
            continue
        n = int(rng.poisson(E["job"][j])) + 1
        startsec = rng.uniform(0, 86_400 - 1)
        pace = rng.uniform(0.4, 3.0)  # seconds between requests, rate limited
        sec = np.minimum(startsec + np.arange(n) * pace + rng.exponential(0.2, n), 86_399.999)
        question = int(rng.integers(0, 5_000)) + np.arange(n)
        codes = np.stack([np.full(n, E["bench"][j]), question], axis=1)
        ip = NETS.base[E["asn"][j]] | (E["third"][j] << np.uint32(8)) | np.uint32(1 + j % 250)
        model = np.where(_new_model_share(day, sec, 0.0), NEW_MODEL, int(rng.integers(0, 3)))
        out = np.minimum(np.exp(rng.normal(6.3, 0.6, n)), 4096).astype(np.int64)
        frames.append(_rows_frame(day, _SRC_HARNESS, codes, np.full(n, E["idx"][j]), sec, np.full(n, ip),
                                  np.zeros(n), np.full(n, E["asn"][j]), np.full(n, UA_HARNESS), model, np.zeros(n),
                                  out, np.zeros(n)))
    return pl.concat(frames) if frames else None


def eval_org_day(pop: Population, day: int, seed: int) -> pl.DataFrame | None:
    """Benchmark jobs round the clock; some days a sweep runs one slice on many accounts at once."""
    O = pop.eval_org
    k = len(O["idx"])
    rng = np.random.default_rng([seed, 0x5100, day])
    if rng.random() >= O["days"]:  # small scales: fewer working days
        return None
    active = rng.random(k) < O["p_active"]
    cnt = np.where(active, np.clip(np.rint(O["rate"] * rng.lognormal(0.0, 0.25, k)), 3, 40), 0).astype(np.int64)
    bench = len(BENCHES) + rng.integers(0, len(ORG_BENCHES), k)
    first_q = 25 * rng.integers(0, 40, k)
    start = rng.uniform(0, 86_400 - 600, k)
    if rng.random() < 0.3:  # a sweep: the same questions to several model configurations at once
        sweep = active & (rng.random(k) < 0.6)
        bench[sweep], first_q[sweep] = bench[0], first_q[0]
        start[sweep] = start[0] + rng.uniform(0, 60, int(sweep.sum()))
    pace = rng.uniform(1.0, 4.0, k)
    a = np.repeat(np.arange(k), cnt)
    n = len(a)
    if n == 0:
        return None
    j = np.arange(n) - (np.cumsum(cnt) - cnt)[a]
    sec = np.minimum(start[a] + j * pace[a] + rng.exponential(0.3, n), 86_399.999)
    codes = np.stack([bench[a], first_q[a] + j], axis=1)
    where = rng.integers(0, len(O["ips"]), k)[a]
    model = np.where(_new_model_share(day, sec, 0.1), NEW_MODEL, rng.integers(0, 3, k)[a])
    out = np.minimum(np.exp(rng.normal(6.3, 0.6, n)), 4096).astype(np.int64)
    return _rows_frame(day, _SRC_EVAL_ORG, codes, O["idx"][a], sec, O["ips"][where], np.zeros(n), O["asn"][where],
                       O["ua"][a], model, np.zeros(n), out, np.zeros(n))


def classroom_day(pop: Population, day: int, seed: int) -> pl.DataFrame | None:
    """Lab sessions: most students send the exercise within minutes, then a few questions of their own."""
    C = pop.classroom
    session = C["session"][:, day]
    if (session < 0).all():
        return None
    rng = np.random.default_rng([seed, 0x5200, day])
    of = C["of"]
    k = len(of)
    here = np.flatnonzero((session[of] >= 0) & (rng.random(k) < C["p_attend"]))
    if not len(here):
        return None
    lab_start = (C["lab_hour"] + 5.0) * 3600.0  # local afternoon, UTC-5
    release = lab_start + rng.uniform(300, 900, len(session))
    cls = of[here]
    t_ex = release[cls] + rng.exponential(150.0, len(here))
    edit = np.where(rng.random(len(here)) < 0.7, 0, rng.integers(1, 5, len(here)))
    codes = np.stack([cls, session[cls], edit, rng.integers(0, 1 << 20, len(here))], axis=1)
    follow = rng.poisson(1.5, len(here))
    fa = np.repeat(np.arange(len(here)), follow)
    t_fu = t_ex[fa] + rng.uniform(180, 80 * 60, len(fa))
    who = np.concatenate([here, here[fa]])
    n = len(who)
    sec = np.minimum(np.concatenate([t_ex, t_fu]), 86_399.999)
    nat = NETS.base[NETS.university] | np.uint32(37 << 8) | (1 + rng.integers(0, pop.infra.univ_nat_size, n)).astype(
        np.uint32)
    model = np.where(_new_model_share(day, sec, 2.0) & (rng.random(n) < 0.3), NEW_MODEL,
                     np.where(rng.random(n) < 0.6, 0, 1))
    out = np.minimum(np.exp(rng.normal(6.0, 0.6, n)), 4096).astype(np.int64)
    history = np.where(rng.random(n) < 0.4, np.exp(rng.normal(5.0, 1.0, n)), 0).astype(np.int64)
    m = len(here)
    lab = _rows_frame(day, _SRC_EXERCISE, codes, C["idx"][here], sec[:m], nat[:m], np.zeros(m),
                      np.full(m, NETS.university), C["ua"][here], model[:m], np.zeros(m), out[:m], history[:m])
    own = _rows_frame(day, _SRC_BENIGN, benign_prompt_codes(rng, np.ones(n - m, dtype=np.int64)), C["idx"][who[m:]],
                      sec[m:], nat[m:], np.zeros(n - m), np.full(n - m, NETS.university), C["ua"][who[m:]],
                      model[m:], np.zeros(n - m), out[m:], history[m:])
    return pl.concat([lab, own], how="diagonal")


def campaign_day(pop: Population, c: Campaign, day: int, seed: int) -> pl.DataFrame | None:
    rng = np.random.default_rng([seed, 0x6000 + c.code, day])
    if rng.random() >= pop.campaign_days:  # small scales: the campaign works on fewer days
        return None
    k = len(c.accounts)
    p = c.p_day * (c.weekend if _weekend(day) else 1.0)
    active = (c.start <= day) & (day <= c.end) & (rng.random(k) < p)
    cnt = np.where(active, np.clip(np.rint(c.rate * rng.lognormal(0.0, 0.2, k)), 3, 30), 0).astype(np.int64)
    if c.schedule == "chains":
        return _chain_day(c, day, seed, rng, cnt)
    a = np.repeat(np.arange(k), cnt)
    n = len(a)
    if n == 0:
        return None
    if c.schedule == "waves":
        # A few synchronised waves a day; each account joins some of them.
        W = c.waves
        wave_time = (c.wave_start_h + (np.arange(W) + rng.uniform(0.2, 0.8, W)) * c.wave_span_h / W) * 3600.0
        u = rng.random((k, W))
        joined = u < c.join
        joined[np.arange(k), u.argmin(axis=1)] = True
        cj = np.cumsum(joined, axis=1)
        r = (rng.random(n) * cj[a, -1]).astype(np.int64)
        bucket = (cj[a] <= r[:, None]).sum(axis=1)
    else:
        bucket = np.zeros(n, dtype=np.int64)
    if c.fanout > 1.0:
        # The dispatcher hands each item to several accounts at once: the item's copies go out within
        # seconds to minutes of each other, from different accounts.
        gid, row, group_bucket = _fan_groups(rng, a, bucket, c.fanout)
        if c.schedule == "waves":
            t_group = np.mod(wave_time[group_bucket] + rng.exponential(c.jitter_s, len(group_bucket)), 86_400.0)
        else:  # load-balanced round the clock: consecutive items spread evenly over the day
            t_group = np.mod(np.arange(len(group_bucket)) * _GOLDEN + rng.random(), 1.0) * 86_400.0
        sec = t_group[gid] + np.where(row == 0, 0.0, rng.exponential(c.copy_jitter_s, n))
        local_item = gid
    else:
        if c.schedule == "balanced":
            # Load-balanced round the clock: each account's requests evenly spaced from a random phase.
            j = np.arange(n) - (np.cumsum(cnt) - cnt)[a]
            sec = np.mod(rng.random(k)[a] + (j + rng.uniform(-0.35, 0.35, n)) / cnt[a], 1.0) * 86_400.0
        elif c.schedule == "waves":
            sec = np.mod(wave_time[bucket] + rng.exponential(c.jitter_s, n), 86_400.0)
        else:  # workday in the mimicked time zone
            local = (sample_pmf(rng, _WORKDAY, n) + rng.random(n)) * 3600.0
            sec = np.mod(local - c.tz * 3600.0, 86_400.0)
        local_item = np.arange(n)
    sec = np.minimum(sec, 86_399.999)
    items = (np.int64(day) << 22) | local_item

    if c.ip_mode == "sticky":
        ip, asn_i = c.acct_ip[a], c.acct_asn[a]
    else:
        slot = rng.integers(0, len(c.pool), n)
        if c.geo is not None:
            g = c.geo[a]
            geo = g >= 0
            lo, hi = c.geo_offsets[g[geo]], c.geo_offsets[g[geo] + 1]
            slot[geo] = lo + (rng.random(int(geo.sum())) * (hi - lo)).astype(np.int64)
        ip, asn_i = c.pool[slot], c.pool_asn[slot]
    model = np.where(_new_model_share(day, sec, c.lag[a]), NEW_MODEL, np.where(rng.random(n) < c.p_pro, 2, 1))
    elicit = item_elicits(c.reasoning, items, seed * 31 + c.code)
    out = np.minimum(np.exp(rng.normal(6.9, 0.5, n)) * np.where(elicit, 1.0, 0.4), 8192).astype(np.int64) + 1
    history = rng.integers(0, 40, n)
    return _rows_frame(day, _SRC_CAMPAIGN0 + c.code, items, c.accounts[a], sec, ip, np.zeros(n), asn_i, c.ua[a],
                       model, c.sys[a], out, history)


_GOLDEN = 0.6180339887498949


def _fan_groups(rng: np.random.Generator, a: np.ndarray, bucket: np.ndarray, fanout: float):
    """Partition the day's request slots into items of about `fanout` copies, within each bucket (wave).

    Slots are sorted by bucket and by account (in a random order of accounts each day), then striped: slot p
    of a bucket with m slots goes to item p mod G, G = max(m / fanout, the most slots of one account). An
    account's slots are contiguous and at most G, so the copies of an item always come from different accounts.
    Returns the item of every slot, the copy number (0: the first) and the bucket of every item."""
    n = len(a)
    shuffle = rng.permutation(int(a.max()) + 1)
    order = np.lexsort((shuffle[a], bucket))
    sb, sa = bucket[order], a[order]
    nb = int(bucket.max()) + 1
    m = np.bincount(sb, minlength=nb)
    pairs, per_pair = np.unique(sb * (int(a.max()) + 1) + sa, return_counts=True)
    most = np.zeros(nb, dtype=np.int64)
    np.maximum.at(most, pairs // (int(a.max()) + 1), per_pair)
    G = np.maximum(np.ceil(m / fanout).astype(np.int64), most)
    G = np.where(m > 0, np.maximum(G, 1), 0)
    pos = np.arange(n) - (np.cumsum(m) - m)[sb]
    first_item = np.cumsum(G) - G
    gid = np.empty(n, dtype=np.int64)
    row = np.empty(n, dtype=np.int64)
    gid[order] = first_item[sb] + pos % G[sb]
    row[order] = pos // G[sb]
    return gid, row, np.repeat(np.arange(nb), G)


def _chain_day(c: Campaign, day: int, seed: int, rng: np.random.Generator, cnt: np.ndarray) -> pl.DataFrame | None:
    """Agentic tasks: 3-8 calls each, seconds apart, tasks spread round the clock; the day's calls add to `cnt`."""
    act = np.flatnonzero(cnt > 0)
    if not len(act):
        return None
    length = rng.integers(3, 9, (len(act), 10))
    before = np.cumsum(length, axis=1) - length
    steps = np.clip(cnt[act][:, None] - before, 0, length)  # the last task of the day may stop early
    per_acct = (steps > 0).sum(axis=1)
    task_acct = np.repeat(act, per_acct)
    task_len = steps[steps > 0]
    t_idx = np.arange(len(task_acct)) - np.repeat(np.cumsum(per_acct) - per_acct, per_acct)
    phase = rng.random(len(act))
    spread = (t_idx + rng.uniform(0, 0.5, len(t_idx))) / np.repeat(per_acct, per_acct)
    frac = np.mod(np.repeat(phase, per_acct) + spread, 1.0)
    task_start = frac * (86_400.0 - 1_800.0)
    task = np.repeat(np.arange(len(task_acct)), task_len)
    n = len(task)
    step = np.arange(n) - np.repeat(np.cumsum(task_len) - task_len, task_len)
    gap = np.where(step == 0, 0.0, c.step_gap_s + rng.exponential(c.step_gap_s, n))
    within = np.cumsum(gap)
    within -= np.repeat(within[np.cumsum(task_len) - task_len], task_len)
    sec = np.minimum(task_start[task] + within, 86_399.999)
    a = task_acct[task]
    items = (np.int64(day) << 22) | task
    codes = np.stack([items, step, c.prompt_elicit[a].astype(np.int64)], axis=1)
    model = np.where(_new_model_share(day, sec, c.lag[a]), NEW_MODEL, np.where(rng.random(n) < c.p_pro, 2, 1))
    out = np.minimum(np.exp(rng.normal(5.6, 0.5, n)), 4096).astype(np.int64) + 1
    history = 120 * step + rng.integers(0, 40, n)
    return _rows_frame(day, _SRC_CAMPAIGN0 + c.code, codes, c.accounts[a], sec, c.acct_ip[a], np.zeros(n),
                       c.acct_asn[a], c.ua[a], model, c.sys[a], out, history)


_V6_PREFIX = tuple(f"2a0{i % 10}:{(0x1000 + i * 97) % 0xFFFF:x}" for i in range(len(NETS.asn)))
_HEX16 = tuple(f"{i:x}" for i in range(65_536))


def _prompt_text(pop: Population, df: pl.DataFrame, seed: int) -> pl.Series:
    src = df["src"].to_numpy()
    codes = np.stack([df[f"p{j}"].to_numpy() for j in range(6)], axis=1)
    pieces = []
    pos = np.flatnonzero(src == _SRC_BENIGN)
    pieces.append((pos, benign_prompt_text(codes[pos])))
    for s in (_SRC_HARNESS, _SRC_EVAL_ORG):
        pos = np.flatnonzero(src == s)
        pieces.append((pos, bench_prompts(codes[pos, 0], codes[pos, 1])))
    pos = np.flatnonzero(src == _SRC_EXERCISE)
    if len(pos):
        pieces.append((pos, exercise_prompts(pop.classroom["course"], codes[pos], seed * 31 + 97)))
    for c in pop.campaigns:
        pos = np.flatnonzero(src == _SRC_CAMPAIGN0 + c.code)
        pieces.append((pos, campaign_prompts(c, codes[pos], seed * 31 + c.code)))
    return assemble(len(src), [(p, t) for p, t in pieces if len(p)])


def finish_chunk(
    pop: Population, frames: list[pl.DataFrame], first_request: int, seed: int
) -> tuple[pl.DataFrame, np.ndarray]:
    """Turn internal codes into the canonical log columns, sorted by time, with unique request IDs.

    Works on several days at once so that small scales pay the per-call overhead of polars once.
    """
    df = pl.concat(frames, how="diagonal").with_columns(pl.col(f"p{j}").fill_null(0) for j in range(6))
    df = df.with_columns(
        (pl.lit(START_US) + pl.col("day") * DAY_US + (pl.col("sec") * 1e6).cast(pl.Int64)).alias("ts")
    )
    # An account that signed up during its first active day only sends requests after signing up.
    df = df.filter(pl.col("ts") >= pl.lit(pl.Series(pop.created_us[df["acct"].to_numpy()]))).sort(
        ["ts", "acct"], maintain_order=True
    )
    n = df.height
    v6h = df["v6h"].to_numpy()
    asn_i = df["asn_i"].to_numpy()
    ipu = df["ip_u32"].to_numpy()
    octets = [num((ipu >> np.uint32(sh)) & np.uint32(255)) for sh in (24, 16, 8, 0)]
    v4 = concat_text([octets[0], ".", octets[1], ".", octets[2], ".", octets[3]])
    g = [(v6h >> np.uint64(sh)) % np.uint64(65_535) + np.uint64(1) for sh in (0, 16, 32)]
    v6 = concat_text([pick_text(_V6_PREFIX, asn_i), ":", pick_text(_HEX16, g[0]), ":", pick_text(_HEX16, g[1]), "::",
                  pick_text(_HEX16, g[2])])
    acct = df["acct"].to_numpy()
    sys_code = df["sys"].to_numpy()
    slot = pop.slot[acct]
    unique_sys = concat_text(["You are ", pick_text(PERSONAS, slot // 7), " for ", pick_text(COMPANIES, slot), "."])
    shared_sys = lookup(SYSTEM_PROMPTS).gather(np.maximum(sys_code, 0))
    request_key = int(splitmix(np.array([seed], dtype=np.uint64), 0xBEEF)[0])
    out = pl.DataFrame(
        {
            "request_id": hex_ids(splitmix(np.arange(first_request, first_request + n, dtype=np.uint64), request_key),
                                   "req_", 16),
            "timestamp": df["ts"].cast(pl.Datetime("us", "UTC")),
            "account_id": pop.account_id.gather(acct),
            "ip": pl.select(pl.when(pl.lit(pl.Series(v6h != 0))).then(pl.lit(v6)).otherwise(pl.lit(v4))).to_series(),
            "asn": pl.Series(NETS.asn[asn_i], dtype=pl.Int64),
            "country": pick_text(CC, NETS.country[asn_i]),
            "user_agent": pick_text(UAS, df["ua"].to_numpy()),
            "model": pick_text(MODELS, df["model_i"].to_numpy()),
            "input_tokens": pl.Series(np.zeros(n, dtype=np.int64)),
            "output_tokens": df["output_tokens"],
            "prompt": _prompt_text(pop, df, seed),
            "system_prompt": pl.select(
                pl.when(pl.lit(pl.Series(sys_code == SYS_UNIQUE)))
                .then(pl.lit(unique_sys))
                .otherwise(pl.lit(shared_sys))
            ).to_series(),
        }
    )
    out = out.with_columns(
        (
            (pl.col("prompt").str.len_chars() + pl.col("system_prompt").str.len_chars().fill_null(0)) // 4
            + pl.lit(df["history"])
            + 8
        ).cast(pl.Int64).alias("input_tokens"),
        df["day"].alias("day"),
    )
    return out, acct
