"""The facts each evidence kind blocks on, read from hand-built events and account tables with the case's exact
column types (forensics.casefiles.EVENT_SCHEMA / ACCOUNT_SCHEMA), and the edge table made from them."""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics.casefiles import ACCOUNT_SCHEMA, CODED_SCHEMA, EDGE_SCHEMA, EVENT_SCHEMA
from forensics.codes import ACCOUNT, account_codes
from forensics.detect.blocking import Blocking, shared_key_pairs, unique_facts
from forensics.detect.groups import NOVELTY_KIND
from forensics.detect.facts import (
    GROUP_COLUMNS,
    KEY_KINDS,
    account_facts,
    event_facts,
    event_facts_many,
    hash_key,
    key_edges,
)
from tests.conftest import xxh64_reference

T0 = datetime(2026, 4, 22, tzinfo=timezone.utc)  # midnight UTC: a multiple of every slot and burst length
TOP_BIT = 1 << 63


def events_frame(rows: list[dict]) -> pl.LazyFrame:
    """Events with every EVENT_SCHEMA column in its exact type; columns a row does not give are null."""
    for i, r in enumerate(rows):
        r.setdefault("request_id", f"r{i}")
    return pl.DataFrame({c: pl.Series(c, [r.get(c) for r in rows], dtype=t) for c, t in EVENT_SCHEMA.items()}).lazy()


def accounts_frame(rows: list[dict]) -> pl.LazyFrame:
    return pl.DataFrame({c: pl.Series(c, [r.get(c) for r in rows], dtype=t) for c, t in ACCOUNT_SCHEMA.items()}).lazy()


def named(facts: pl.DataFrame, codes: pl.DataFrame) -> pl.DataFrame:
    """The facts with the account's pseudonym instead of its code."""
    return facts.join(codes, on="code").drop("code")


def keys_by_account(facts: pl.DataFrame, codes: pl.DataFrame) -> dict[str, set[int]]:
    out: dict[str, set[int]] = defaultdict(set)
    for r in named(facts, codes).iter_rows(named=True):
        out[r[ACCOUNT]].add(r["key"])
    return out


def shared_counts(facts: pl.DataFrame, codes: pl.DataFrame) -> dict[tuple[str, str], int]:
    """(a, b) -> keys both hold, for every pair of accounts that share at least one."""
    keys = keys_by_account(facts, codes)
    out = {}
    for a, b in itertools.combinations(sorted(keys), 2):
        if n := len(keys[a] & keys[b]):
            out[(a, b)] = n
    return out


def key_of(value: str) -> int:
    """The 64-bit key of one pseudonym or fingerprint value, as the edge step hashes it."""
    return pl.select(hash_key(pl.lit(value, dtype=pl.String)))[0, 0]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# ------------------------------------------------------------------------------------------ event kinds


def network_events() -> pl.LazyFrame:
    rows = [
        # a: address ip1 (ASN 100) three times, one of them asking for reasoning, one with reasoning unknown.
        {"account_pseudonym": "a", "ip_pseudonym": "ip1", "net_pseudonym": "n1", "asn": 100, "prompt_reasoning": True},
        {"account_pseudonym": "a", "ip_pseudonym": "ip1", "net_pseudonym": "n1", "asn": 100, "prompt_reasoning": False},
        {"account_pseudonym": "a", "ip_pseudonym": "ip1", "net_pseudonym": "n1", "asn": 100, "prompt_reasoning": None},
        # b: ip1 once (reasoning), ip2 (ASN 200) twice; ip2 is in network n1 as well, ASN aside.
        {"account_pseudonym": "b", "ip_pseudonym": "ip1", "net_pseudonym": "n1", "asn": 100, "prompt_reasoning": True},
        {"account_pseudonym": "b", "ip_pseudonym": "ip2", "net_pseudonym": "n2", "asn": 200, "prompt_reasoning": False},
        {"account_pseudonym": "b", "ip_pseudonym": "ip2", "net_pseudonym": "n2", "asn": 200, "prompt_reasoning": False},
        # c: ip3 with no ASN (stratum 0), and two requests with no address at all.
        {"account_pseudonym": "c", "ip_pseudonym": "ip3", "net_pseudonym": "n3", "asn": None},
        {"account_pseudonym": "c", "ip_pseudonym": None, "net_pseudonym": None, "asn": 100},
        {"account_pseudonym": "c", "ip_pseudonym": None, "net_pseudonym": None, "asn": None},
        # d: a different address in a's network n1.
        {"account_pseudonym": "d", "ip_pseudonym": "ip4", "net_pseudonym": "n1", "asn": 100, "prompt_reasoning": True},
    ]
    for r in rows:
        r["timestamp"] = T0
    return events_frame(rows)


def test_ip_facts_one_per_account_and_address_with_the_asn_as_stratum() -> None:
    events = network_events()
    codes = account_codes(events)
    facts = event_facts("ip", events, codes)
    assert facts.schema["code"] == pl.UInt32 and facts.schema["key"] == pl.UInt64 and facts.schema["stratum"] == pl.UInt32
    got = {
        (r[ACCOUNT], r["key"]): (r["stratum"], r["rows"], r["reasoning"])
        for r in named(facts, codes).iter_rows(named=True)
    }
    assert got == {
        ("a", key_of("ip1")): (100, 3, 1),
        ("b", key_of("ip1")): (100, 1, 1),
        ("b", key_of("ip2")): (200, 2, 0),
        ("c", key_of("ip3")): (0, 1, 0),
        ("d", key_of("ip4")): (100, 1, 1),
    }
    assert len({key_of(v) for v in ("ip1", "ip2", "ip3", "ip4")}) == 4
    assert shared_counts(facts, codes) == {("a", "b"): 1}


def test_net_facts_read_the_network_column() -> None:
    events = network_events()
    codes = account_codes(events)
    facts = event_facts("net", events, codes)
    got = {
        (r[ACCOUNT], r["key"]): (r["stratum"], r["rows"], r["reasoning"])
        for r in named(facts, codes).iter_rows(named=True)
    }
    assert got == {
        ("a", key_of("n1")): (100, 3, 1),
        ("b", key_of("n1")): (100, 1, 1),
        ("b", key_of("n2")): (200, 2, 0),
        ("c", key_of("n3")): (0, 1, 0),
        ("d", key_of("n1")): (100, 1, 1),
    }
    assert shared_counts(facts, codes) == {("a", "b"): 1, ("a", "d"): 1, ("b", "d"): 1}


def test_slot_keys_on_two_grids_half_a_slot_apart() -> None:
    """With 10-minute slots: requests 20 s apart across a slot edge share the half-shifted grid's slot; 20 s
    apart across that grid's edge share the plain grid's slot; 100 s apart mid-slot share both; an hour apart,
    neither."""
    hour = 3600
    rows = [
        ("a", 1 * hour + 590), ("b", 1 * hour + 610),  # across a plain-grid edge
        ("c", 2 * hour + 290), ("d", 2 * hour + 310),  # across a shifted-grid edge
        ("e", 3 * hour + 100), ("f", 3 * hour + 200),  # inside both
        ("g", 4 * hour + 100), ("h", 5 * hour + 100),  # an hour apart
    ]
    events = events_frame([{"account_pseudonym": a, "timestamp": at(s)} for a, s in rows])
    codes = account_codes(events)
    facts = event_facts("slot", events, codes, slot_s=600)
    assert shared_counts(facts, codes) == {("a", "b"): 1, ("c", "d"): 1, ("e", "f"): 2}
    # One key per grid and request; the grids never collide (the shifted one carries the top bit).
    assert facts.height == 2 * len(rows)
    top = facts["key"].to_numpy() >= np.uint64(TOP_BIT)
    assert top.sum() == len(rows)
    per_account = named(facts, codes).group_by(ACCOUNT).agg(pl.col("key").count().alias("n"))
    assert set(per_account["n"]) == {2}
    # Which grid each shared key is on: a/b meet on the shifted grid, c/d on the plain one.
    keys = keys_by_account(facts, codes)
    assert all(k >= TOP_BIT for k in keys["a"] & keys["b"])
    assert all(k < TOP_BIT for k in keys["c"] & keys["d"])


def test_slot_asn_keys_are_a_slot_on_one_network_with_the_asn_as_stratum() -> None:
    """Two accounts in the same slot meet on slot_asn only on the same ASN; requests without an ASN have no key."""
    rows = [("a", 100, 64500), ("b", 200, 64500), ("c", 250, 64501), ("d", 260, None)]
    events = events_frame([{"account_pseudonym": a, "timestamp": at(s), "asn": asn} for a, s, asn in rows])
    codes = account_codes(events)
    facts = event_facts("slot_asn", events, codes, slot_s=600)
    assert shared_counts(facts, codes) == {("a", "b"): 2}
    strata = dict(named(facts, codes).group_by(ACCOUNT).agg(pl.col("stratum").first()).iter_rows())
    assert strata == {"a": 64500, "b": 64500, "c": 64501}


def test_slot_facts_count_requests_and_reasoning_per_slot() -> None:
    rows = [
        {"account_pseudonym": "a", "timestamp": at(10), "prompt_reasoning": True},
        {"account_pseudonym": "a", "timestamp": at(20), "prompt_reasoning": True},
        {"account_pseudonym": "a", "timestamp": at(250), "prompt_reasoning": False},
        # 350 s: the same plain slot as the three above, the next shifted one.
        {"account_pseudonym": "a", "timestamp": at(350), "prompt_reasoning": None},
    ]
    events = events_frame(rows)
    codes = account_codes(events)
    facts = event_facts("slot", events, codes, slot_s=600)
    got = sorted((r["key"] >= TOP_BIT, r["rows"], r["reasoning"]) for r in facts.iter_rows(named=True))
    assert got == [(False, 4, 2), (True, 1, 0), (True, 3, 2)]


def test_slot_length_is_a_parameter() -> None:
    # 59 s and 61 s: apart on a one-minute plain grid, together on its shifted grid and on both 10-minute grids.
    events = events_frame([{"account_pseudonym": "a", "timestamp": at(59)}, {"account_pseudonym": "b", "timestamp": at(61)}])
    codes = account_codes(events)
    assert shared_counts(event_facts("slot", events, codes, slot_s=60), codes) == {("a", "b"): 1}
    assert shared_counts(event_facts("slot", events, codes, slot_s=600), codes) == {("a", "b"): 2}


def test_template_facts_include_minhash_band_keys_by_position() -> None:
    mh = [
        ("a", "t1", [1, 2]),
        ("a", "t1", [1, 2]),  # the same prompt twice: two rows on each of its keys
        ("b", "t2", [1, 9]),  # band 0 = 1, as a's
        ("c", "t3", [2, 7]),  # the value 2 as a's band 1, but in band 0: no match
        ("d", "t1", None),  # a's template, no MinHash
        ("e", None, [5, 6]),  # no template, bands only
        ("f", None, None),  # nothing to match on
    ]
    rows = [
        {"account_pseudonym": a, "timestamp": T0, "prompt_template_fingerprint": t, "prompt_minhash": m,
         "prompt_reasoning": a == "a"}
        for a, t, m in mh
    ]
    events = events_frame(rows)
    codes = account_codes(events)
    facts = unique_facts(event_facts("template", events, codes))  # repeats summed, as blocking takes them
    assert shared_counts(facts, codes) == {("a", "b"): 1, ("a", "d"): 1}
    per_account = named(facts, codes).group_by(ACCOUNT).agg(
        pl.len().alias("facts"), pl.col("rows").sum(), pl.col("reasoning").sum()
    )
    got = {r[ACCOUNT]: (r["facts"], r["rows"], r["reasoning"]) for r in per_account.iter_rows(named=True)}
    # a: template + 2 bands, each seen twice (both asking for reasoning); f holds nothing.
    assert got == {"a": (3, 6, 6), "b": (3, 3, 0), "c": (3, 3, 0), "d": (1, 1, 0), "e": (2, 2, 0)}
    # The template key is the fingerprint's own key; band keys are none of the templates'.
    assert key_of("t1") in keys_by_account(facts, codes)["d"]
    assert all(k != key_of(t) for k in keys_by_account(facts, codes)["e"] for t in ("t1", "t2", "t3"))


def test_template_facts_with_longer_signatures() -> None:
    # Equal values in equal bands match band by band: b matches a in bands 0 and 3; c matches a in none.
    events = events_frame([
        {"account_pseudonym": "a", "timestamp": T0, "prompt_minhash": [10, 11, 12, 13]},
        {"account_pseudonym": "b", "timestamp": T0, "prompt_minhash": [10, 99, 98, 13]},
        {"account_pseudonym": "c", "timestamp": T0, "prompt_minhash": [13, 12, 11, 10]},
    ])
    codes = account_codes(events)
    facts = event_facts("template", events, codes)
    assert shared_counts(facts, codes) == {("a", "b"): 2}
    assert facts.height == 12


def test_the_prompt_kind_holds_only_requests_that_ask_for_reasoning() -> None:
    """Scoring counts distinct prompts among reasoning requests: a request without reasoning leaves no fact."""
    rows = [
        {"account_pseudonym": "a", "timestamp": T0, "prompt_fingerprint": "p1", "prompt_reasoning": True},
        {"account_pseudonym": "a", "timestamp": T0, "prompt_fingerprint": "p1", "prompt_reasoning": True},
        {"account_pseudonym": "a", "timestamp": T0, "prompt_fingerprint": "p2", "prompt_reasoning": False},
        {"account_pseudonym": "b", "timestamp": T0, "prompt_fingerprint": "p2", "prompt_reasoning": True},
        {"account_pseudonym": "b", "timestamp": T0, "prompt_fingerprint": None, "prompt_reasoning": True},
    ]
    events = events_frame(rows)
    codes = account_codes(events)
    got = sorted((r[ACCOUNT], r["key"], r["rows"], r["reasoning"])
                 for r in named(unique_facts(event_facts(NOVELTY_KIND, events, codes)), codes).iter_rows(named=True))
    assert got == sorted([("a", key_of("p1"), 2, 2), ("b", key_of("p2"), 1, 1)])


@pytest.mark.parametrize("kind", sorted(k for k in GROUP_COLUMNS if k != NOVELTY_KIND))
def test_fingerprint_kinds_read_their_own_column(kind: str) -> None:
    """a and b share only this kind's column; every other fingerprint column differs between them."""
    column = GROUP_COLUMNS[kind]
    rows = []
    for account in ("a", "b", "c"):
        row = {"account_pseudonym": account, "timestamp": T0, "prompt_reasoning": account == "b"}
        for other in GROUP_COLUMNS.values():
            row[other] = f"{other}-{account}"
        rows.append(row)
    rows[0][column] = rows[1][column] = "shared"
    rows[2][column] = None
    events = events_frame(rows)
    codes = account_codes(events)
    facts = event_facts(kind, events, codes)
    assert shared_counts(facts, codes) == {("a", "b"): 1}
    got = {r[ACCOUNT]: (r["key"], r["stratum"], r["rows"], r["reasoning"]) for r in named(facts, codes).iter_rows(named=True)}
    assert got == {"a": (key_of("shared"), 0, 1, 0), "b": (key_of("shared"), 0, 1, 1)}


def test_unknown_event_kind_is_refused() -> None:
    events = network_events()
    with pytest.raises(ValueError):
        event_facts("payment", events, account_codes(events))


def test_hash_key_is_xxh64_of_the_documented_text() -> None:
    """Keys are XXH64 with seed 0 of a value's UTF-8 text, or of a tuple's texts (integers in decimal) joined by
    ":": a hash defined by its algorithm, so a Spark executor computes the same keys. Pinned, and checked against
    the specification, so that a polars or polars-hash upgrade that changed a key fails here."""
    slot = TOP_BIT | 2_962_770
    cases = [
        ((pl.lit("", dtype=pl.String),), b"", 0xEF46DB3751D8E999),
        ((pl.lit("a", dtype=pl.String),), b"a", 0xD24EC4F1A98C6E5B),
        ((pl.lit("0123456789abcdef0123456789abcdef"),), b"0123456789abcdef0123456789abcdef", 7217744722875508421),
        ((pl.lit(slot, dtype=pl.UInt64), pl.lit(64512, dtype=pl.Int64)), f"{slot}:64512".encode(), 1331926832733551164),
        ((pl.lit(1, dtype=pl.Int64), pl.lit(15256203679925662747, dtype=pl.UInt64)), b"1:15256203679925662747",
         2418570067116042612),
    ]
    for fields, text, pinned in cases:
        assert pl.select(hash_key(*fields)).item() == pinned == xxh64_reference(text, 0)
    assert pl.select(hash_key(pl.lit(None, dtype=pl.String))).item() is None


def test_composite_keys_hash_their_documented_text() -> None:
    """slot_asn: "<slot>:<asn>" (the shifted grid's slot with the top bit set); a MinHash band:
    "<position>:<band key>"; signup: "<stem>:<domain>:<grid>:<window>"."""
    secs = int(T0.timestamp()) + 400
    events = events_frame([{"account_pseudonym": "a", "timestamp": at(400), "asn": 64512, "prompt_minhash": [5, 6]}])
    codes = account_codes(events)
    slots = (secs // 600, TOP_BIT | ((secs + 300) // 600))
    assert set(event_facts("slot_asn", events, codes)["key"]) == {xxh64_reference(f"{s}:64512".encode(), 0) for s in slots}
    assert set(event_facts("template", events, codes)["key"]) == {xxh64_reference(b"0:5", 0), xxh64_reference(b"1:6", 0)}
    accounts = accounts_frame([{ACCOUNT: "a", "created_at": at(400), "signup_stem_fingerprint": "s1",
                                "email_domain_fingerprint": "d1"}])
    windows = (secs // 86_400, (secs + 43_200) // 86_400)
    assert set(account_facts("signup", accounts, codes)["key"]) == {
        xxh64_reference(f"s1:d1:{grid}:{w}".encode(), 0) for grid, w in enumerate(windows)
    }


def test_facts_do_not_depend_on_row_order_or_batches() -> None:
    """The same events in any row order, read as one frame or as batches cut anywhere, give the same facts; an
    address (and its network) logged under two ASNs takes the least as its stratum, whichever row comes first."""
    rows = [
        {"account_pseudonym": "a", "ip_pseudonym": "ip1", "net_pseudonym": "n1", "asn": 300, "timestamp": at(10),
         "prompt_template_fingerprint": "t1", "prompt_minhash": [5, 6], "prompt_skeleton_fingerprint": "s1"},
        {"account_pseudonym": "a", "ip_pseudonym": "ip1", "net_pseudonym": "n1", "asn": 100, "timestamp": at(40),
         "prompt_template_fingerprint": "t1", "prompt_minhash": [5, 6], "prompt_reasoning": True},
        {"account_pseudonym": "a", "ip_pseudonym": "ip1", "net_pseudonym": "n1", "asn": 200, "timestamp": at(700)},
        {"account_pseudonym": "b", "ip_pseudonym": "ip1", "net_pseudonym": "n1", "asn": 100, "timestamp": at(45),
         "prompt_template_fingerprint": "t2", "prompt_minhash": [5, 9], "prompt_skeleton_fingerprint": "s1"},
        {"account_pseudonym": "b", "ip_pseudonym": "ip2", "net_pseudonym": "n1", "asn": 200, "timestamp": at(900)},
        {"account_pseudonym": "c", "ip_pseudonym": "ip2", "net_pseudonym": "n2", "asn": 200, "timestamp": at(910),
         "prompt_reasoning": True},
        {"account_pseudonym": "c", "ip_pseudonym": None, "net_pseudonym": None, "asn": None, "timestamp": at(3000)},
    ]
    kinds = ("ip", "net", "slot", "slot_asn", "template", "skeleton")
    frame = events_frame(rows).collect()
    codes = account_codes(frame.lazy())

    def facts(batches) -> dict[str, pl.DataFrame]:
        return {kind: unique_facts(f) for kind, f in event_facts_many(kinds, batches, codes).items()}

    reference = facts(frame.lazy())
    rng = np.random.default_rng(11)
    for _ in range(6):
        shuffled = frame.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 31)))
        cut = int(rng.integers(1, frame.height))
        splits = (
            shuffled.lazy(),
            [shuffled[:cut].lazy(), shuffled[cut:].lazy()],
            [shuffled[cut:].lazy(), shuffled[:cut].lazy()],
            [shuffled[i:i + 1].lazy() for i in range(frame.height)],  # one row a batch
        )
        for batches in splits:
            got = facts(batches)
            for kind in kinds:
                assert got[kind].equals(reference[kind]), kind
    strata = {(r[ACCOUNT], r["key"]): r["stratum"] for r in named(reference["ip"], codes).iter_rows(named=True)}
    assert strata == {("a", key_of("ip1")): 100, ("b", key_of("ip1")): 100, ("b", key_of("ip2")): 200,
                      ("c", key_of("ip2")): 200}


def account_run_facts_reference(rows: list[tuple[int, int, int, bool]]) -> list[tuple]:
    """One fact per key in each run of an account's rows, by dictionaries."""
    expected = []
    for _, run in itertools.groupby(rows, key=lambda r: r[0]):
        sums: dict[int, list[int]] = {}
        for code, key, stratum, flag in run:
            least, count, flagged = sums.get(key, [stratum, 0, 0])
            sums[key] = [min(least, stratum), count + 1, flagged + flag]
        expected += [(code, key, *sums[key]) for key in sorted(sums)]
    return expected


def account_run_facts(rows: list[tuple[int, int, int, bool]]) -> pl.DataFrame:
    from forensics.detect.facts import _account_run_facts

    frame = pl.DataFrame(rows, schema={"code": pl.UInt32, "key": pl.UInt64, "stratum": pl.UInt32, "_r": pl.Boolean},
                         orient="row")
    return _account_run_facts(frame)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([0, 1, 7, (1 << 63) + 1, (1 << 64) - 1]),
                          st.integers(0, 4), st.booleans()), max_size=40))
def test_batch_facts_are_one_per_key_in_each_run_of_an_accounts_rows(rows) -> None:
    """Rows of one account next to each other make one run; each run gives one fact per key, with its rows
    counted, its reasoning rows summed and the least stratum of its rows."""
    got = account_run_facts(rows)
    assert got.schema == pl.Schema({"code": pl.UInt32, "key": pl.UInt64, "stratum": pl.UInt32, "rows": pl.UInt32,
                                    "reasoning": pl.UInt32})
    assert got.rows() == account_run_facts_reference(rows)


def test_runs_of_every_length_give_one_fact_per_key() -> None:
    """Short runs are key-ordered one way and long ones another (facts._INSERTION_SORT_MAX): runs of 1 to 200
    rows, keys repeating and not, all against the reference."""
    rng = random.Random(11)
    rows = []
    for code, length in enumerate([1, 2, 3, 31, 32, 33, 64, 200, 5, 200]):
        keys = [rng.choice([0, 3, 9, (1 << 64) - 1, rng.getrandbits(64)]) for _ in range(length)]
        rows += [(code, key, rng.randrange(5), rng.random() < 0.5) for key in keys]
    assert account_run_facts(rows).rows() == account_run_facts_reference(rows)


# ------------------------------------------------------------------------------------------ account kinds


def account_case() -> tuple[pl.LazyFrame, pl.DataFrame]:
    """Accounts a-e sent requests; f did not (so it has no code and no facts)."""
    events = events_frame([{"account_pseudonym": a, "timestamp": T0} for a in "abcde"])
    hours = lambda h: T0 + timedelta(hours=h)  # noqa: E731
    accounts = accounts_frame([
        # a (day 0, 23:00) and b (day 1, 01:00): 2 h apart across a day boundary; same card, stem and domain.
        {ACCOUNT: "a", "created_at": hours(23), "payment_pseudonym": "p1", "signup_stem_fingerprint": "s", "email_domain_fingerprint": "d1"},
        {ACCOUNT: "b", "created_at": hours(25), "payment_pseudonym": "p1", "signup_stem_fingerprint": "s", "email_domain_fingerprint": "d1"},
        # c: same stem and domain, a week later; d: b's hour, another domain; e: no stem.
        {ACCOUNT: "c", "created_at": hours(8 * 24 + 23), "payment_pseudonym": "p2", "signup_stem_fingerprint": "s", "email_domain_fingerprint": "d1"},
        {ACCOUNT: "d", "created_at": hours(25) + timedelta(minutes=30), "payment_pseudonym": None, "signup_stem_fingerprint": "s", "email_domain_fingerprint": "d2"},
        {ACCOUNT: "e", "created_at": None, "payment_pseudonym": "p1", "signup_stem_fingerprint": None, "email_domain_fingerprint": "d1"},
        {ACCOUNT: "f", "created_at": hours(24), "payment_pseudonym": "p1", "signup_stem_fingerprint": "s", "email_domain_fingerprint": "d1"},
    ])
    return accounts, account_codes(events)


def test_payment_facts() -> None:
    accounts, codes = account_case()
    facts = account_facts("payment", accounts, codes)
    got = {r[ACCOUNT]: (r["key"], r["stratum"], r["rows"]) for r in named(facts, codes).iter_rows(named=True)}
    assert got == {"a": (key_of("p1"), 0, 1), "b": (key_of("p1"), 0, 1), "c": (key_of("p2"), 0, 1), "e": (key_of("p1"), 0, 1)}
    assert shared_counts(facts, codes) == {("a", "b"): 1, ("a", "e"): 1, ("b", "e"): 1}


def test_signup_facts_two_offset_grids() -> None:
    accounts, codes = account_case()
    facts = account_facts("signup", accounts, codes, burst_s=86_400)
    # a (day 0, 23:00) and b (day 1, 01:00) are on different days of the plain grid but in one window of the
    # grid shifted by 12 h; c is a week later, d has another domain, e no stem.
    assert shared_counts(facts, codes) == {("a", "b"): 1}
    per_account = named(facts, codes).group_by(ACCOUNT).len()
    assert dict(per_account.iter_rows()) == {"a": 2, "b": 2, "c": 2, "d": 2}
    # With a one-hour burst a and b (2 h apart) share nothing.
    assert shared_counts(account_facts("signup", accounts, codes, burst_s=3600), codes) == {}


def test_created_facts_are_the_signup_hour() -> None:
    accounts, codes = account_case()
    facts = account_facts("created", accounts, codes)
    # b at 01:00 and d at 01:30 on day 1 share their hour; a (23:00 the day before) does not.
    assert shared_counts(facts, codes) == {("b", "d"): 1}
    got = {r[ACCOUNT]: r["key"] for r in named(facts, codes).iter_rows(named=True)}
    hour0 = int(T0.timestamp()) // 3600
    assert got == {"a": hour0 + 23, "b": hour0 + 25, "c": hour0 + 8 * 24 + 23, "d": hour0 + 25}


def test_unknown_account_kind_is_refused() -> None:
    accounts, codes = account_case()
    with pytest.raises(ValueError):
        account_facts("ip", accounts, codes)


# ------------------------------------------------------------------------------------------ the edge table


def test_each_kind_has_a_declared_null_and_source() -> None:
    declared = {k.name: (k.null, k.source) for k in KEY_KINDS}
    assert declared == {
        "ip": ("typical", "events"), "net": ("typical", "events"), "slot": ("observed", "events"),
        "slot_asn": ("observed", "events"),
        "template": ("observed", "events"), "skeleton": ("observed", "events"), "opening": ("observed", "events"),
        "closing": ("observed", "events"), "payment": ("anomaly", "accounts"), "signup": ("anomaly", "accounts"),
    }


def test_key_edges_keep_pairs_above_the_per_account_bound() -> None:
    """An edge's weight is its surprise less log10(accounts holding the kind); pairs at 0 are not edges."""
    rows = []
    # 60 accounts with one private address each in ASN 7; 0-3 also share two addresses, 4-5 one.
    for c in range(60):
        rows.append((c, 1000 + c, 7))
    rows += [(c, 1, 7) for c in range(4)] + [(c, 2, 7) for c in range(4)] + [(4, 3, 7), (5, 3, 7)]
    facts = pl.DataFrame(rows, schema={"code": pl.UInt32, "key": pl.UInt64, "stratum": pl.UInt32}, orient="row")
    names = pl.Series([f"{i:032x}" for i in range(60)])
    blocking = Blocking(50, 12, 0, np.arange(60))
    ip = next(k for k in KEY_KINDS if k.name == "ip")
    edge_set = key_edges(ip, facts, blocking, names)
    pairs, _ = shared_key_pairs(facts, blocking, null="typical")
    assert dict(edge_set.coded.schema) == CODED_SCHEMA
    weights = {(r["src"], r["dst"]): r["weight"] for r in edge_set.coded.iter_rows(named=True)}
    surprises = {(r["src"], r["dst"]): r["surprise"] for r in pairs.iter_rows(named=True)}
    bound = math.log10(60)
    assert set(weights) == {p for p, s in surprises.items() if s > bound}
    assert set(weights) == set(itertools.combinations(range(4), 2))  # (4, 5) share one key: not beyond chance
    for pair, w in weights.items():
        assert w == pytest.approx(surprises[pair] - bound, abs=1e-6)
    assert edge_set.stats.pairs == 6 and edge_set.stats.accounts == 60 and edge_set.stats.keys_used == 3
    decoded = edge_set.edges
    assert dict(decoded.schema) == EDGE_SCHEMA
    assert set(decoded["kind"]) == {"ip"}
    assert decoded["src"][0] == names[0] and decoded["dst"][0] == names[1]
