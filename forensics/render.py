"""One document model, two renderings: self-contained print-ready HTML and plain Markdown with the same text.

A document is a list of blocks (plain tuples); each renderer walks the same list, so report.html and
report.md cannot drift apart. Figures are inlined into the HTML as SVG with ids prefixed per figure.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from forensics.params import CLUSTER_FLAGS
from forensics.score import WEIGHTS as SCORE_WEIGHTS
from forensics.score import rules as score_rules


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str
    page_break: bool = False


@dataclass(frozen=True)
class Para:
    text: str
    strong_lead: str = ""  # an optional bold lead-in, e.g. "What happened."


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    numeric: tuple[bool, ...] = ()  # right-align these columns


@dataclass(frozen=True)
class Facts:
    """Key figures shown as large numbers on page one (label, value, note)."""

    items: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class Figure:
    path: str  # relative to data/
    caption: str
    svg: bytes


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Callout:
    blocks: tuple = ()
    tone: str = "summary"


@dataclass
class Document:
    title: str
    subtitle: str
    blocks: list = field(default_factory=list)


# ------------------------------------------------------------------------------------------------ HTML

_CSS = """
@page { size: A4; margin: 16mm 15mm 18mm 15mm; }
html { --ink: #1b1f23; --muted: #59636e; --rule: #d0d7de; --accent: #9b1c1c; --soft: #f6f8fa; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0 auto; max-width: 60rem; padding: 2rem 2.2rem 3rem; color: var(--ink);
  font-family: "DejaVu Serif", Georgia, "Times New Roman", serif; font-size: 11pt; line-height: 1.45; }
h1, h2, h3, .facts, table, figcaption, .subtitle, .toc, code, pre {
  font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 21pt; line-height: 1.2; margin: 0 0 .2rem; }
.subtitle { color: var(--muted); font-size: 9.5pt; margin: 0 0 1.1rem; }
h2 { font-size: 15pt; border-bottom: 2px solid var(--ink); padding-bottom: .2rem; margin: 2.2rem 0 .8rem; }
h3 { font-size: 12pt; margin: 1.6rem 0 .5rem; }
p { margin: .45rem 0; }
.lead { font-weight: bold; }
.summary { border: 2px solid var(--accent); border-radius: 4px; padding: .8rem 1.1rem; margin: .6rem 0 1rem;
  background: #fffdfc; }
.summary p:first-child { margin-top: 0; }
.note { border-left: 4px solid var(--rule); padding: .3rem .9rem; background: var(--soft); margin: .8rem 0; }
.facts { display: grid; grid-template-columns: repeat(4, 1fr); gap: .5rem; margin: .8rem 0; }
.fact { border: 1px solid var(--rule); border-radius: 4px; padding: .45rem .6rem; background: var(--soft); }
.fact .value { font-size: 16pt; font-weight: bold; line-height: 1.15; display: block; }
.fact .label { font-size: 8.5pt; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
.fact .detail { font-size: 8.5pt; color: var(--muted); display: block; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0 1rem; font-size: 8.8pt; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: .3rem; font-size: 9pt; }
th, td { border-bottom: 1px solid var(--rule); padding: .25rem .45rem; text-align: left; vertical-align: top; }
th { background: var(--soft); border-bottom: 1.5px solid var(--ink); }
td:first-child { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 8pt; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
ul { margin: .4rem 0 .6rem 1.2rem; padding: 0; }
li { margin: .2rem 0; }
figure { margin: 1rem 0 1.3rem; break-inside: avoid; page-break-inside: avoid; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 9pt; color: var(--muted); margin-top: .3rem; }
pre { background: var(--soft); border: 1px solid var(--rule); padding: .55rem .7rem; font-size: 8.3pt;
  white-space: pre-wrap; word-break: break-all; break-inside: avoid; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 9pt; }
.break { break-before: page; page-break-before: always; }
.toc { font-size: 9.5pt; color: var(--muted); margin: 1rem 0; }
.toc a { color: inherit; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.6pt; line-height: 1.38; }
  h1 { font-size: 17pt; }
  h2 { font-size: 13pt; margin-top: 1.2rem; }
  .summary { padding: .5rem .8rem; margin: .4rem 0 .6rem; }
  .facts { gap: .35rem; margin: .5rem 0; }
  .fact { padding: .3rem .45rem; }
  .fact .value { font-size: 12.5pt; }
  table { font-size: 8pt; margin: .4rem 0 .6rem; }
  figure svg { width: auto; max-width: 100%; max-height: 120mm; margin: 0 auto; }
  a { color: inherit; text-decoration: none; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
}
"""

_ID_ATTR = re.compile(r'\bid="([^"]+)"')
_ID_REF = re.compile(r'(url\(#|href="#)([^")]+)')


def inline_svg(svg: bytes, prefix: str) -> str:
    """An SVG file's markup for embedding: no XML prolog, ids made unique within the page."""
    text = svg.decode("utf-8")
    start = text.index("<svg")
    text = text[start:]
    text = _ID_ATTR.sub(lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = _ID_REF.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", text)
    return text.strip()


_NUM = ' class="num"'


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _html_block(block, out: list[str]) -> None:
    if isinstance(block, Heading):
        cls = ' class="break"' if block.page_break else ""
        out.append(f'<h{block.level} id="{_esc(block.anchor)}"{cls}>{_esc(block.text)}</h{block.level}>')
    elif isinstance(block, Para):
        lead = f'<span class="lead">{_esc(block.strong_lead)}</span> ' if block.strong_lead else ""
        out.append(f"<p>{lead}{_esc(block.text)}</p>")
    elif isinstance(block, Bullets):
        out.append("<ul>" + "".join(f"<li>{_esc(item)}</li>" for item in block.items) + "</ul>")
    elif isinstance(block, Table):
        numeric = block.numeric or tuple(False for _ in block.headers)
        out.append("<table>")
        if block.caption:
            out.append(f"<caption>{_esc(block.caption)}</caption>")
        out.append(
            "<thead><tr>"
            + "".join(f"<th{_NUM if num else ''}>{_esc(h)}</th>" for h, num in zip(block.headers, numeric))
            + "</tr></thead><tbody>"
        )
        for row in block.rows:
            cells = []
            for value, num in zip(row, numeric):
                cls = ' class="num"' if num else (' class="mono"' if re.fullmatch(r"[0-9a-f]{16,64}", value) else "")
                cells.append(f"<td{cls}>{_esc(value)}</td>")
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</tbody></table>")
    elif isinstance(block, Facts):
        out.append('<div class="facts">')
        for label, value, detail in block.items:
            extra = f'<span class="detail">{_esc(detail)}</span>' if detail else ""
            out.append(
                f'<div class="fact"><span class="label">{_esc(label)}</span>'
                f'<span class="value">{_esc(value)}</span>{extra}</div>'
            )
        out.append("</div>")
    elif isinstance(block, Figure):
        prefix = re.sub(r"[^a-z0-9]+", "-", block.path.lower()).strip("-")
        out.append(
            f'<figure id="fig-{prefix}">{inline_svg(block.svg, prefix)}'
            f"<figcaption>{_esc(block.caption)} (file: {_esc(block.path)})</figcaption></figure>"
        )
    elif isinstance(block, Code):
        out.append(f"<pre><code>{_esc(block.text)}</code></pre>")
    elif isinstance(block, Callout):
        out.append(f'<div class="{_esc(block.tone)}">')
        for inner in block.blocks:
            _html_block(inner, out)
        out.append("</div>")
    else:  # pragma: no cover - a programming error
        raise TypeError(f"unknown block {type(block).__name__}")


def to_html(doc: Document) -> bytes:
    """A single HTML file: inline CSS and SVG, no scripts, a CSP that forbids loading anything."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
        "img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(doc.title)}</title>",
        f"<style>{_CSS.strip()}</style>",
        "</head>",
        "<body>",
        f"<h1>{_esc(doc.title)}</h1>",
        f'<p class="subtitle">{_esc(doc.subtitle)}</p>',
    ]
    for block in doc.blocks:
        _html_block(block, out)
    out += ["</body>", "</html>", ""]
    return "\n".join(out).encode("utf-8")


# -------------------------------------------------------------------------------------------- Markdown


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_block(block, out: list[str], quote: bool = False) -> None:
    lines: list[str] = []
    if isinstance(block, Heading):
        lines = [f"{'#' * block.level} {block.text}"]
    elif isinstance(block, Para):
        lines = [f"**{block.strong_lead}** {block.text}" if block.strong_lead else block.text]
    elif isinstance(block, Bullets):
        lines = [f"- {item}" for item in block.items]
    elif isinstance(block, Table):
        numeric = block.numeric or tuple(False for _ in block.headers)
        if block.caption:
            lines.append(f"*{block.caption}*")
            lines.append("")
        lines.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
        lines.append("|" + "|".join("---:" if num else "---" for num in numeric) + "|")
        lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in block.rows]
    elif isinstance(block, Facts):
        lines.append("| Measure | Value | Detail |")
        lines.append("|---|---:|---|")
        lines += [f"| {_md_cell(l)} | {_md_cell(v)} | {_md_cell(d)} |" for l, v, d in block.items]
    elif isinstance(block, Figure):
        lines = [f"![{block.caption}]({block.path})", "", f"*{block.caption} (file: {block.path})*"]
    elif isinstance(block, Code):
        lines = ["```sh", *block.text.split("\n"), "```"]
    elif isinstance(block, Callout):
        for inner in block.blocks:
            _md_block(inner, out, quote=True)
        return
    else:  # pragma: no cover
        raise TypeError(f"unknown block {type(block).__name__}")
    if quote:
        lines = [f"> {line}" if line else ">" for line in lines]
        out.extend(lines)
        out.append(">")
    else:
        out.extend(lines)
        out.append("")


def to_markdown(doc: Document) -> bytes:
    out = [f"# {doc.title}", "", f"*{doc.subtitle}*", ""]
    for block in doc.blocks:
        _md_block(block, out)
        if isinstance(block, Callout) and out and out[-1] == ">":
            out[-1] = ""
    text = "\n".join(out).rstrip("\n") + "\n"
    return text.encode("utf-8")


def blocks_text(blocks: Sequence) -> str:
    """All visible text of some blocks, for tests and for the raw-value self-check."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Callout):
            out.append(blocks_text(block.blocks))
        elif isinstance(block, (Heading, Para)):
            out.append(getattr(block, "strong_lead", "") + " " + block.text)
        elif isinstance(block, Bullets):
            out.extend(block.items)
        elif isinstance(block, Table):
            out.append(" ".join(block.headers))
            out.extend(" ".join(row) for row in block.rows)
        elif isinstance(block, Facts):
            out.extend(" ".join(item) for item in block.items)
        elif isinstance(block, Figure):
            out.append(block.caption)
        elif isinstance(block, Code):
            out.append(block.text)
    return "\n".join(out)


# ------------------------------------------------------------------------------- the report's wording

EDGE_KIND_TEXT = {
    "coaction": "sent the same prompt within a short time of each other (co-action)",
    "ip": "used the same IP addresses, more of them than accounts of the same network normally share",
    "net": "used the same network blocks (/24 for IPv4, /48 for IPv6), more than is normal for their network",
    "slot": "were active in the same ten-minute clock slots, more often than their activity explains",
    "slot_asn": "were active in the same ten-minute clock slots on the same network operator (ASN), more often "
    "than their activity there explains",
    "template": "sent prompts built from the same template (digits aside, identical or near-identical text)",
    "skeleton": "sent prompts with the same structure (the same function words, different content)",
    "opening": "sent prompts that begin with the same four words, more often than chance explains",
    "closing": "sent prompts that end with the same four words, more often than chance explains",
    "payment": "share a payment method used by more accounts than payment methods normally are",
    "signup": "signed up in the same burst with account names built the same way",
    "behaviour": "behave near-identically (time of day, weekly rhythm, prompt shape, models, tokens, clients)",
}
COMPONENT_TEXT = {
    "coordination": "acting together: the largest share of the members' requests on addresses, networks, clock "
    "slots, prompt templates, cards, signup hours, clients or system prompts specific to the group",
    "extraction": "harvesting answers: requests for step-by-step reasoning in prompt templates specific to the "
    "group, as a share of its requests and per member per day",
    "automation": "machine behaviour: share of members active around the clock",
    "infrastructure": "shared set-up: shared cards, sign-up bursts, fast switches to a new model, requests from "
    "outside the billing country",
}
COMPONENT_WORDS = {
    "coordination": "acting together",
    "extraction": "harvesting answers",
    "automation": "machine behaviour",
    "infrastructure": "shared set-up",
}
PAGE_ONE_GROUPS = 5
# Indicators that read as a finding when their value (a share) is at least 0.5, acting-together ones first.
STRONG_INDICATORS = (
    "shared_templates", "shared_prompt_skeletons", "shared_openings", "shared_closings", "shared_addresses",
    "shared_networks", "shared_clock_slots", "shared_cards", "coaction", "reasoning", "signup_hours",
    "round_the_clock", "new_model", "country_mismatch",
)


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def n(value) -> str:
    return f"{int(value or 0):,}"


def label(cluster_id: int) -> str:
    return f"Cluster {cluster_id}"


def _parse(value: str):
    from datetime import datetime, timezone

    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def day_text(value: str | None) -> str:
    """`2026-04-22T10:00:00Z` -> `22 April 2026` for prose."""
    if not value:
        return "unknown"
    moment = _parse(value)
    return f"{moment.day} {moment.strftime('%B %Y')}"


def when_text(value: str | None) -> str:
    return _parse(value).strftime("%Y-%m-%d %H:%M UTC") if value else "unknown"


def pct(part: float, whole: float) -> str:
    if not whole:
        return "0%"
    share = 100.0 * part / whole
    return f"{share:.1f}%" if share < 10 else f"{share:.0f}%"


def _strong_items(cluster: dict) -> list[dict]:
    items = [e for e in cluster.get("evidence", []) if e["indicator"] in STRONG_INDICATORS and float(e["value"] or 0) >= 0.5]
    return sorted(items, key=lambda e: STRONG_INDICATORS.index(e["indicator"]))


def main_evidence(cluster: dict, limit: int = 3) -> list[str]:
    """The strongest findings of a cluster in words: shares of at least 50%, acting-together indicators first."""
    return [f"{e['indicator'].replace('_', ' ')}: {e['text']}" for e in _strong_items(cluster)[:limit]]


def strong_indicators(cluster: dict) -> list[str]:
    """Indicator names behind `main_evidence`, for tables."""
    return [e["indicator"] for e in _strong_items(cluster)]


def confidence_word(score: float, threshold: float) -> str:
    if score >= max(0.75, threshold + 0.25):
        return "strong"
    if score >= threshold + 0.1:
        return "clear"
    return "moderate"


def _word_range(words: set[str]) -> str:
    ordered = sorted(words, key=["moderate", "clear", "strong"].index)
    return ordered[0] if len(ordered) == 1 else f"{ordered[0]} to {ordered[-1]}"


def _strong_components(cluster: dict) -> list[str]:
    comps = cluster.get("score_components") or {}
    return [k for k in ("coordination", "extraction", "automation", "infrastructure") if comps.get(k, 0) >= 0.5]


def report_document(summary: dict, tables, figs: dict[str, bytes], payload_names: list[str]) -> Document:
    """The lawyer-facing report: summary first, then evidence, method, limits and how to check it all."""
    clusters = summary["clusters"]
    flagged = [c for c in clusters if c["flagged"]]
    params = summary["parameters"]
    cluster_params = params["cluster"]
    threshold = float(cluster_params.get("flag_threshold", 0.5))
    min_accounts = int(cluster_params.get("min_flag_accounts", 5))
    window = summary.get("window") or {}
    total_requests = int(summary.get("requests") or 0)
    total_accounts = int(summary.get("accounts") or 0)
    f_accounts = sum(c["flagged_accounts"] for c in flagged)
    f_requests = sum(c["flagged_requests"] for c in flagged)
    f_out = sum(c["flagged_output_tokens"] for c in flagged)
    f_in = sum(c["flagged_input_tokens"] for c in flagged)
    unavailable_signals = set(summary.get("signals_unavailable") or [])
    has_tokens = not {"input_tokens", "output_tokens"} <= unavailable_signals
    first = min((c["flagged_first_seen"] for c in flagged), default=None)
    last = max((c["flagged_last_seen"] for c in flagged), default=None)
    doc = Document(
        title=summary["title"],
        subtitle=(
            f"Case {summary['case_id']} · evidence bundle dated {summary['bagging_date']} · produced by forensics "
            f"{summary['tool_version']} · pseudonymisation key fingerprint {summary['key_fingerprint']}"
        ),
    )
    b = doc.blocks
    b.append(Heading(2, "1 Summary", "summary"))
    period = f"{day_text(window.get('since') or window.get('first_seen'))} to {day_text(window.get('last_seen'))}"
    if flagged:
        top = max(flagged, key=lambda c: (c["suspicion_score"], -c["cluster_id"]))
        scores = sorted(c["suspicion_score"] for c in flagged)
        groups = "one group" if len(flagged) == 1 else f"{len(flagged)} separate groups"
        what = (
            f"Between {day_text(first)} and {day_text(last)}, {n(f_accounts)} accounts in {groups} "
            f"sent {n(f_requests)} requests to the API ({pct(f_requests, total_requests)} of all {n(total_requests)} "
            f"requests examined)"
            + (f" and received {n(f_out)} tokens of model output" if has_tokens else "")
            + ". Within each group the accounts used the same prompt templates, addresses, clock times or payment "
            "cards far more than the rest of the logs explains, and most of their requests asked for step-by-step "
            "reasoning in those templates: the pattern the tool looks for in a \"distillation\" campaign, which "
            "harvests a model's answers. The logs do not show who controls the accounts or why."
        )
        evidence = main_evidence(top)
        if evidence:
            what += f" In the most suspicious group ({label(top['cluster_id'])}): " + "; ".join(evidence) + "."
        found = {k for c in flagged for k in _strong_components(c)}
        strong = [k for k in ("coordination", "extraction", "automation", "infrastructure") if k in found]
        words = {confidence_word(c["suspicion_score"], threshold) for c in flagged}
        sure = (
            f"Each group of accounts received a suspicion score between 0 and 1 that combines four kinds of "
            f"evidence (acting together, harvesting answers, machine behaviour and shared set-up; weights in "
            f"section 5). A group is flagged only if it scores at least {threshold:g}, shows both acting together "
            f"and harvesting answers, counts at least {min_accounts} flagged accounts and has no innocent "
            f"explanation that the tool recognises. The flagged groups score "
            + (f"{scores[0]:.2f}" if len(scores) == 1 else f"between {scores[0]:.2f} and {scores[-1]:.2f}")
            + f", which we describe as {_word_range(words)} "
            f"evidence of coordination. "
            + (f"The evidence is strongest for {_join([COMPONENT_WORDS[k] for k in strong])}. " if strong else "")
            + "The score is a weighted indicator, not a probability; independent review of the listed evidence "
            "is recommended before acting on any single account (see Limitations)."
        )
    else:
        what = (
            f"The logs from {period} hold {n(total_requests)} requests from {n(total_accounts)} accounts. "
            f"No group of accounts met the criteria for a coordinated distillation campaign."
        )
        sure = (
            f"A group is flagged only if its suspicion score is at least {threshold:g}, it has at least "
            f"{min_accounts} accounts and it has no innocent explanation. None qualified. Absence of a flag is not "
            f"proof of absence: see Limitations."
        )
    who = (
        "Accounts are named in this report only by pseudonyms: 32-character codes computed from the real account "
        "ID with a secret case key. Whoever holds that key can confirm which real account a pseudonym stands for "
        "(VERIFY.md, step 4); nobody else can. No account ID, IP address, e-mail address, payment detail or prompt "
        "text appears in this bundle."
    )
    b.append(Callout((Para(what, "What happened."), Para(sure, "How sure we are."), Para(who, "Who."))))
    b.append(
        Facts(
            (
                ("Flagged groups", n(len(flagged)), f"of {n(len(clusters))} groups found"),
                ("Accounts in them", n(f_accounts), f"of {n(total_accounts)} accounts ({pct(f_accounts, total_accounts)})"),
                ("Their requests", n(f_requests), f"{pct(f_requests, total_requests)} of {n(total_requests)}"),
                ("Output tokens", n(f_out) if has_tokens else "unknown",
                 f"plus {n(f_in)} input tokens" if has_tokens else "no token counts in the logs"),
                ("First seen", day_text(first) if flagged else "none", when_text(first) if flagged else ""),
                ("Last seen", day_text(last) if flagged else "none", when_text(last) if flagged else ""),
                ("Logs examined", period, f"{n(summary.get('rows_read'))} log rows"),
                ("Rows set aside", n(summary.get("rows_quarantined")), "invalid rows, kept in quarantine"),
            )
        )
    )
    if flagged:
        b.append(
            Table(
                ("Group", "Flagged accounts", "Requests", "First seen", "Last seen", "Score", "Strongest evidence"),
                tuple(
                    (
                        label(c["cluster_id"]), n(c["flagged_accounts"]), n(c["flagged_requests"]),
                        when_text(c["flagged_first_seen"]), when_text(c["flagged_last_seen"]), f"{c['suspicion_score']:.2f}",
                        "; ".join(main_evidence(c, 2)) or "see section 2",
                    )
                    for c in sorted(flagged, key=lambda c: (-c["suspicion_score"], c["cluster_id"]))[:PAGE_ONE_GROUPS]
                ),
                caption="Flagged groups, most suspicious first"
                + (f" (the first {PAGE_ONE_GROUPS} of {len(flagged)}; all in section 2)"
                   if len(flagged) > PAGE_ONE_GROUPS else ""),
                numeric=(False, True, True, False, False, True, False),
            )
        )
    b.append(
        Para(
            "This report describes patterns of behaviour in the logs. It does not by itself establish who controls "
            "the accounts or why. Sections: 1 Summary; 2 Evidence per flagged group; 3 Other groups reviewed; "
            "4 Data examined; 5 Method and parameters; 6 Limitations and alternative explanations; "
            "7 How to verify and reproduce; 8 Contents of this bundle."
        )
    )

    # 2: evidence per flagged group
    b.append(Heading(2, "2 Evidence per flagged group", "evidence", page_break=True))
    if not flagged:
        b.append(Para("No group was flagged, so there is no per-group evidence. Section 3 lists the groups reviewed."))
    member_rows = {}
    for row in tables.account_rows:
        member_rows.setdefault(row[1], []).append(row)
    for c in sorted(flagged, key=lambda c: (-c["suspicion_score"], c["cluster_id"])):
        cid = c["cluster_id"]
        rows = member_rows.get(cid, [])
        active = sorted(r[10] for r in rows)
        b.append(Heading(3, f"{label(cid)}: {n(c['flagged_accounts'])} flagged accounts, score {c['suspicion_score']:.2f}",
                         f"cluster-{cid}"))
        left_out = "; ".join(f"{n(v)} because: {k}" for k, v in sorted((c.get("left_out") or {}).items()))
        b.append(
            Para(
                f"The group holds {n(c['accounts'])} accounts, which sent {n(c['requests'])} requests between "
                f"{when_text(c['first_seen'])} and {when_text(c['last_seen'])}"
                + (f", using {n(c['input_tokens'])} input and {n(c['output_tokens'])} output tokens" if has_tokens else "")
                + f". The median member was active on {active[len(active) // 2] if active else 0} days. "
                f"{n(c['flagged_accounts'])} of them are counted as flagged; they sent {n(c['flagged_requests'])} "
                f"requests between {when_text(c['flagged_first_seen'])} and {when_text(c['flagged_last_seen'])}. "
                + (f"{n(c['weakly_attached'])} are only weakly attached (their membership, the clustering's measure of "
                   "how firmly an account belongs to its group, is below 0.5, and they lack strong links of their own) "
                   "and are listed but not counted. " if c.get("weakly_attached") else "")
                + (f"Left out of the count: {left_out}. " if left_out else "")
                + f"Every member is listed in accounts.csv with cluster_id {cid} and its role."
            )
        )
        b.append(
            Table(
                ("Indicator", "Finding"),
                tuple((e["indicator"].replace("_", " "), e["text"]) for e in c.get("evidence", [])),
                caption=f"What the tool measured for {label(cid)}",
            )
        )
        comps = c.get("score_components") or {}
        if comps:
            b.append(
                Table(
                    ("Component", "Meaning", "Value"),
                    tuple(
                        (k, COMPONENT_TEXT.get(k, k), f"{float(comps[k]):.2f}")
                        for k in sorted(comps, key=lambda k: (list(COMPONENT_TEXT).index(k) if k in COMPONENT_TEXT else 99, k))
                    ),
                    caption="How the score was made up (each part between 0 and 1)",
                    numeric=(False, False, True),
                )
            )
        path = f"figures/cluster-{cid}-graph.svg"
        b.append(
            Figure(
                path,
                f"{label(cid)}: each dot is one account (labelled with the first 8 characters of its pseudonym); "
                f"a line joins two accounts with direct evidence of acting together, thicker for stronger evidence.",
                figs[path],
            )
        )
    b.append(Heading(3, "Activity over time", "activity"))
    b.append(
        Figure(
            "figures/daily-requests.svg",
            "Requests per UTC day. Top: every account outside the flagged groups. Bottom: each flagged group.",
            figs["figures/daily-requests.svg"],
        )
    )
    b.append(
        Figure(
            "figures/hour-of-day.svg",
            "Share of each group's requests by hour of the day (UTC). People follow a daily rhythm; "
            "automated campaigns often run around the clock.",
            figs["figures/hour-of-day.svg"],
        )
    )
    b.append(
        Figure(
            "figures/account-creation.svg",
            "Accounts created per day, members of flagged groups on top of all other accounts. A campaign often "
            "opens its accounts in bursts.",
            figs["figures/account-creation.svg"],
        )
    )

    # 3: other groups
    b.append(Heading(2, "3 Other groups reviewed", "others", page_break=True))
    others = [c for c in clusters if not c["flagged"]]
    if others:
        b.append(
            Para(
                "These groups of similar accounts were found but not flagged, either because their score was below "
                "the threshold, they were too small, or they have an innocent explanation."
            )
        )
        b.append(
            Table(
                ("Group", "Accounts", "Requests", "Score", "Why not flagged"),
                tuple(
                    (
                        label(c["cluster_id"]), n(c["accounts"]), n(c["requests"]), f"{c['suspicion_score']:.2f}",
                        c.get("benign_explanation")
                        or (f"fewer than {min_accounts} accounts" if c["accounts"] < min_accounts
                            else f"score below {threshold:g}"),
                    )
                    for c in others
                ),
                numeric=(False, True, True, True, False),
            )
        )
    else:
        b.append(Para("No other groups were found."))
    high = summary.get("high_volume_accounts") or []
    if high:
        b.append(
            Para(
                f"{n(len(high))} individual accounts sent far more requests than typical and are listed for review; "
                f"volume alone is not evidence of a campaign."
            )
        )
        b.append(
            Table(
                ("Account pseudonym", "Requests"),
                tuple((a["account_pseudonym"], n(a["requests"])) for a in high[:25]),
                caption="High-volume accounts (first 25; all in summary.json)",
                numeric=(False, True),
            )
        )

    # 4: data examined
    b.append(Heading(2, "4 Data examined", "data", page_break=True))
    reasons = summary.get("quarantine_reasons") or {}
    b.append(
        Para(
            f"{n(summary.get('rows_read'))} log rows were read from {n(len(summary.get('inputs', [])))} files. "
            f"{n(summary.get('rows_accepted'))} were accepted and {n(summary.get('rows_quarantined'))} were set aside "
            f"(quarantined) with a recorded reason; no row was dropped silently. The accepted rows hold "
            f"{n(total_requests)} requests from {n(total_accounts)} accounts"
            + (
                f", with {n(summary.get('input_tokens'))} input and {n(summary.get('output_tokens'))} output tokens."
                if has_tokens else "; the logs hold no token counts."
            )
        )
    )
    b.append(
        Table(
            ("Window", "Value"),
            (
                ("Requested start (--since)", window.get("since") or "not set"),
                ("Requested end (--until, exclusive)", window.get("until") or "not set"),
                ("First request accepted", window.get("first_seen") or "none"),
                ("Last request accepted", window.get("last_seen") or "none"),
            ),
            caption="Incident window (UTC)",
        )
    )
    if reasons:
        b.append(
            Table(
                ("Reason", "Rows"),
                tuple((k.replace("_", " "), n(v)) for k, v in sorted(reasons.items())),
                caption="Rows set aside, by reason",
                numeric=(False, True),
            )
        )
    inputs = summary.get("inputs", [])
    b.append(
        Table(
            ("File", "Bytes", "Rows", "Accepted", "SHA-256"),
            tuple((i["path"], n(i["size"]), n(i["rows"]), n(i["rows_accepted"]), i["sha256"]) for i in inputs[:40]),
            caption="Input files (paths relative to the logs directory given to ingest)"
            + ("" if len(inputs) <= 40 else f"; first 40 of {n(len(inputs))}, all in summary.json"),
            numeric=(False, True, True, True, False),
        )
    )
    acct = summary.get("accounts_input")
    if acct:
        b.append(
            Para(
                f"Account table: {acct.get('name')} ({n(acct.get('size'))} bytes, SHA-256 {acct.get('sha256')}), "
                f"{n(acct.get('rows'))} rows describing {n(acct.get('accounts'))} accounts."
            )
        )
    unavailable = summary.get("signals_unavailable") or []
    b.append(
        Para(
            "Signals unavailable in these logs (the method ran without them): "
            + (", ".join(s.replace("_", " ") for s in unavailable) if unavailable else "none")
            + "."
        )
    )

    # 5: method and parameters
    b.append(Heading(2, "5 Method and parameters", "method", page_break=True))
    b.append(
        Bullets(
            (
                "Ingest. Every log row is validated. Valid rows are kept with account IDs, IP addresses, user agents, "
                "payment details and prompts replaced by keyed pseudonyms (HMAC-SHA-256 under the case key); invalid "
                "rows are set aside with a reason, so rows read = rows accepted + rows set aside.",
                "Evidence links. For pairs of accounts that share values (addresses, networks, clock slots, prompt "
                "templates, cards), the tool measures how unlikely their overlap is by chance, given how active both "
                "accounts are and how common each value is, and keeps the pairs where it is unlikely even allowing "
                "for the number of accounts compared. Values held by very many accounts are compared along a fixed "
                "ring of partners so the work grows in step with the logs; values held by more than "
                f"{n(cluster_params.get('key_max_accounts', 0))} accounts are ignored as not specific. Sharing "
                "addresses or clock times alone never makes a strong link, because proxies, campus networks and office "
                "hours produce it innocently. Accounts that behave near-identically are also linked, weakly.",
                "Groups. The links are combined into one similarity per pair and the accounts are grouped with "
                "HDBSCAN, a standard density-based clustering method that leaves accounts without strong links "
                "ungrouped. Every choice that shapes the groups follows the accounts' own activity, never the "
                "pseudonyms, so a different case key finds the same groups.",
                "Group evidence. For each group and each kind of value, the tool compares the members with the rest "
                "of the logs: how many distinct values accounts with the same activity would have used, and which "
                "values far more members use than the rest of the logs explains (values specific to the group).",
                "Scores. Each group is scored on coordination, extraction, automation and shared infrastructure "
                "(weights below) and flagged by the rule in the summary. Within a flagged group, accounts that are "
                "only weakly attached, a registered organisation on one payment method, and accounts whose own "
                "requests do not follow the group's templates are left out of the count, with the reason. Groups "
                "with a recognised innocent explanation are reported but never flagged.",
            )
        )
    )
    kinds = (summary.get("graph") or {}).get("edge_kinds") or {}
    if kinds:
        b.append(
            Table(
                ("Evidence link", "Meaning: the two accounts ...", "Account pairs", "Shared values compared",
                 "Of them along a ring", "Values ignored as too common"),
                tuple(
                    (k, EDGE_KIND_TEXT.get(k, k),
                     *(n((v or {}).get(f, 0)) for f in ("pairs", "keys_used", "keys_salted", "keys_dropped")))
                    for k, v in sorted(kinds.items())
                ),
                caption="Kinds of evidence links found",
                numeric=(False, False, True, True, True, True),
            )
        )
    b.append(Table(("Part of the score", "Weight", "Meaning"),
                   tuple((k, f"{w:g}", COMPONENT_TEXT[k]) for k, w in SCORE_WEIGHTS.items()),
                   caption="Score weights (fixed in this version of the tool)", numeric=(False, True, False)))
    b.append(Table(("Rule", "Value"), tuple(score_rules(cluster_params)), caption="Thresholds of the score and the flag rule"))
    param_rows = []
    for stage in ("ingest", "cluster", "report"):
        for key, value in sorted((params.get(stage) or {}).items()):
            param_rows.append((stage, key, _param_text(value)))
    b.append(Table(("Stage", "Parameter", "Value"), tuple(param_rows), caption="Every parameter used"))

    # 6: limitations
    b.append(Heading(2, "6 Limitations and alternative explanations", "limitations", page_break=True))
    b.append(
        Bullets(
            (
                "The score is a weighted combination of indicators chosen by the tool's authors, not a measured "
                "probability. Every weight and threshold is listed in section 5; the options of forensics cluster can "
                "be changed and the analysis re-run (section 7 gives the commands), while the weights are fixed in the "
                "tool's version, recorded in this bundle.",
                "Legitimate explanations can produce similar patterns: a company whose employees use the API through "
                "one office network or one shared script; a research lab or class running the same benchmark; a "
                "reseller or app that forwards many end users through shared infrastructure; automated testing. "
                "The tool recognises some of these (section 3) but not all.",
                "A flagged group shows accounts that acted alike. It does not show who controls them, whether they "
                "are one organisation, or what the outputs were used for.",
                "Evidence is only as good as the logs. Missing or unreliable fields weaken the analysis; signals "
                "unavailable here are listed in section 4. Clock errors, proxies and VPNs can hide or fake shared "
                "infrastructure.",
                "A careful operator can evade detection by spacing requests, varying prompts and using unrelated "
                "networks and payment methods, so an unflagged account is not cleared.",
                "Pseudonyms hide identities from readers of this bundle, but the holder of the case key can "
                "re-identify accounts. Prompts are represented only by keyed fingerprints, so this bundle cannot show "
                "what was asked.",
                "Rows set aside during ingest (section 4) were not analysed; they are kept in the case's quarantine "
                "file, outside this bundle, for review.",
                *_ignored_values_caveat(kinds),
            )
        )
    )

    # 7: reproduce and verify
    b.append(Heading(2, "7 How to verify and reproduce", "reproduce", page_break=True))
    b.append(
        Para(
            "This bundle is a BagIt bag (RFC 8493): manifest-sha256.txt lists a SHA-256 checksum for every file under "
            "data/, and tagmanifest-sha256.txt covers the manifest and the bag's descriptive files. VERIFY.md gives "
            "step-by-step checks with standard tools. Placeholders: <bundle> is this directory, <logs> the original "
            "log files, <accounts-file> the original account table, <key-file> the case key, <case> any new, "
            "empty directory."
        )
    )
    b.append(Code(integrity_commands()))
    b.append(Para("With the original logs and key, re-run the whole analysis and compare every file:"))
    b.append(Code(rerun_commands(summary)))
    b.append(
        Para(
            "Re-running the pipeline with the same inputs, key, parameters and software versions gives a "
            "byte-identical bundle, whatever directory or machine it runs on."
        )
    )
    versions = summary.get("versions") or {}
    b.append(
        Table(
            ("Software", "Version"), tuple((k, v) for k, v in sorted(versions.items())), caption="Software versions"
        )
    )

    # 8: contents
    b.append(Heading(2, "8 Contents of this bundle", "contents"))
    b.append(
        Table(
            ("File", "What it holds"),
            tuple((name, FILE_TEXT.get(name, _figure_text(name))) for name in payload_names),
            caption="Files under data/ (checksums in manifest-sha256.txt)",
        )
    )
    return doc


FILE_TEXT = {
    "summary.json": "Machine-readable summary: window, row accounting, inputs, parameters, versions, every group",
    "accounts.csv": "One row per account in any group: pseudonym, group, membership strength, flag and role, counts, first/last seen",
    "clusters.csv": "One row per group: score, flag, size, flagged and weakly attached accounts, requests, tokens, time span, strongest indicators",
    "timeline.csv": "Requests per UTC day for each flagged group and for the background (days with none omitted)",
    "timeline.jsonl": "The same timeline in Timesketch's JSONL import format",
    "graph.graphml": "The account similarity graph (pseudonyms only) for Gephi, Cytoscape or networkx",
    "report.html": "This report",
    "report.md": "This report as plain Markdown",
    "VERIFY.md": "Step-by-step verification with standard tools",
}


def _ignored_values_caveat(kinds: dict) -> list[str]:
    """A limitation per case, in numbers: values held by so many accounts that they were ignored."""
    ignored = [(k, v["keys_dropped"], v["keys_used"]) for k, v in sorted(kinds.items()) if (v or {}).get("keys_dropped")]
    if not ignored:
        return []
    parts = [f"{k}: {n(dropped)} of {n(dropped + used)}" for k, dropped, used in ignored]
    return [
        "Shared values held by more accounts than the limit in section 5 were ignored as not specific to any group "
        "(" + "; ".join(parts) + " values ignored). Pairs linked only through such values are not linked."
    ]


def _figure_text(name: str) -> str:
    if name.startswith("figures/cluster-"):
        return f"Drawing of {label(int(name.split('-')[1]))}'s accounts and links"
    return {
        "figures/daily-requests.svg": "Figure: requests per day, flagged groups against the background",
        "figures/account-creation.svg": "Figure: account sign-ups per day",
        "figures/hour-of-day.svg": "Figure: hour-of-day activity per flagged group",
    }.get(name, "")


def _param_text(value) -> str:
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_param_text(v)}" for k, v in sorted(value.items())) or "none"
    if isinstance(value, (list, tuple)):
        return ", ".join(_param_text(v) for v in value) or "none"
    return str(value)


# VERIFY.md's integrity steps, for the report's verification section. Order-sensitive commands set LC_ALL=C, and
# bagit goes into its own venv, since Debian's system Python refuses `pip install` (tests/test_verify_md.py runs them).
BAGIT_VENV = "/tmp/bagit-venv"
BAGIT_INSTALL = f"python3 -m venv {BAGIT_VENV} && {BAGIT_VENV}/bin/python -m pip install bagit"
BAGIT_VALIDATE = f"{BAGIT_VENV}/bin/bagit.py --validate <bundle>"
NOTHING_ADDED = "diff <(find data -type f | LC_ALL=C sort) <(cut -c67- manifest-sha256.txt | LC_ALL=C sort)"


def integrity_commands() -> str:
    return "\n".join(
        (
            "# integrity, with tools independent of this project (bash; on macOS use shasum -a 256 for sha256sum)",
            BAGIT_INSTALL,
            BAGIT_VALIDATE,
            "cd <bundle> && sha256sum -c --strict manifest-sha256.txt && sha256sum -c --strict tagmanifest-sha256.txt",
            NOTHING_ADDED,
            "# integrity, with this tool",
            "forensics verify <bundle>",
        )
    )


def rerun_commands(summary: dict) -> str:
    """The exact commands that re-create this bundle, with placeholders instead of machine paths."""
    import shlex

    params = summary["parameters"]
    ingest = params.get("ingest") or {}
    has_accounts = bool(ingest.get("accounts_file"))
    accounts = " --accounts <accounts-file>" if has_accounts else ""
    ingest_cmd = "forensics ingest <logs>" + accounts
    for key, flag in (("since", "--since"), ("until", "--until")):
        if ingest.get(key):
            ingest_cmd += f" {flag} {shlex.quote(str(ingest[key]))}"
    ingest_cmd += f" --epoch-unit {shlex.quote(str(ingest.get('epoch_unit') or 's'))}"
    for canonical, source in sorted((ingest.get("column_map") or {}).items()):
        ingest_cmd += f" --map {shlex.quote(f'{canonical}={source}')}"
    ingest_cmd += " --key-file <key-file> --case <case>"
    # Every recorded value is spelt out, defaults included, so the commands still reproduce the bundle when a later
    # version changes a default.
    cluster = params.get("cluster") or {}
    options = [f"{flag} {cluster[key]}" for key, flag in CLUSTER_FLAGS.items() if key in cluster]
    lines = [" ".join(["forensics cluster <case>", *options[:2]])]
    lines += [" ".join(options[i : i + 3]) for i in range(2, len(options), 3)]
    cluster_cmd = " \\\n    ".join(lines)
    report = params.get("report") or {}
    report_cmd = (
        f"forensics report <case> --out <new-bundle> --case-id {shlex.quote(report.get('case_id', ''))} "
        f"--title {shlex.quote(report.get('title', ''))}"
    )
    if summary.get("bagging_date_source") == "SOURCE_DATE_EPOCH":
        report_cmd = "SOURCE_DATE_EPOCH=<epoch of " + summary["bagging_date"] + "> " + report_cmd
    return "\n".join(
        (
            "# one command: re-run everything in a temporary directory and compare file by file",
            f"forensics verify <bundle> --logs <logs> --key-file <key-file>{accounts}",
            "# or step by step, then compare the two bundles",
            ingest_cmd,
            cluster_cmd,
            report_cmd,
            "diff -r <bundle> <new-bundle>",
        )
    )


def _bundle_date_text(summary: dict) -> str:
    """What the bundle's date is: the end of the data unless SOURCE_DATE_EPOCH set it."""
    day, source = summary["bagging_date"], summary.get("bagging_date_source")
    if source == "SOURCE_DATE_EPOCH":
        return f"bagging date {day} (set by SOURCE_DATE_EPOCH)"
    if source == "no_events":
        return "no accepted requests"
    return f"data through {day}"


def verify_document(summary: dict, tables) -> bytes:
    """VERIFY.md: how a sceptical reader checks this bundle with tools nobody on this project wrote, in any locale,
    on Linux or macOS (tests/test_verify_md.py runs every step under en_US.UTF-8 and C)."""
    fp = summary["key_fingerprint"]
    ingest = summary["parameters"].get("ingest") or {}
    accounts = " --accounts <accounts-file>" if ingest.get("accounts_file") else ""
    example = tables.account_rows[0][0] if tables.account_rows else "<pseudonym>"
    text = f"""# How to verify this evidence bundle

Case `{summary['case_id']}`, {_bundle_date_text(summary)}, produced by forensics {summary['tool_version']}.
Pseudonymisation key fingerprint: `{fp}`.

Placeholders: `<bundle>` is the directory holding this bag (the one with `bagit.txt`), `<logs>` the original log
files, `<accounts-file>` the original account table, `<key-file>` the case key file and `<key>` the 64 hex
characters inside it. No step needs network access except installing the `bagit` package.

The commands are for bash, on Linux or macOS. Commands whose result depends on an order set `LC_ALL=C`, so they
give the same answer in every locale. Where macOS lacks a GNU tool, the macOS form is given beside it.

## 1. BagIt validation (Library of Congress `bagit` package)

`bagit` goes into a virtual environment of its own: Debian's and Ubuntu's system Python refuse a plain
`pip install` ("externally-managed-environment"). Where `pipx` is installed, `pipx install bagit` does the same
and puts `bagit.py` on the `PATH`.

```sh
{BAGIT_INSTALL}
{BAGIT_VALIDATE}
```

Expected: `<bundle> is valid`, exit code 0. This checks that every file listed in `manifest-sha256.txt` and
`tagmanifest-sha256.txt` is present with the recorded SHA-256, that no unlisted file sits under `data/`, and that
the file count and byte total match `Payload-Oxum` in `bag-info.txt`.

## 2. Checksums with standard tools

With GNU coreutils (Linux):

```sh
cd <bundle>
sha256sum -c --strict manifest-sha256.txt
sha256sum -c --strict tagmanifest-sha256.txt
```

On macOS, where `sha256sum` may be missing, `shasum` (part of the system's Perl) does the same:

```sh
cd <bundle>
shasum -a 256 -c --strict manifest-sha256.txt
shasum -a 256 -c --strict tagmanifest-sha256.txt
```

Expected: every line ends in `OK` and both commands exit 0. They check the files listed; to confirm also that no
file was added under `data/` (no output and exit 0 when none was; both lists are sorted in the C locale, so the
answer does not depend on yours):

```sh
cd <bundle>
{NOTHING_ADDED}
```

## 3. This tool's own check

```sh
forensics verify <bundle>
```

It repeats steps 1 and 2 and names every modified, missing or extra file (exit code 0 when intact, 3 when not).

## 4. Re-identify a known account (key holders only)

A pseudonym is the first 32 hex characters of HMAC-SHA-256 under the case key of `account:` followed by the
account ID exactly as it appears in the logs. To check whether a known account ID is in a flagged group:

```sh
printf '%s' 'account:<account-id>' | openssl dgst -sha256 -mac HMAC -macopt hexkey:<key> | awk '{{print $NF}}' | cut -c1-32
grep <pseudonym> <bundle>/data/accounts.csv
```

Check first that you hold the right key: this must print `{fp}`.

```sh
printf '%s' 'fingerprint' | openssl dgst -sha256 -mac HMAC -macopt hexkey:<key> | awk '{{print $NF}}' | cut -c1-16
```

The key appears on the command line here; run these commands on a trusted machine, or with the key read from
the file, e.g. `hexkey:$(cat <key-file>)`. For example, the first account in `accounts.csv` is `{example}`.

## 5. Re-run the whole analysis (key holders with the original logs)

```sh
forensics verify <bundle> --logs <logs> --key-file <key-file>{accounts}
```

This checks the key fingerprint before doing any work, re-runs ingest, cluster and report with the parameters
recorded in `data/summary.json`, and reports for every file whether the re-run produced identical bytes. It
exits 0 only if all files are identical. The step-by-step commands are in the report's section on verifying and
reproducing (`data/report.html`).

## 6. Detached signature (when the bundle holds `tagmanifest-sha256.txt.sig`)

The signer's OpenSSH public key goes into an allowed-signers file, one line `<principal> <key-type> <key>`,
for example `analyst@example.org ssh-ed25519 AAAA...`, obtained from the signer through a separate channel.

```sh
cd <bundle>
ssh-keygen -Y find-principals -s tagmanifest-sha256.txt.sig -f <allowed-signers>
ssh-keygen -Y verify -f <allowed-signers> -I <principal> -n forensics-evidence -s tagmanifest-sha256.txt.sig < tagmanifest-sha256.txt
forensics verify <bundle> --allowed-signers <allowed-signers>
```

Expected: `Good "forensics-evidence" signature for <principal>`. The signature covers the tag manifest, which
covers `manifest-sha256.txt`, which covers every file under `data/`; so together with steps 1 and 2 it ties every
file to the signer's key. The signature file itself cannot be listed in a manifest, so its absence is only
noticed when you ask for it (`--allowed-signers`).

## What these checks do and do not prove

- They prove that the files are exactly those listed in the manifests: any changed, removed, added or renamed
  file is detected.
- They do **not** prove who made the bundle. Someone who alters a file and then rewrites
  `manifest-sha256.txt` and `tagmanifest-sha256.txt` to match produces a bag that passes steps 1 to 3. To rule
  that out, compare the SHA-256 of `tagmanifest-sha256.txt` with a copy sent separately (for example in the
  covering letter; `forensics verify` prints it), check the detached signature (step 6), or re-run the
  analysis (step 5), which rebuilds every file from the original logs.
- A signature proves that the holder of the signing key signed this tag manifest; it says nothing about
  whether the analysis is right.
- Re-running (step 5) proves that the analysis follows from the logs, the key and the recorded parameters; it
  does not prove that the logs themselves are complete or authentic.
"""
    return text.encode("utf-8")
