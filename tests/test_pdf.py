"""The PDF exhibit and the report's wording, from the real pipeline (synth tiny -> ingest -> cluster -> report):
page furniture on every page, one exhibit per flagged group on its own page, byte-identical re-runs, prose tied
to the scorer's indicators, accuracy figures read from the benchmark's file, captions written from the figures'
own parameters, and chart text that is real text."""

from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from forensics.bundle import figures
from forensics.bundle import render as r
from forensics.bundle.run import build_bundle
from forensics.detect import score

from tests.conftest import occurring, real_pipeline

CASE_ID = "PDF-2026-001"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return real_pipeline(tmp_path_factory.mktemp("pdf"), seed=3, title="PDF test report", case_id=CASE_ID)


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _summary(pipeline) -> dict:
    return json.loads((pipeline["bundle"] / "data/summary.json").read_text())


def test_every_page_carries_case_page_n_of_n_fingerprint_and_version(pipeline) -> None:
    summary = _summary(pipeline)
    pages = _pages((pipeline["bundle"] / "data/report.pdf").read_bytes())
    flagged = summary["flagged_clusters"]
    assert flagged, "the tiny incident has campaigns; the test needs flagged groups"
    # Page one, one page or more per exhibit, the sections after them.
    assert len(pages) >= 3 + len(flagged)
    for number, text in enumerate(pages, start=1):
        head = text.replace("\n", " ")
        assert f"Case {CASE_ID}" in head, number
        assert f"Page {number} of {len(pages)}" in head, number
        assert f"Key fingerprint {summary['key_fingerprint']}" in head, number
        assert f"forensics {summary['tool_version']}" in head, number
    # No mostly blank page: a page left with a heading or one drawing carries a few hundred characters (header,
    # footer, caption); full pages of this report carry thousands. The last page may be short.
    assert [i + 1 for i, text in enumerate(pages[:-1]) if len(text) < 1000] == []


def test_each_flagged_group_has_an_exhibit_starting_on_a_new_page(pipeline) -> None:
    summary = _summary(pipeline)
    pages = _pages((pipeline["bundle"] / "data/report.pdf").read_bytes())
    flagged = sorted((c for c in summary["clusters"] if c["flagged"]), key=lambda c: (-c["suspicion_score"], c["cluster_id"]))
    for number, cluster in enumerate(flagged, start=1):
        heading = f"Exhibit {number}. Cluster {cluster['cluster_id']}:"
        starts = [i for i, text in enumerate(pages) if heading in text]
        assert len(starts) == 1, heading
        body = pages[starts[0]].split(f"Page {starts[0] + 1} of {len(pages)}", 1)[1].strip()
        assert body.startswith(heading), body[:120]  # nothing of the previous exhibit above it
        exhibit = "\n".join(pages[starts[0]:starts[0] + 3])
        for part in (f"Table {number}.1.", f"Table {number}.2.", f"Figure {number}.1.", f"Figure {number}.2."):
            assert part in exhibit, (heading, part)
        # The make-up of the score is in the exhibit's summary, each part by its plain name and value.
        parts = cluster["score_components"]
        assert all(f"{r.COMPONENT_WORDS[k]} {r.down(v)}" in " ".join(exhibit.split()) for k, v in parts.items()), parts


def test_two_runs_give_identical_pdf_bytes_without_a_creation_date(pipeline, tmp_path: Path) -> None:
    build_bundle(pipeline["case"], tmp_path / "again", title="PDF test report", case_id=CASE_ID, force=False)
    first = (pipeline["bundle"] / "data/report.pdf").read_bytes()
    assert (tmp_path / "again" / "data/report.pdf").read_bytes() == first
    assert first.startswith(b"%PDF-")
    assert b"/CreationDate" not in first and b"/ModDate" not in first
    manifest = (pipeline["bundle"] / "manifest-sha256.txt").read_text()
    assert re.search(r"^[0-9a-f]{64}  data/report\.pdf$", manifest, flags=re.M)


def test_chart_text_is_real_text_in_the_svg_and_the_pdf(pipeline) -> None:
    daily = (pipeline["bundle"] / "data/figures/daily-requests.svg").read_text()
    assert "<text" in daily and "requests per day" in daily
    assert 'id="DejaVuSans-' not in daily  # no glyphs drawn as paths
    text = " ".join(_pages((pipeline["bundle"] / "data/report.pdf").read_bytes()))
    assert "All other accounts (background)" in text  # a chart title, found by searching the PDF


def test_summary_box_states_observations_and_limits_and_the_last_data_day(pipeline) -> None:
    md = (pipeline["bundle"] / "data/report.md").read_text()
    summary = _summary(pipeline)
    box = "\n".join(line for line in md.splitlines() if line.startswith(">"))
    assert "**What was observed.**" in box and "**What this does not establish.**" in box
    assert "do not establish who controls the accounts or why" in box
    last = date.fromisoformat(summary["window"]["last_seen"][:10])
    through = f"{last.day} {last.strftime('%B %Y')}"
    assert f"data through {through}" in md and "bundle dated" not in md
    for claim in ("behaved as one", "coordinated operation", "to train another model,", "harvests a model"):
        assert claim not in box, claim


def test_every_evidence_phrase_in_the_report_is_an_indicator_the_scorer_emitted(pipeline) -> None:
    """The exhibits' evidence rows, and the summary's quoted findings, are the scorer's own phrases, each named by
    the plain name of the indicator that produced it."""
    assert set(r.INDICATOR_NAMES) == set(score.INDICATORS)
    summary = _summary(pipeline)
    md = (pipeline["bundle"] / "data/report.md").read_text()
    name_of = {v: k for k, v in r.INDICATOR_NAMES.items()}
    flagged = sorted((c for c in summary["clusters"] if c["flagged"]), key=lambda c: (-c["suspicion_score"], c["cluster_id"]))
    checked = 0
    for number, cluster in enumerate(flagged, start=1):
        emitted = {(e["indicator"], e["text"]) for e in cluster["evidence"]}
        assert {i for i, _ in emitted} <= set(score.INDICATORS)
        table = md.split(f"*Table {number}.2. ")[1].split("\n\n", 2)[1]
        rows = [line.split(" | ") for line in table.splitlines()[2:]]
        assert len(rows) == len(cluster["evidence"])
        for name, text in rows:
            pair = (name_of[name.lstrip("| ")], text.rstrip(" |").replace("\\|", "|"))
            assert pair in emitted, pair
            checked += 1
    assert checked
    lowest = min(flagged, key=lambda c: (next(e["value"] for e in c["evidence"] if e["indicator"] == "reasoning"), c["cluster_id"]))
    quoted = next(e["text"] for e in lowest["evidence"] if e["indicator"] == "reasoning")
    assert quoted in md.split("**What this does not establish.**")[0]


def test_phrase_words_exactly_the_scorers_indicators() -> None:
    """phrase() has one wording per indicator and none for anything else."""
    shares = {"share": 0.5, "base": 0.1, "window_s": 60}
    kind = {"noun": ("address", "addresses"), "share_of": "requests", "keys": 3, "expected_keys": 9.0, "specific_keys": 1,
            "specific_share": 0.4, "top_members": 5, "top_expected": 0.2, "top_surprise": 12.0}
    members = {"accounts": 9, "flagged": 7, "weak": 1, "excluded": 1, "attached": 0}
    novelty = {"requests": 10, "prompts": 4}
    for indicator in score.INDICATORS:
        figures_ = (members if indicator in ("accounts", "members") else kind if indicator in score.KIND_INDICATOR.values()
                    else novelty if indicator == "novelty" else shares)
        assert score.phrase(indicator, figures_)
    with pytest.raises(KeyError):
        score.phrase("invented", shares)


def test_accuracy_section_quotes_the_benchmark_file_and_says_where_figures_come_from(pipeline) -> None:
    quality = r.detection_quality()
    md = (pipeline["bundle"] / "data/report.md").read_text()
    section = md.split("## 6 How accurate is this method")[1].split("## 7 ")[0]
    assert "generated" in section and "not error rates on real incidents" in section
    for fam in quality["campaign_families"]:
        row = next(line for line in section.splitlines() if line.startswith(f"| {fam['family']} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[4:8] == [f"{fam['precision']:.3f}", f"{fam['recall']:.3f}", f"{fam['held_out']['precision']:.3f}",
                              f"{fam['held_out']['recall']:.3f}"]
        assert cells[8] == f"{fam['hard_negative_flagged']:,}"
    for fam in quality["hard_negative_families"]:
        assert f"| {fam['family']} | {fam['runs']:,} | {fam['accounts']:,} | {fam['flagged']:,} |" in section


def test_independent_incidents_are_shown_only_when_the_file_has_them() -> None:
    quality = {k: v for k, v in r.detection_quality().items() if k != "independent"}
    without = r.blocks_text(r.accuracy_blocks(quality, r.Numbering()))
    assert "independently generated" not in without
    quality["independent"] = [{"name": "independent A", "rows": 1236849, "accounts": 24991, "campaign_accounts": 1200,
                               "flagged": 1100, "precision": 0.99, "recall": 0.9083}]
    blocks = r.accuracy_blocks(quality, r.Numbering())
    table = blocks[-1]
    assert table.rows == (("independent A", "1,236,849", "24,991", "1,200", "1,100", "0.990", "0.908"),)
    assert "still generated, not real" in r.blocks_text(blocks)
    # Shares never round to all or none when they are neither.
    assert [r.pct(*x) for x in ((996, 1000), (1000, 1000), (1, 5000), (0, 10), (5, 100), (37, 1000))] == [
        "99.6%", "100%", "under 0.1%", "0.0%", "5.0%", "3.7%"]
    assert r.pct(9999, 10000) == "99.9%" and r.pct(994, 1000) == "99%"
    # Scores and components are rounded down: never at a threshold they did not reach, never perfect when not.
    assert [r.down(x) for x in (0.4996, 0.5, 0.996, 1.0, 0.35)] == ["0.49", "0.50", "0.99", "1.00", "0.35"]
    # Rates are rounded down: a campaign missed by one account in 9,583 never reads as recall 1.000.
    assert [r._rate(x) for x in (0.9999, 1.0, 0.9983, 0.9, None)] == ["0.999", "1.000", "0.998", "0.900", "-"]
    assert "not unseen" not in r.blocks_text(blocks)


def test_independent_incidents_that_shaped_the_detector_are_named_as_such() -> None:
    """An incident whose failures were reported before the current signals were built is not a held-out measure,
    and the report must not let a reader take it for one."""
    quality = r.detection_quality()
    shaped = sorted({i["name"] for i in quality["independent"] if i.get("shaped_the_detector")})
    assert shaped == ["independent A", "independent B", "independent C"]
    text = r.blocks_text(r.accuracy_blocks(quality, r.Numbering()))
    # Named once each, though each incident is listed at two sizes.
    assert "Independent A, independent B and independent C were not unseen, though: their failures under an earlier version" in text
    first_a = next(i for i in quality["independent"] if i["incident"] == "A")
    first_c = next(i for i in quality["independent"] if i["incident"] == "C")
    quality["independent"] = [dict(first_a, shaped_the_detector=True), dict(first_a, shaped_the_detector=True),
                              dict(first_c, shaped_the_detector=False)]
    text = r.blocks_text(r.accuracy_blocks(quality, r.Numbering()))
    assert "Independent A was not unseen, though: its failures" in text and "ndependent C was not unseen" not in text


def test_settings_table_lists_every_weight_and_threshold_from_the_scorer() -> None:
    rows = {row[0]: row for row in r.score_settings({"flag_threshold": 0.6, "min_flag_accounts": 5})}
    for part, weight in score.WEIGHTS.items():
        assert rows[f"Weight of {r.COMPONENT_WORDS[part]}"][1] == f"{weight:g}"
    assert rows["Flag: suspicion score at least"][1:3] == ("0.6", "0.5")
    assert rows[f"Flag: {r.COMPONENT_WORDS['coordination']} at least"][1] == f"{score.COORDINATION_MIN:g}"
    assert rows[f"Flag: {r.COMPONENT_WORDS['extraction']} at least"][1] == f"{score.EXTRACTION_MIN:g}"
    assert rows["Core member: membership at least"][1] == f"{score.CORE_MEMBERSHIP:g}"


def test_member_counts_keep_weakly_attached_apart_from_core_members() -> None:
    def row(role: str, membership: float, flagged: bool) -> list:
        return ["a" * 32, 1, membership, flagged, role, 1, 0, 0, None, None, 1, None]

    rows = [row("flagged", 0.9, True), row("flagged", 0.7, True), row("flagged", 0.2, True), row("attached", 0.0, True),
            row("weak", 0.1, False), row("organisation", 0.8, False)]
    counts = dict(r.member_counts({"left_out": {"one registered organisation (1 accounts) on one payment method": 1}}, rows))
    assert counts["Core members (membership 0.5 or more), counted"] == "2"
    assert counts["Weakly attached (membership below 0.5) with strong links of their own, counted"] == "1"
    assert counts["Joined after grouping (too quiet for links of their own), counted"] == "1"
    assert counts["Weakly attached without strong links of their own, listed but not counted"] == "1"
    assert counts["All accounts of the group"] == "6"


def test_graph_caption_says_labelled_only_when_labels_are_drawn() -> None:
    small = [f"{i:032x}" for i in range(6)]
    svg, meta = figures.cluster_graph("g", small, [(small[0], small[1], 1.0)], {m: m[:8] for m in small}, "t")
    assert meta["labelled"] and small[1][:8] in svg.decode()
    assert "labelled with the first 8 characters" in r.caption_cluster_graph("Cluster 1", meta, 6)
    large = [f"{i:032x}" for i in range(figures.MAX_LABELLED + 5)]
    svg, meta = figures.cluster_graph("g", large, [(large[0], large[1], 1.0)], {m: m[:8] for m in large}, "t")
    assert not meta["labelled"] and large[1][:8] not in svg.decode()
    caption = r.caption_cluster_graph("Cluster 1", meta, len(large))
    assert "labelled" not in caption and "too many to label" in caption


def test_account_creation_caption_follows_the_bin_width_and_the_zoom() -> None:
    start = date(2024, 1, 1)
    long_days = [start + timedelta(days=i) for i in range(700)]
    flagged = [0] * 690 + [5] * 10
    others = [1] * 700
    svg, meta = figures.account_creation(long_days, flagged, others)
    caption = r.caption_account_creation(meta)
    assert meta["unit"] == "week" and "Top: per week" in caption and "per week" in svg.decode()
    assert meta["zoom"]["peak_flagged"] == 5 and "Bottom: per day" in caption and "at most 5 on one day" in caption
    short = long_days[:30]
    svg, meta = figures.account_creation(short, flagged[:30], others[:30])
    caption = r.caption_account_creation(meta)
    assert meta["unit"] == "day" and meta["zoom"] is None and "Bottom" not in caption and "per week" not in caption


def test_figures_are_byte_identical_across_calls() -> None:
    days = [date(2026, 4, 22) + timedelta(days=i) for i in range(10)]
    first = figures.group_daily("cluster-1", "t", days, list(range(10)), [1] * 10)
    again = figures.group_daily("cluster-1", "t", days, list(range(10)), [1] * 10)
    assert first == again


def test_commands_are_set_small_enough_not_to_wrap() -> None:
    line = "x" * 140
    size = r._code_size(line)
    assert size * r._MONO_ADVANCE * len(line) <= r._TEXT_WIDTH_PT
    assert r._code_size("short") == pytest.approx(7.95)


def test_typst_source_keeps_text_literal() -> None:
    """Text that looks like Typst markup or code is printed as it is, not run."""
    doc = r.Document("T #set *x*", "s", [r.Para('a "quote" \\ #emph[b] $c$ <lbl> @ref')], "h", "f")
    pdf = r.to_pdf(doc)
    text = " ".join(_pages(pdf))
    assert 'a "quote" \\ #emph[b] $c$ <lbl> @ref' in text


def test_no_raw_value_of_the_inputs_in_the_pdf_text(pipeline) -> None:
    """The PDF's streams are compressed, so the bundle-wide byte search cannot see into them: search its text."""
    import polars as pl

    incident = pipeline["incident"]
    logs = pl.read_parquet(sorted((incident / "logs").glob("*.parquet")))
    accounts = pl.read_parquet(incident / "accounts.parquet")
    values: set[str] = set()
    for frame, columns in ((logs, ("account_id", "ip", "prompt", "system_prompt", "user_agent")),
                           (accounts, ("account_id", "email_domain", "payment_fingerprint", "org_id"))):
        for column in columns:
            if column in frame.columns:
                values |= {v for v in frame[column].drop_nulls().unique().to_list() if len(v) >= 6}
    assert len(values) > 500
    text = "\n".join(_pages((pipeline["bundle"] / "data/report.pdf").read_bytes()))
    assert occurring(values, text) == []
    assert str(pipeline["root"]) not in text


def test_prose_before_the_technical_appendix_has_no_jargon_flags_or_backticks(pipeline) -> None:
    """Technical names, options and code formatting belong to the commands and Appendix A, not to the prose."""
    md = (pipeline["bundle"] / "data/report.md").read_text()
    prose = re.sub(r"```sh\n.*?```", "", md.split("## Appendix A.")[0], flags=re.S)
    assert "## 9 Glossary" in prose and "Exhibit 1." in prose
    for pattern in (r"coaction", r"co-action", r"\bsync\b", r"hdbscan", r"entropy", r"`", r"(?<![\w-])--[a-z]",
                    r"\bshared_net_slots\b", r"\bbits\b"):
        found = re.findall(r".{0,40}" + pattern + r".{0,40}", prose, flags=re.I)
        assert found == [], (pattern, found[:3])


def test_case_metadata_is_shown_on_page_one_only_when_given() -> None:
    summary = {"case": {"case_id": "X-1", "source_organization": "Example AI Ltd", "contact_name": None,
                        "contact_email": "analyst@example.org", "external_identifier": None, "analysis_date": "2026-06-10"}}
    assert r._case_metadata(summary) == [("Source organisation", "Example AI Ltd"), ("Contact e-mail", "analyst@example.org"),
                                         ("Analysis date", "2026-06-10")]
    assert r._case_metadata({"case": {"case_id": "X-1"}}) == []


def test_an_unseen_independent_incident_is_spelled_out_in_numbers() -> None:
    """An incident that shaped nothing in the method is the nearest thing to an error rate on unseen tradecraft: the
    report says in words what was found and what was wrongly flagged there, beside the table."""
    quality = r.detection_quality()
    shaped = dict(next(i for i in quality["independent"] if i["incident"] == "A"), shaped_the_detector=True)
    unseen = {"name": "independent D", "incident": "D", "rows": 992498, "accounts": 21338, "campaign_accounts": 1230,
              "flagged": 32, "true_positives": 0, "precision": 0.0, "recall": 0.0, "shaped_the_detector": False}
    quality["independent"] = [shaped, unseen, dict(unseen, rows=4961120, flagged=40, true_positives=10, recall=0.0081)]
    text = r.blocks_text(r.accuracy_blocks(quality, r.Numbering()))
    assert ("Independent D was measured before anything in the method was changed for it, so its figures are the "
            "nearest here to how the method does on tradecraft nobody here had seen: at 992,498 requests it found 0 of "
            "1,230 campaign accounts and flagged 32 accounts outside the campaigns; at 4,961,120 requests it found 10 "
            "of 1,230 campaign accounts and flagged 30 accounts outside the campaigns.") in " ".join(text.split())
    assert "Independent A was not unseen" in text
    quality["independent"] = [shaped]
    assert "measured before anything" not in r.blocks_text(r.accuracy_blocks(quality, r.Numbering()))


def test_the_summary_warns_with_the_unseen_incidents_figures() -> None:
    """What the method missed and wrongly flagged on tradecraft nobody here had seen belongs in the summary a lawyer
    reads first, not only in section 6; where it did neither, nothing is added."""
    unseen = {"name": "independent D", "campaign_accounts": 1230, "flagged": 32, "true_positives": 0}
    bigger = dict(unseen, campaign_accounts=6150, flagged=2319, true_positives=987)
    shaped = {"name": "independent A", "campaign_accounts": 2300, "flagged": 2300, "true_positives": 2300,
              "shaped_the_detector": True}
    text = r.unseen_caution({"independent": [shaped, unseen, bigger]})
    assert text == "; on those its developers had not seen, it found 987 of 7,380 campaign accounts and flagged 1,364 legitimate ones"
    assert r.unseen_caution({"independent": [shaped]}) == ""
    assert r.unseen_caution({"independent": [dict(unseen, flagged=1230, true_positives=1230)]}) == ""
    # The package's own figures include incident D, so every report carries the warning.
    assert "on those its developers had not seen" in r.unseen_caution(r.detection_quality())
