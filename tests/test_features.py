"""Per-account features on small hand-built event frames of the case-format schema."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

from forensics.detect.features import _sorted_by_account_and_time, collect_features

T0 = datetime(2026, 4, 22, tzinfo=timezone.utc)


def make_events(rows: list[dict]) -> pl.LazyFrame:
    base = {
        "request_id": None, "timestamp": None, "account_pseudonym": None, "ip_pseudonym": "ip1", "net_pseudonym": "n1",
        "asn": 1, "country": "US", "user_agent_fingerprint": "ua", "model": "m1", "input_tokens": 10,
        "output_tokens": 100, "prompt_fingerprint": None, "prompt_template_fingerprint": None,
        "prompt_minhash": None, "prompt_chars": 20, "prompt_reasoning": False, "system_prompt_fingerprint": None,
    }
    full = []
    for i, r in enumerate(rows):
        row = dict(base, request_id=f"r{i}", prompt_fingerprint=f"p{i}", prompt_template_fingerprint=f"t{i}")
        row.update(r)
        full.append(row)
    schema = {
        "request_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "account_pseudonym": pl.String,
        "ip_pseudonym": pl.String, "net_pseudonym": pl.String, "asn": pl.Int64, "country": pl.String,
        "user_agent_fingerprint": pl.String, "model": pl.String, "input_tokens": pl.Int64, "output_tokens": pl.Int64,
        "prompt_fingerprint": pl.String, "prompt_template_fingerprint": pl.String,
        "prompt_minhash": pl.List(pl.UInt64), "prompt_chars": pl.Int64, "prompt_reasoning": pl.Boolean,
        "system_prompt_fingerprint": pl.String,
    }
    return pl.DataFrame(full, schema=schema, orient="row").lazy()


def test_volume_timing_and_hours() -> None:
    # "bot": one request every 10 minutes for 48 h: every hour equally, perfectly regular.
    rows = [{"account_pseudonym": "bot", "timestamp": T0 + timedelta(minutes=10 * i)} for i in range(288)]
    # "human": 4 requests at 09:00-ish on 2 days, irregular gaps.
    for day, minutes in ((0, [0, 1, 30]), (2, [5])):
        rows += [{"account_pseudonym": "human", "timestamp": T0 + timedelta(days=day, hours=9, minutes=m)} for m in minutes]
    f = collect_features(make_events(rows))
    assert f["account_pseudonym"].to_list() == ["bot", "human"]
    bot, human = f.row(0, named=True), f.row(1, named=True)
    assert (bot["requests"], bot["active_days"]) == (288, 2)
    assert bot["interarrival_median_s"] == pytest.approx(600.0)
    assert bot["interarrival_cv"] == pytest.approx(0.0)
    assert bot["hour_entropy"] == pytest.approx(math.log2(24))
    assert bot["hour_13"] == pytest.approx(1 / 24)
    assert (human["requests"], human["active_days"]) == (4, 2)
    assert human["hour_entropy"] == pytest.approx(0.0)
    assert human["hour_09"] == pytest.approx(1.0)
    assert human["interarrival_cv"] > 1.0


def test_diversity_reasoning_network_and_tokens() -> None:
    rows = [
        {"account_pseudonym": "a", "timestamp": T0 + timedelta(minutes=i), "prompt_fingerprint": "same",
         "prompt_template_fingerprint": "t", "prompt_reasoning": i % 2 == 0, "ip_pseudonym": f"ip{i}",
         "net_pseudonym": f"n{i % 2}", "asn": i % 3, "country": ["US", "NL"][i % 2], "output_tokens": 100 * (i + 1)}
        for i in range(4)
    ]
    f = collect_features(make_events(rows)).row(0, named=True)
    assert f["prompt_diversity"] == pytest.approx(0.25)
    assert f["reasoning_share"] == pytest.approx(0.5)
    assert (f["distinct_ips"], f["distinct_nets"], f["distinct_asns"], f["distinct_countries"]) == (4, 2, 3, 2)
    assert f["output_tokens"] == 1000
    assert f["output_tokens_mean"] == pytest.approx(250.0)


def test_an_account_without_prompt_text_has_no_reasoning_share_rather_than_nan() -> None:
    """Logs whose prompt column is empty for some accounts (CooRTweet's German set: posts without a URL) gave NaN
    shares, and the NaN median then broke the scorer's wording."""
    rows = [{"account_pseudonym": "silent", "timestamp": T0 + timedelta(minutes=i), "prompt_chars": None,
             "prompt_reasoning": None, "prompt_fingerprint": None} for i in range(3)]
    rows += [{"account_pseudonym": "talker", "timestamp": T0 + timedelta(minutes=i), "prompt_reasoning": True} for i in range(2)]
    f = collect_features(make_events(rows))
    silent, talker = f.row(0, named=True), f.row(1, named=True)
    assert silent["reasoning_share"] is None and silent["prompt_chars_mean"] is None
    assert talker["reasoning_share"] == pytest.approx(1.0)
    assert f["reasoning_share"].drop_nulls().median() == pytest.approx(1.0)


def test_new_model_switch_lag() -> None:
    rows = [{"account_pseudonym": "old", "timestamp": T0 + timedelta(hours=h), "model": "m1"} for h in range(0, 240, 12)]
    # m2 appears on day 5 (first used by "early"); "early" starts at once, "late" four days later.
    release = T0 + timedelta(days=5)
    rows += [{"account_pseudonym": "early", "timestamp": release, "model": "m2"},
             {"account_pseudonym": "early", "timestamp": release + timedelta(hours=1), "model": "m1"},
             {"account_pseudonym": "late", "timestamp": release + timedelta(days=4), "model": "m2"}]
    f = {r["account_pseudonym"]: r for r in collect_features(make_events(rows)).iter_rows(named=True)}
    assert f["early"]["new_model_lag_h"] == pytest.approx(0.0)
    assert f["early"]["fast_new_model_switch"] is True
    assert f["late"]["new_model_lag_h"] == pytest.approx(96.0)
    assert f["late"]["fast_new_model_switch"] is False
    assert f["old"]["new_model_lag_h"] is None  # m1 exists from the first day: not a new model
    assert f["early"]["distinct_models"] == 2
    assert f["early"]["top_model_share"] == pytest.approx(0.5)


def test_account_table_country_mismatch_and_age() -> None:
    rows = [{"account_pseudonym": "a", "timestamp": T0 + timedelta(hours=i), "country": c} for i, c in enumerate(["US", "DE", "DE", "US"])]
    rows += [{"account_pseudonym": "b", "timestamp": T0, "country": "FR"}]
    accounts = pl.DataFrame(
        {
            "account_pseudonym": ["a", "b"],
            "created_at": pl.Series([T0 - timedelta(hours=30), None], dtype=pl.Datetime("us", "UTC")),
            "billing_country": ["US", None],
            "payment_pseudonym": ["p", "q"],
            "org_pseudonym": [None, "o"],
            "email_domain_fingerprint": ["d", "d"],
            "signup_stem_fingerprint": ["s", "s"],
        }
    ).lazy()
    f = {r["account_pseudonym"]: r for r in collect_features(make_events(rows), accounts).iter_rows(named=True)}
    assert f["a"]["country_mismatch_share"] == pytest.approx(0.5)
    assert f["a"]["account_age_at_first_request_h"] == pytest.approx(30.0)
    assert f["a"]["signup_hour"] == 18
    assert f["b"]["country_mismatch_share"] is None
    assert f["b"]["account_age_at_first_request_h"] is None
    assert f["b"]["org_pseudonym"] == "o"


@pytest.mark.parametrize("span_us, accounts", [(45 * 86_400 * 10**6, 300), (2**60, 5_000)])
def test_rows_sorted_by_account_and_time_as_two_stable_sorts(span_us: int, accounts: int) -> None:
    # The first case packs (code, time) into one UInt64; the second is too wide and takes the two sorts.
    rng = np.random.default_rng(7)
    n = 20_000
    rows = pl.DataFrame({
        "code": rng.integers(0, accounts, n, dtype=np.uint32),
        "timestamp": pl.Series(rng.integers(0, span_us, n) - span_us // 2).cast(pl.Datetime("us", "UTC")),
    })
    rows = pl.concat([rows, rows.head(500)])  # repeated (code, time) rows
    got = _sorted_by_account_and_time(rows)
    assert got.schema == rows.schema
    assert got.equals(rows.sort("timestamp").sort("code", maintain_order=True))
