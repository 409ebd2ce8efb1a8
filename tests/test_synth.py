"""The incident generator: schema, ground truth, determinism, and that scenario and stealth matter."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

from forensics.cli import main
from forensics.errors import BadInputError
from forensics.synth import CAMPAIGNS, SCENARIOS, generate

HARD_NEGATIVES = {"university-nat", "enterprise-org", "wrapper-app", "eval-harness", "proxy-customers"}
LOG_SCHEMA = {
    "request_id": pl.String,
    "timestamp": pl.Datetime("us", "UTC"),
    "account_id": pl.String,
    "ip": pl.String,
    "asn": pl.Int64,
    "country": pl.String,
    "user_agent": pl.String,
    "model": pl.String,
    "input_tokens": pl.Int64,
    "output_tokens": pl.Int64,
    "prompt": pl.String,
    "system_prompt": pl.String,
}
REASONING = r"step[ -]by[ -]step|show (?:your|all) (?:work|reasoning)|reasoning|walk (?:me )?through|think"


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.parquet"))
    }


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("tiny")
    summary = generate(out, scale="tiny", seed=11)
    return out, summary


@pytest.fixture(scope="module")
def tiny_frames(tiny):
    out, _ = tiny
    logs = pl.read_parquet(out / "logs" / "*.parquet")
    accounts = pl.read_parquet(out / "accounts.parquet")
    labels = pl.read_parquet(out / "labels.parquet")
    return logs, accounts, labels


def test_tiny_is_small_and_fast(tmp_path):
    generate(tmp_path / "warm", scale="tiny", seed=3)  # imports and lookup tables warmed
    # CPU time of this process (all threads), so that other work on a shared machine does not make it flaky.
    start = time.process_time()
    summary = generate(tmp_path / "timed", scale="tiny", seed=4)
    elapsed = time.process_time() - start
    assert elapsed < 3.0, f"tiny scale took {elapsed:.2f} s of CPU"
    assert 1_000 <= summary["rows"] <= 20_000
    assert 100 <= summary["accounts"] <= 1_000


def test_same_seed_same_bytes(tmp_path):
    a = generate(tmp_path / "a", scale="tiny", seed=5, stealth=0.3, scenario="shared-proxy")
    b = generate(tmp_path / "b", scale="tiny", seed=5, stealth=0.3, scenario="shared-proxy")
    assert a == b
    da, db = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert len(da) == a["files"] + 2
    assert da == db
    c = generate(tmp_path / "c", scale="tiny", seed=6, stealth=0.3, scenario="shared-proxy")
    assert _digests(tmp_path / "c") != da
    assert c["rows"] != a["rows"] or c != a


def test_same_bytes_whatever_the_thread_count(tmp_path):
    generate(tmp_path / "many", scale="tiny", seed=8, stealth=0.8)
    env = dict(os.environ, POLARS_MAX_THREADS="1")
    subprocess.run(
        [sys.executable, "-m", "forensics.cli", "synth", "--out", str(tmp_path / "one"), "--scale", "tiny",
         "--seed", "8", "--stealth", "0.8", "--quiet"],
        check=True, env=env, timeout=120,
    )
    assert _digests(tmp_path / "one") == _digests(tmp_path / "many")


def test_schema_of_the_three_files(tiny, tiny_frames):
    out, summary = tiny
    logs, accounts, labels = tiny_frames
    files = sorted((out / "logs").glob("*.parquet"))
    assert len(files) == summary["files"] == 45
    assert [f.name for f in files][:2] == ["part-00000.parquet", "part-00001.parquet"]
    assert dict(logs.schema) == LOG_SCHEMA
    assert dict(accounts.schema) == {
        "account_id": pl.String,
        "created_at": pl.Datetime("us", "UTC"),
        "email_domain": pl.String,
        "payment_fingerprint": pl.String,
        "billing_country": pl.String,
        "org_id": pl.String,
    }
    assert dict(labels.schema) == {"account_id": pl.String, "label": pl.String, "group": pl.String}
    assert logs.height == summary["rows"]
    assert accounts.height == labels.height == summary["accounts"]
    # Required fields are always present; system prompts are mostly absent; some IPv6 among IPv4.
    assert sum(logs.drop("system_prompt").null_count().row(0)) == 0
    assert 0.3 < logs["system_prompt"].null_count() / logs.height < 0.99
    assert logs["ip"].str.contains(":").any()
    assert logs["ip"].str.contains(r"^\d+\.\d+\.\d+\.\d+$").mean() > 0.8
    assert logs["country"].str.contains(r"^[A-Z]{2}$").all()
    assert (logs["input_tokens"] > 0).all() and (logs["output_tokens"] > 0).all()


def test_request_ids_unique_and_timestamps_in_window(tiny_frames):
    logs, _, _ = tiny_frames
    assert logs["request_id"].n_unique() == logs.height
    since = datetime(2026, 4, 22, tzinfo=timezone.utc)
    until = datetime(2026, 6, 6, tzinfo=timezone.utc)
    assert logs["timestamp"].min() >= since
    assert logs["timestamp"].max() < until
    assert logs["timestamp"].dt.date().n_unique() == 45


def test_each_file_holds_one_sorted_utc_day(tiny):
    out, _ = tiny
    for i, path in enumerate(sorted((out / "logs").glob("*.parquet"))):
        ts = pl.read_parquet(path, columns=["timestamp"])["timestamp"]
        assert ts.is_sorted()
        assert ts.dt.date().unique().to_list() == [(datetime(2026, 4, 22) + timedelta(days=i)).date()]


def test_log_accounts_are_in_the_account_table(tiny_frames):
    logs, accounts, labels = tiny_frames
    assert accounts["account_id"].n_unique() == accounts.height
    assert set(logs["account_id"].unique()) <= set(accounts["account_id"])
    assert set(labels["account_id"]) == set(accounts["account_id"])
    # Nobody sends a request before signing up.
    first = logs.group_by("account_id").agg(pl.col("timestamp").min().alias("first"))
    joined = first.join(accounts, on="account_id")
    assert (joined["created_at"] <= joined["first"]).all()


def test_labels_cover_every_group(tiny, tiny_frames):
    _, summary = tiny
    logs, _, labels = tiny_frames
    groups = set(labels["group"])
    assert groups == {"background", "mobile-cgnat", *HARD_NEGATIVES, *CAMPAIGNS}
    by_group = dict(labels.select("group", "label").unique().iter_rows())
    assert {g for g, lab in by_group.items() if lab == "attack"} == set(CAMPAIGNS)
    assert {g for g, lab in by_group.items() if lab == "hard_negative"} == HARD_NEGATIVES
    assert {by_group["background"], by_group["mobile-cgnat"]} == {"benign"}
    assert summary["groups"] == dict(labels.group_by("group").len().iter_rows())
    assert summary["labels"] == dict(labels.group_by("label").len().iter_rows())
    # Every group actually sends traffic.
    active = set(logs.join(labels, on="account_id")["group"])
    assert active == groups


def test_account_ids_do_not_reveal_the_label(tiny_frames):
    _, accounts, labels = tiny_frames
    ids = accounts.join(labels, on="account_id")
    assert ids["account_id"].str.contains(r"^acct_[a-z2-7]{13}$").all()
    lengths = ids.group_by("label").agg(pl.col("account_id").str.len_chars().unique().alias("lengths"))
    assert all(v == [18] for v in lengths["lengths"].to_list())


def test_campaign_tradecraft_is_present(tiny_frames):
    logs, accounts, labels = tiny_frames
    rows = logs.join(labels, on="account_id").with_columns(
        pl.col("prompt").str.to_lowercase().str.contains(REASONING).alias("reasoning")
    )
    share = dict(rows.group_by("label").agg(pl.col("reasoning").mean()).iter_rows())
    assert share["attack"] > 0.5 > 0.2 > share["benign"]
    # Campaigns move to the model released mid-incident; most of their late traffic uses it.
    late = rows.filter(pl.col("timestamp") > datetime(2026, 5, 20, tzinfo=timezone.utc))
    new_share = dict(late.group_by("label").agg((pl.col("model") == "nova-4").mean()).iter_rows())
    assert new_share["attack"] > 0.8 and new_share["benign"] < 0.5
    early = rows.filter(pl.col("timestamp") < datetime(2026, 5, 14, tzinfo=timezone.utc))
    assert (early["model"] != "nova-4").all()
    # Payment cards are reused across campaign accounts, billing countries differ from IP countries.
    acc = accounts.join(labels, on="account_id")
    cards = acc.filter(pl.col("label") == "attack")["payment_fingerprint"]
    assert cards.n_unique() < cards.len()
    mismatch = (
        rows.filter(pl.col("label") == "attack")
        .join(accounts, on="account_id")
        .select((pl.col("country") != pl.col("billing_country")).mean())
        .item()
    )
    assert mismatch > 0.4


def test_hard_negative_structures(tiny_frames):
    logs, accounts, labels = tiny_frames
    acc = accounts.join(labels, on="account_id")
    ent = acc.filter(pl.col("group") == "enterprise-org")
    assert ent["org_id"].n_unique() == 1 and ent["org_id"].null_count() == 0
    assert ent["payment_fingerprint"].n_unique() == 1
    rows = logs.join(labels, on="account_id")
    wrapper = rows.filter(pl.col("group") == "wrapper-app")
    assert wrapper["system_prompt"].n_unique() == 1 and wrapper["system_prompt"].null_count() == 0
    harness = rows.filter(pl.col("group") == "eval-harness")
    per_account = rows.group_by("account_id", "group").len()
    assert harness.height / harness["account_id"].n_unique() > per_account["len"].median() * 5
    # Mobile carrier NAT: one address used by several unrelated benign accounts on the same day.
    shared = (
        rows.filter(pl.col("group") == "mobile-cgnat")
        .group_by(pl.col("timestamp").dt.date(), "ip")
        .agg(pl.col("account_id").n_unique().alias("accounts"))
    )
    assert shared["accounts"].max() >= 2


def test_scenario_changes_the_population(tmp_path):
    base = generate(tmp_path / "d", scale="tiny", seed=9)
    many = generate(tmp_path / "m", scale="tiny", seed=9, scenario="many-hard-negatives")
    few = generate(tmp_path / "f", scale="tiny", seed=9, scenario="few-hard-negatives")
    for group in HARD_NEGATIVES - {"eval-harness"}:
        assert few["groups"][group] < base["groups"][group] < many["groups"][group]
    orgs = pl.read_parquet(tmp_path / "m" / "accounts.parquet")["org_id"].drop_nulls()
    assert orgs.n_unique() > pl.read_parquet(tmp_path / "d" / "accounts.parquet")["org_id"].drop_nulls().n_unique()


def test_shared_proxy_puts_campaigns_and_customers_on_the_same_addresses(tmp_path):
    def overlap(scenario: str) -> int:
        out = tmp_path / scenario
        generate(out, scale="tiny", seed=2, scenario=scenario)
        labels = pl.read_parquet(out / "labels.parquet")
        rows = pl.read_parquet(out / "logs" / "*.parquet").join(labels, on="account_id")
        attack = set(rows.filter(pl.col("label") == "attack")["ip"])
        customers = set(rows.filter(pl.col("group") == "proxy-customers")["ip"])
        return len(attack & customers)

    assert overlap("shared-proxy") > overlap("default")


def test_stealth_makes_campaigns_harder(tmp_path):
    def campaign_stats(stealth: float) -> dict:
        out = tmp_path / f"s{stealth}"
        generate(out, scale="tiny", seed=4, stealth=stealth)
        labels = pl.read_parquet(out / "labels.parquet").filter(pl.col("label") == "attack")
        acc = pl.read_parquet(out / "accounts.parquet").join(labels, on="account_id")
        rows = pl.read_parquet(out / "logs" / "*.parquet").join(labels, on="account_id")
        return {
            "accounts_per_card": acc.height / acc["payment_fingerprint"].n_unique(),
            "accounts_per_ip": rows["account_id"].n_unique() / rows["ip"].n_unique(),
            "distinct_prompt_share": rows["prompt"].n_unique() / rows.height,
            # campaign-a and campaign-d sign up in one burst each (a's refill accounts aside)
            "signup_spread_h": acc.filter(pl.col("group") == "campaign-d")["created_at"].cast(pl.Int64).std() / 3.6e9,
        }

    blatant, stealthy = campaign_stats(0.0), campaign_stats(1.0)
    assert stealthy["accounts_per_card"] < blatant["accounts_per_card"]
    assert stealthy["accounts_per_ip"] < blatant["accounts_per_ip"]
    assert stealthy["distinct_prompt_share"] > blatant["distinct_prompt_share"]
    assert stealthy["signup_spread_h"] > blatant["signup_spread_h"]


def test_generate_leaves_other_files_alone(tmp_path):
    (tmp_path / "README.md").write_text("keep me")
    generate(tmp_path, scale="tiny", seed=1)
    generate(tmp_path, scale="tiny", seed=2)
    assert (tmp_path / "README.md").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "accounts.parquet", "labels.parquet", "logs"]


@pytest.mark.parametrize(
    "kwargs",
    [{"scale": "huge"}, {"scenario": "nope"}, {"stealth": 1.5}, {"stealth": -0.1}, {"seed": -1}],
)
def test_bad_parameters_are_refused(tmp_path, kwargs):
    params = {"scale": "tiny", "seed": 1} | kwargs
    with pytest.raises(BadInputError):
        generate(tmp_path, **params)


def test_cli_synth(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path / "x"), "--scale", "tiny", "--seed", "3", "--stealth", "0.9",
                 "--scenario", "shared-proxy", "--quiet"]) == 0
    assert (tmp_path / "x" / "labels.parquet").exists()
    assert main(["synth", "--out", str(tmp_path / "y"), "--scenario", "bogus", "--quiet"]) == 2
    assert "bogus" in capsys.readouterr().err
    assert set(SCENARIOS) == {"default", "many-hard-negatives", "few-hard-negatives", "shared-proxy"}
