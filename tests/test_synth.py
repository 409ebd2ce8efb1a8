"""The incident generator: schema, ground truth, determinism, tradecraft families, scenario and stealth."""

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

import forensics.synth as synth
from forensics.errors import BadInputError
from forensics.synth import CAMPAIGN_FAMILIES, FAMILIES, HARD_NEGATIVE_FAMILIES, SCALES, SCENARIOS, generate
from forensics.synth import families as synth_families
from forensics.synth import world as synth_world

COMPANIONS = {"proxy-customers", "relay-customers"}
HARD_NEGATIVES = set(HARD_NEGATIVE_FAMILIES) | COMPANIONS
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


def _read(out: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    return (pl.read_parquet(out / "logs" / "*.parquet"), pl.read_parquet(out / "accounts.parquet"),
            pl.read_parquet(out / "labels.parquet"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("tiny")
    summary = generate(out, scale="tiny", seed=11)
    return out, summary


@pytest.fixture(scope="module")
def tiny_frames(tiny):
    return _read(tiny[0])


@pytest.fixture(scope="module")
def rows(tiny_frames) -> pl.DataFrame:
    logs, _, labels = tiny_frames
    return logs.join(labels, on="account_id")


def _group(rows: pl.DataFrame, group: str) -> pl.DataFrame:
    return rows.filter(pl.col("group") == group)


def test_tiny_is_small_and_fast(tmp_path):
    generate(tmp_path / "warm", scale="tiny", seed=3)  # imports and lookup tables warmed
    # CPU time of this process (all threads), so that other work on a shared machine does not make it flaky.
    start = time.process_time()
    summary = generate(tmp_path / "timed", scale="tiny", seed=4)
    elapsed = time.process_time() - start
    assert elapsed < 3.0, f"tiny scale took {elapsed:.2f} s of CPU"
    assert 1_000 <= summary["rows"] <= 30_000
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


def test_same_family_selection_same_bytes_in_any_order(tmp_path):
    grid = ("hydra-residential", *HARD_NEGATIVE_FAMILIES)
    a = generate(tmp_path / "a", scale="tiny", seed=5, stealth=0.7, families=grid)
    b = generate(tmp_path / "b", scale="tiny", seed=5, stealth=0.7, families=tuple(reversed(grid)) + grid[:2])
    assert a == b and a["families"] == list(FAMILIES[2:3] + HARD_NEGATIVE_FAMILIES)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    c = generate(tmp_path / "c", scale="tiny", seed=5, stealth=0.7, families=("agentic", *HARD_NEGATIVE_FAMILIES))
    assert _digests(tmp_path / "c") != _digests(tmp_path / "a")


def test_same_bytes_whatever_the_thread_count(tmp_path):
    generate(tmp_path / "many", scale="tiny", seed=8, stealth=0.8, families=("reseller-relay", "classroom"))
    env = dict(os.environ, POLARS_MAX_THREADS="1")
    code = (
        "import sys; from forensics.synth import generate; "
        "generate(sys.argv[1], scale='tiny', seed=8, stealth=0.8, families=('reseller-relay', 'classroom'))"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "one")], check=True, env=env, timeout=120)
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


def test_the_family_names():
    assert CAMPAIGN_FAMILIES == ("fanout-datacenter", "bulk-datacenter", "hydra-residential", "lowslow-sticky",
                                 "reseller-relay", "agentic")
    assert set(HARD_NEGATIVE_FAMILIES) == {"eval-org", "classroom", "platform-relay", "university-nat",
                                           "enterprise-org", "wrapper-app", "eval-harness", "mobile-cgnat"}
    assert FAMILIES == CAMPAIGN_FAMILIES + HARD_NEGATIVE_FAMILIES
    assert not COMPANIONS & set(FAMILIES)
    assert not hasattr(synth, "CAMPAIGNS") and not hasattr(synth_families, "CAMPAIGNS")
    assert "default" in SCENARIOS and "seed" in SCALES


def test_labels_cover_every_family(tiny, tiny_frames, rows):
    _, summary = tiny
    _, _, labels = tiny_frames
    groups = set(labels["group"])
    assert groups == {"background", *FAMILIES, *COMPANIONS}
    assert summary["families"] == list(FAMILIES)
    by_group = dict(labels.select("group", "label").unique().iter_rows())
    assert {g for g, lab in by_group.items() if lab == "attack"} == set(CAMPAIGN_FAMILIES)
    assert {g for g, lab in by_group.items() if lab == "hard_negative"} == HARD_NEGATIVES
    assert {g for g, lab in by_group.items() if lab == "benign"} == {"background"}
    assert summary["groups"] == dict(labels.group_by("group").len().iter_rows())
    assert summary["labels"] == dict(labels.group_by("label").len().iter_rows())
    # Every group actually sends traffic, and every campaign has at least 8 accounts even at tiny.
    assert set(rows["group"]) == groups
    assert min(summary["groups"][f] for f in CAMPAIGN_FAMILIES) >= 8


@pytest.mark.parametrize(
    ("families", "expected"),
    [
        (("hydra-residential",), {"hydra-residential", "proxy-customers"}),
        (("reseller-relay",), {"reseller-relay", "relay-customers"}),
        (("agentic",), {"agentic"}),
        (("eval-org", "classroom"), {"eval-org", "classroom"}),
    ],
)
def test_one_family_brings_only_itself_and_its_customers(tmp_path, tiny, families, expected):
    _, full = tiny
    summary = generate(tmp_path, scale="tiny", seed=11, families=families)
    assert set(summary["groups"]) == {"background", *expected}
    assert set(pl.read_parquet(tmp_path / "logs" / "*.parquet").join(
        pl.read_parquet(tmp_path / "labels.parquet"), on="account_id")["group"]) == {"background", *expected}
    # A family keeps its size when it runs alone, and the background is the same population.
    assert {g: summary["groups"][g] for g in expected | {"background"}} == {
        g: full["groups"][g] for g in expected | {"background"}}


def test_background_and_a_family_do_not_depend_on_the_selection(tmp_path, tiny):
    out, _ = tiny
    generate(tmp_path, scale="tiny", seed=11, families=("lowslow-sticky",))

    def part(root: Path, group: str) -> pl.DataFrame:
        logs, accounts, labels = _read(root)
        ids = labels.filter(pl.col("group") == group).select("account_id")
        return pl.concat([
            logs.join(ids, on="account_id").drop("request_id").sort("timestamp", "account_id", "prompt"),
        ]), accounts.join(ids, on="account_id").sort("account_id")

    for group in ("background", "lowslow-sticky"):
        alone, full = part(tmp_path, group), part(out, group)
        assert alone[0].equals(full[0]) and alone[1].equals(full[1])


@pytest.mark.parametrize("bad", [["nope"], ["all", "campaign-a"], ["proxy-customers"], ["relay-customers"]])
def test_unknown_family_is_refused_with_the_valid_names(tmp_path, bad):
    with pytest.raises(BadInputError) as err:
        generate(tmp_path, scale="tiny", seed=1, families=bad)
    message = str(err.value)
    assert "\n" not in message and repr([b for b in bad if b != "all"][0]) in message
    assert all(name in message for name in FAMILIES)


def test_account_ids_do_not_reveal_the_label(tiny_frames):
    _, accounts, labels = tiny_frames
    ids = accounts.join(labels, on="account_id")
    assert ids["account_id"].str.contains(r"^acct_[a-z2-7]{13}$").all()
    lengths = ids.group_by("label").agg(pl.col("account_id").str.len_chars().unique().alias("lengths"))
    assert all(v == [18] for v in lengths["lengths"].to_list())


def test_campaign_tradecraft_is_present(tiny_frames, rows):
    _, accounts, _ = tiny_frames
    rows = rows.with_columns(
        pl.col("prompt").str.to_lowercase().str.contains(REASONING).alias("reasoning"),
        (pl.col("prompt") + pl.col("system_prompt").fill_null("")).str.to_lowercase().str.contains(REASONING)
        .alias("reasoning_any"),
    )
    share = dict(rows.group_by("label").agg(pl.col("reasoning").mean()).iter_rows())
    assert share["attack"] > 0.5 > 0.2 > share["benign"]
    per_family = dict(rows.filter(pl.col("label") == "attack").group_by("group").agg(pl.col("reasoning_any").mean())
                      .iter_rows())
    assert min(per_family.values()) > 0.55, per_family
    # Campaigns move to the model released mid-incident; most of their late traffic uses it.
    late = rows.filter(pl.col("timestamp") > datetime(2026, 5, 20, tzinfo=timezone.utc))
    new_share = dict(late.group_by("label").agg((pl.col("model") == "nova-4").mean()).iter_rows())
    assert new_share["attack"] > 0.8 and new_share["benign"] < 0.5
    early = rows.filter(pl.col("timestamp") < datetime(2026, 5, 14, tzinfo=timezone.utc))
    assert (early["model"] != "nova-4").all()
    # Payment cards are reused across campaign accounts, billing countries differ from IP countries.
    acc = accounts.join(rows.select("account_id", "label").unique(), on="account_id")
    cards = acc.filter(pl.col("label") == "attack")["payment_fingerprint"]
    assert cards.n_unique() < cards.len()
    mismatch = (
        rows.filter(pl.col("label") == "attack")
        .join(accounts, on="account_id")
        .select((pl.col("country") != pl.col("billing_country")).mean())
        .item()
    )
    assert mismatch > 0.4


def test_campaign_volume_is_modest_per_account_day(rows):
    per_day = (
        rows.filter(pl.col("label") == "attack")
        .group_by("group", "account_id", pl.col("timestamp").dt.date())
        .len()
    )
    assert per_day["len"].max() <= 30
    assert (per_day["len"] >= 3).mean() > 0.95  # a signup day can be cut short
    typical = dict(per_day.group_by("group").agg(pl.col("len").median()).iter_rows())
    assert typical["hydra-residential"] < 8 and typical["lowslow-sticky"] < 9 and typical["bulk-datacenter"] < 13
    assert typical["fanout-datacenter"] > 15 and typical["agentic"] > 15
    # Benign users include plenty in the same daily range, and a heavy tail above it.
    bg = rows.filter(pl.col("group") == "background").group_by("account_id", pl.col("timestamp").dt.date()).len()
    assert ((bg["len"] >= 3) & (bg["len"] <= 30)).sum() > 0.2 * bg.height and bg["len"].max() > 30


def test_fanout_datacenter(rows, tiny_frames):
    fan = _group(rows, "fanout-datacenter")
    items = fan.group_by("prompt").agg(
        pl.len().alias("copies"), pl.col("account_id").n_unique().alias("accounts"),
        (pl.col("timestamp").max() - pl.col("timestamp").min()).dt.total_seconds().alias("span"),
    )
    assert (items["copies"] == items["accounts"]).all()  # copies of an item come from different accounts
    assert items["copies"].is_between(2, 4).mean() > 0.95
    assert items["span"].quantile(0.95) < 15 * 60
    assert fan["ip"].str.replace(r"\.\d+$", "").n_unique() <= 5  # a few /24s
    assert set(fan["user_agent"]) <= set(synth_world.SDK_UAS) | {"python-requests/2.31.0"}
    # Round the clock: every UTC hour is used.
    assert fan["timestamp"].dt.hour().n_unique() == 24


def test_bulk_datacenter_never_repeats_a_prompt(rows):
    bulk = _group(rows, "bulk-datacenter")
    assert bulk["prompt"].n_unique() == bulk.height
    assert bulk["ip"].n_unique() <= 300 and bulk["ip"].str.replace(r"\.\d+$", "").n_unique() <= 6
    # Varied fill: words change between items, not only numbers.
    assert bulk["prompt"].str.replace_all(r"\d+", "#").n_unique() > 0.9 * bulk.height


def test_hydra_residential_shares_its_pool_with_proxy_customers(rows, tiny_frames):
    _, accounts, _ = tiny_frames
    hydra, customers = _group(rows, "hydra-residential"), _group(rows, "proxy-customers")
    assert hydra["prompt"].n_unique() == hydra.height
    assert len(set(hydra["ip"]) & set(customers["ip"])) > 0
    assert hydra["asn"].n_unique() >= 10 and hydra["country"].n_unique() >= 5
    assert hydra["user_agent"].str.starts_with("Mozilla/5.0").all()
    acc = accounts.join(hydra.select("account_id").unique(), on="account_id")
    assert acc["payment_fingerprint"].n_unique() == acc.height  # a card each
    assert not acc["email_domain"].is_in(list(synth_world.THROWAWAY_DOMAINS)).any()
    life = hydra.group_by("account_id").agg((pl.col("timestamp").max() - pl.col("timestamp").min()).dt.total_days())
    assert life["timestamp"].max() <= 29
    # Synchronised waves: most requests fall in a few minutes of some wave, a few waves a day.
    per_minute = hydra.group_by(pl.col("timestamp").dt.truncate("10m")).len()
    assert per_minute["len"].max() >= 3


def test_lowslow_sticky_keeps_one_address_and_office_hours(rows, tiny_frames):
    _, accounts, _ = tiny_frames
    low = _group(rows, "lowslow-sticky")
    per_account = low.group_by("account_id").agg(pl.col("ip").n_unique())
    assert (per_account["ip"] == 1).all()
    assert low["ip"].n_unique() == low["account_id"].n_unique()  # nobody shares an address
    assert low["prompt"].n_unique() == low.height
    local = low["timestamp"].dt.offset_by("-5h")
    assert (local.dt.weekday() <= 5).mean() > 0.85
    assert local.dt.hour().is_between(8, 18).all()
    acc = accounts.join(low.select("account_id").unique(), on="account_id")
    assert acc["payment_fingerprint"].n_unique() == acc.height


def test_reseller_relay_hides_among_its_customers(rows):
    res, customers = _group(rows, "reseller-relay"), _group(rows, "relay-customers")
    assert res["user_agent"].n_unique() == 1 and set(res["user_agent"]) == set(customers["user_agent"])
    assert res["ip"].n_unique() <= 10
    assert len(set(res["ip"]) & set(customers["ip"])) >= 3
    copies = res.group_by("prompt").agg(pl.len().alias("n"), pl.col("account_id").n_unique().alias("a"))
    assert (copies["n"] == copies["a"]).all() and 1.3 < copies["n"].mean() < 2.6
    # Customers are people: diverse prompts, not the campaign's.
    assert customers["prompt"].n_unique() > 0.8 * customers.height


def test_agentic_chains_carry_observations(rows):
    agent = _group(rows, "agentic")
    assert agent["system_prompt"].str.contains('"name": "web_search"').all()
    assert agent["prompt"].str.starts_with("Task: ").all()
    assert agent["prompt"].str.contains("Observation: ").mean() > 0.6
    assert agent["prompt"].n_unique() == agent.height
    assert (agent.group_by("account_id").agg(pl.col("ip").n_unique())["ip"] == 1).all()
    assert agent["asn"].n_unique() >= 3
    gaps = agent.sort("account_id", "timestamp").select(
        pl.col("timestamp").diff().over("account_id").dt.total_seconds().alias("gap"))["gap"].drop_nulls()
    assert gaps.median() < 60  # calls of a task are seconds apart


def test_hard_negative_structures(rows, tiny_frames):
    _, accounts, labels = tiny_frames
    acc = accounts.join(labels, on="account_id")
    for org in ("enterprise-org", "eval-org"):  # one organisation, one company card
        members = acc.filter(pl.col("group") == org)
        assert members["org_id"].n_unique() == 1 and members["org_id"].null_count() == 0
        assert members["payment_fingerprint"].n_unique() == 1
    assert acc.filter(pl.col("group") == "eval-org").height >= 12
    wrapper = _group(rows, "wrapper-app")
    assert wrapper["system_prompt"].n_unique() == 1 and wrapper["system_prompt"].null_count() == 0
    harness = _group(rows, "eval-harness")
    per_account = rows.group_by("account_id", "group").len()
    assert harness.height / harness["account_id"].n_unique() > per_account["len"].median() * 5
    # Mobile carrier NAT: one address used by several unrelated accounts on the same day.
    shared = (
        _group(rows, "mobile-cgnat")
        .group_by(pl.col("timestamp").dt.date(), "ip")
        .agg(pl.col("account_id").n_unique().alias("accounts"))
    )
    assert shared["accounts"].max() >= 2
    # Platform relay: many users, one user agent, one system prompt, a few addresses.
    platform = _group(rows, "platform-relay")
    assert platform["user_agent"].n_unique() == 1 and platform["system_prompt"].n_unique() == 1
    assert platform["ip"].n_unique() <= 4 < platform["account_id"].n_unique()


def test_eval_org_runs_benchmarks_from_the_campaigns_clouds(rows):
    org = _group(rows, "eval-org")
    assert org["prompt"].str.contains("Question \\d+").all() and org["prompt"].str.contains("step by step").all()
    datacenter = set(_group(rows, "fanout-datacenter")["asn"]) | set(_group(rows, "bulk-datacenter")["asn"])
    assert set(org["asn"]) & datacenter
    assert org["timestamp"].dt.hour().n_unique() >= 16  # round the clock
    per_day = org.group_by("account_id", pl.col("timestamp").dt.date()).len()
    assert per_day["len"].median() > 8  # comparable to the campaigns


def test_classroom_sends_the_exercise_together(rows):
    lab = _group(rows, "classroom").filter(pl.col("prompt").str.to_lowercase().str.contains(" lab \\d, exercise"))
    burst = lab.group_by("prompt").agg(
        pl.col("account_id").n_unique().alias("students"),
        (pl.col("timestamp").max() - pl.col("timestamp").min()).dt.total_seconds().alias("span"),
    ).sort("students", descending=True)
    assert burst["students"][0] >= 10 and burst["span"][0] < 3_600
    assert lab["prompt"].str.contains("step by step").all()
    assert lab["asn"].n_unique() == 1 and lab["asn"][0] in set(_group(rows, "university-nat")["asn"])  # campus NAT


def test_scenario_changes_the_population(tmp_path):
    base = generate(tmp_path / "d", scale="tiny", seed=9)
    many = generate(tmp_path / "m", scale="tiny", seed=9, scenario="many-hard-negatives")
    few = generate(tmp_path / "f", scale="tiny", seed=9, scenario="few-hard-negatives")
    for group in HARD_NEGATIVES - {"eval-harness", "mobile-cgnat"}:
        assert few["groups"][group] <= base["groups"][group] < many["groups"][group], group
        if group != "classroom":  # whole classes: at tiny, one class is the least
            assert few["groups"][group] < base["groups"][group], group
    assert {f: many["groups"][f] for f in CAMPAIGN_FAMILIES} == {f: base["groups"][f] for f in CAMPAIGN_FAMILIES}
    orgs = pl.read_parquet(tmp_path / "m" / "accounts.parquet")["org_id"].drop_nulls()
    assert orgs.n_unique() > pl.read_parquet(tmp_path / "d" / "accounts.parquet")["org_id"].drop_nulls().n_unique()


def test_shared_proxy_puts_more_customers_on_the_campaigns_addresses(tmp_path):
    def overlap(scenario: str) -> int:
        out = tmp_path / scenario
        generate(out, scale="tiny", seed=2, scenario=scenario, families=("hydra-residential",))
        logs, _, labels = _read(out)
        rows = logs.join(labels, on="account_id")
        attack = set(rows.filter(pl.col("label") == "attack")["ip"])
        customers = set(rows.filter(pl.col("group") == "proxy-customers")["ip"])
        return len(attack & customers)

    assert overlap("shared-proxy") > overlap("default") > 0


def test_stealth_makes_campaigns_harder(tmp_path):
    def campaign_stats(stealth: float) -> dict:
        out = tmp_path / f"s{stealth}"
        generate(out, scale="tiny", seed=4, stealth=stealth, families=CAMPAIGN_FAMILIES)
        logs, accounts, labels = _read(out)
        labels = labels.filter(pl.col("label") == "attack")
        acc = accounts.join(labels, on="account_id")
        rows = logs.join(labels, on="account_id")
        fan = acc.filter(pl.col("group") == "fanout-datacenter", pl.col("created_at") < datetime(2026, 5, 1,
                                                                                                tzinfo=timezone.utc))
        return {
            "accounts_per_card": acc.height / acc["payment_fingerprint"].n_unique(),
            "accounts_per_ip": {  # shared pools grow with stealth
                g: part["account_id"].n_unique() / part["ip"].n_unique()
                for (g,), part in rows.partition_by("group", as_dict=True).items()
                if g in ("fanout-datacenter", "bulk-datacenter", "hydra-residential", "reseller-relay")
            },
            "distinct_prompt_share": rows["prompt"].n_unique() / rows.height,
            "reasoning": rows["prompt"].str.to_lowercase().str.contains(REASONING).mean(),
            "mismatch": rows.join(accounts, on="account_id").select(
                (pl.col("country") != pl.col("billing_country")).mean()).item(),
            # fanout-datacenter's main signup burst (its refill after the release aside)
            "signup_spread_h": fan["created_at"].cast(pl.Int64).std() / 3.6e9,
        }

    blatant, stealthy = campaign_stats(0.0), campaign_stats(1.0)
    assert stealthy["accounts_per_card"] < blatant["accounts_per_card"]
    for family, ratio in blatant["accounts_per_ip"].items():
        assert stealthy["accounts_per_ip"][family] <= ratio, family
    assert stealthy["distinct_prompt_share"] > blatant["distinct_prompt_share"]
    assert stealthy["reasoning"] < blatant["reasoning"]
    assert stealthy["mismatch"] < blatant["mismatch"]
    assert stealthy["signup_spread_h"] > blatant["signup_spread_h"]


def test_generate_leaves_other_files_alone(tmp_path):
    (tmp_path / "README.md").write_text("keep me")
    generate(tmp_path, scale="tiny", seed=1)
    generate(tmp_path, scale="tiny", seed=2)
    assert (tmp_path / "README.md").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "accounts.parquet", "labels.parquet", "logs"]


@pytest.mark.parametrize(
    "kwargs",
    [{"scale": "huge"}, {"scenario": "nope"}, {"stealth": 1.5}, {"stealth": -0.1}, {"seed": -1},
     {"families": ["campaign-a"]}],
)
def test_bad_parameters_are_refused(tmp_path, kwargs):
    params = {"scale": "tiny", "seed": 1} | kwargs
    with pytest.raises(BadInputError):
        generate(tmp_path, **params)


def test_cli_synth(tmp_path, capsys):
    from forensics.cli import main

    assert main(["synth", "--out", str(tmp_path / "x"), "--scale", "tiny", "--seed", "3", "--stealth", "0.9",
                 "--scenario", "shared-proxy", "--quiet"]) == 0
    assert (tmp_path / "x" / "labels.parquet").exists()
    assert main(["synth", "--out", str(tmp_path / "f"), "--family", "agentic", "--family", "eval-org",
                 "--quiet"]) == 0
    assert set(pl.read_parquet(tmp_path / "f" / "labels.parquet")["group"]) == {"background", "agentic", "eval-org"}
    assert main(["synth", "--out", str(tmp_path / "y"), "--scenario", "bogus", "--quiet"]) == 2
    assert "bogus" in capsys.readouterr().err
    assert main(["synth", "--out", str(tmp_path / "z"), "--family", "bogus", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "bogus" in err and "hydra-residential" in err
    assert set(SCENARIOS) == {"default", "many-hard-negatives", "few-hard-negatives", "shared-proxy"}
