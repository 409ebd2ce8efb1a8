"""One document model, three renderings: self-contained print-ready HTML, plain Markdown, and a paginated PDF
exhibit typeset by Typst, all with the same text.

A document is a list of blocks; each renderer walks the same list, so report.html, report.md and report.pdf
cannot drift apart. Tables and figures carry their own numbers ("Table 3.2", numbered within their exhibit, or
"Table 4" in the body), so a letter can cite "Exhibit 3, Table 3.2" and find the same thing in every rendering.
Figures are inlined into the HTML as SVG with ids prefixed per figure, and into the PDF as SVG with real text.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from importlib import resources

from forensics.detect import score as scoring
from forensics.params import CLUSTER_FLAGS, ClusterParams, ScoreParams
from forensics.schema import MINHASH_BANDS


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str
    page_break: bool = False


@dataclass(frozen=True)
class Para:
    text: str
    strong_lead: str = ""  # an optional bold lead-in, e.g. "What was observed."


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    numeric: tuple[bool, ...] = ()  # right-align these columns
    number: str = ""  # "3.2" inside Exhibit 3, "4" in the body; shown as "Table 3.2."
    widths: tuple[float, ...] = ()  # relative column widths in the PDF (default: automatic)
    small: bool = False  # set in a smaller type (wide technical tables)


@dataclass(frozen=True)
class Facts:
    """Key figures shown as large numbers on page one (label, value, note)."""

    items: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class Figure:
    path: str  # relative to data/
    caption: str
    svg: bytes
    number: str = ""
    width: float = 1.0  # share of the text width in the PDF


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Callout:
    blocks: tuple = ()
    tone: str = "summary"


@dataclass(frozen=True)
class Keep:
    """Blocks kept on one page together (a heading with its first table, a short table with its note)."""

    blocks: tuple = ()


@dataclass(frozen=True)
class Exhibit:
    """A numbered exhibit: starts on a new page in print and in the PDF, its title a level-3 heading."""

    number: int
    title: str
    anchor: str
    blocks: tuple = ()

    @property
    def heading(self) -> str:
        return f"Exhibit {self.number}. {self.title}"


@dataclass
class Document:
    title: str
    subtitle: str
    blocks: list = field(default_factory=list)
    running_header: str = ""  # left of "Page n of N" on every PDF page
    running_footer: str = ""  # every PDF page's foot


# A text cell this short ("Cluster 12", "2026-04-22") is a name or a value: it never wraps in the HTML.
_SHORT_CELL = 12


def caption_of(kind: str, block) -> str:
    """"Table 3.2. What was measured" - the caption as printed in every rendering."""
    return f"{kind} {block.number}. {block.caption}" if block.number else block.caption


class Numbering:
    """Numbers for tables and figures: "n.1", "n.2" inside Exhibit n, "1", "2" in the body."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.tables = 0
        self.figures = 0

    def table(self) -> str:
        self.tables += 1
        return f"{self.prefix}{self.tables}"

    def figure(self) -> str:
        self.figures += 1
        return f"{self.prefix}{self.figures}"


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
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 8pt; }
td.short { white-space: nowrap; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
ul { margin: .4rem 0 .6rem 1.2rem; padding: 0; }
li { margin: .2rem 0; }
figure { margin: 1rem 0 1.3rem; break-inside: avoid; page-break-inside: avoid; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 9pt; color: var(--muted); margin-top: .3rem; }
pre { background: var(--soft); border: 1px solid var(--rule); padding: .55rem .7rem; font-size: 8.3pt;
  white-space: pre-wrap; word-break: normal; overflow-wrap: normal; overflow-x: auto; break-inside: avoid; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 9pt; }
.break, .exhibit { break-before: page; page-break-before: always; }
.keep { break-inside: avoid; page-break-inside: avoid; }
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
  pre { font-size: 7pt; }
  figure svg { width: auto; max-width: 100%; max-height: 90mm; margin: 0 auto; }
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
            out.append(f"<caption>{_esc(caption_of('Table', block))}</caption>")
        out.append(
            "<thead><tr>"
            + "".join(f"<th{_NUM if num else ''}>{_esc(h)}</th>" for h, num in zip(block.headers, numeric))
            + "</tr></thead><tbody>"
        )
        for row in block.rows:
            cells = []
            for value, num in zip(row, numeric):
                cls = (' class="num"' if num else ' class="mono"' if re.fullmatch(r"[0-9a-f]{16,64}", value)
                       else ' class="short"' if len(value) <= _SHORT_CELL else "")
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
            f"<figcaption>{_esc(caption_of('Figure', block))} (file: {_esc(block.path)})</figcaption></figure>"
        )
    elif isinstance(block, Code):
        out.append(f"<pre><code>{_esc(block.text)}</code></pre>")
    elif isinstance(block, Callout):
        out.append(f'<div class="{_esc(block.tone)}">')
        for inner in block.blocks:
            _html_block(inner, out)
        out.append("</div>")
    elif isinstance(block, Keep):
        out.append('<div class="keep">')
        for inner in block.blocks:
            _html_block(inner, out)
        out.append("</div>")
    elif isinstance(block, Exhibit):
        out.append(f'<section class="exhibit" id="{_esc(block.anchor)}">')
        out.append(f"<h3>{_esc(block.heading)}</h3>")
        for inner in block.blocks:
            _html_block(inner, out)
        out.append("</section>")
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
            lines.append(f"*{caption_of('Table', block)}*")
            lines.append("")
        lines.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
        lines.append("|" + "|".join("---:" if num else "---" for num in numeric) + "|")
        lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in block.rows]
    elif isinstance(block, Facts):
        lines.append("| Measure | Value | Detail |")
        lines.append("|---|---:|---|")
        lines += [f"| {_md_cell(l)} | {_md_cell(v)} | {_md_cell(d)} |" for l, v, d in block.items]
    elif isinstance(block, Figure):
        text = caption_of("Figure", block)
        lines = [f"![{text}]({block.path})", "", f"*{text} (file: {block.path})*"]
    elif isinstance(block, Code):
        lines = ["```sh", *block.text.split("\n"), "```"]
    elif isinstance(block, Callout):
        for inner in block.blocks:
            _md_block(inner, out, quote=True)
        return
    elif isinstance(block, Keep):
        for inner in block.blocks:
            _md_block(inner, out, quote=quote)
        return
    elif isinstance(block, Exhibit):
        _md_block(Heading(3, block.heading, block.anchor), out)
        for inner in block.blocks:
            _md_block(inner, out)
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
        if isinstance(block, (Callout, Keep)):
            out.append(blocks_text(block.blocks))
        elif isinstance(block, Exhibit):
            out.append(block.heading)
            out.append(blocks_text(block.blocks))
        elif isinstance(block, (Heading, Para)):
            out.append(getattr(block, "strong_lead", "") + " " + block.text)
        elif isinstance(block, Bullets):
            out.extend(block.items)
        elif isinstance(block, Table):
            out.append(caption_of("Table", block))
            out.append(" ".join(block.headers))
            out.extend(" ".join(row) for row in block.rows)
        elif isinstance(block, Facts):
            out.extend(" ".join(item) for item in block.items)
        elif isinstance(block, Figure):
            out.append(caption_of("Figure", block))
        elif isinstance(block, Code):
            out.append(block.text)
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------- PDF

# The text width of an A4 page with the margins below, in points, and DejaVu Sans Mono's advance per em: code is
# set small enough that its longest line fits, so that commands never wrap.
_TEXT_WIDTH_PT = 595.28 - 2 * 18 * 72 / 25.4 - 14
_MONO_ADVANCE = 0.602


def typst_str(text: str) -> str:
    """A Typst string literal holding `text` exactly (markup characters in it stay literal)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _t(text: str) -> str:
    """Literal text inside Typst markup."""
    return f"#{typst_str(text)}"


def _code_size(text: str) -> float:
    longest = max((len(line) for line in text.split("\n")), default=1)
    return round(min(8.0, _TEXT_WIDTH_PT / (_MONO_ADVANCE * max(longest, 1))) - 0.05, 2)


def _typst_table(block: Table) -> str:
    numeric = block.numeric or tuple(False for _ in block.headers)
    if block.widths:
        columns = "(" + ", ".join(f"{w:g}fr" for w in block.widths) + ",)"
    else:
        columns = "(" + ", ".join(_auto_width(block, i) for i in range(len(block.headers))) + ",)"
    align = "(" + ", ".join("right" if num else "left" for num in numeric) + ",)"
    cells = []
    for row in block.rows:
        for value, num in zip(row, numeric):
            mono = not num and re.fullmatch(r"[0-9a-f]{16,64}", value)
            cells.append(f"text(font: \"DejaVu Sans Mono\", size: 0.92em, {typst_str(value)})" if mono else typst_str(value))
    header = ", ".join(f"strong({typst_str(h)})" for h in block.headers)
    size = "7pt" if block.small else "7.8pt"
    table = (
        f"#block(width: 100%)[#set text(font: \"DejaVu Sans\", size: {size}); "
        f"#table(columns: {columns}, align: {align}, "
        f"table.header({header}), {', '.join(cells)}{',' if cells else ''})]"
    )
    if not block.caption:
        return table
    caption = f"#block(sticky: true, below: 0.45em)[#set text(font: \"DejaVu Sans\", size: 8.5pt); *{_t(caption_of('Table', block))}*]"
    return caption + "\n" + table


def _auto_width(block: Table, index: int) -> str:
    """Columns of short values take what they need; columns of prose share the rest."""
    longest = max([len(block.headers[index]), *(len(row[index]) for row in block.rows)])
    return "auto" if longest <= 24 else f"{min(longest, 90)}fr"


def _typst_block(block, out: list[str]) -> None:
    if isinstance(block, Heading):
        if block.page_break:
            out.append("#pagebreak(weak: true)")
        out.append(f"#heading(level: {block.level - 1}, {typst_str(block.text)})")
    elif isinstance(block, Para):
        lead = f"*{_t(block.strong_lead)}* " if block.strong_lead else ""
        out.append(f"{lead}{_t(block.text)}")
    elif isinstance(block, Bullets):
        out.append("#list(" + ", ".join(typst_str(item) for item in block.items) + ",)")
    elif isinstance(block, Table):
        out.append(_typst_table(block))
    elif isinstance(block, Facts):
        cells = []
        for label, value, detail in block.items:
            cells.append(
                f"block(width: 100%, fill: luma(246), stroke: 0.5pt + luma(210), inset: 5pt, radius: 2pt)["
                f"#text(size: 6.5pt, fill: luma(90), upper({typst_str(label)})) \\ "
                f"#text(size: 11pt, weight: \"bold\", {typst_str(value)})"
                + (f" \\ #text(size: 6.5pt, fill: luma(90), {typst_str(detail)})" if detail else "")
                + "]"
            )
        out.append("#block(above: 0.8em, below: 0.8em)[#set text(font: \"DejaVu Sans\"); "
                   "#grid(columns: (1fr, 1fr, 1fr, 1fr), gutter: 4pt, " + ", ".join(cells) + ")]")
    elif isinstance(block, Figure):
        svg = block.svg.decode("utf-8")
        svg = svg[svg.index("<svg"):]
        out.append(
            f"#block(breakable: false, above: 0.9em, below: 1em, width: 100%)["
            f"#align(center, image(bytes({typst_str(svg)}), format: \"svg\", width: {round(100 * block.width)}%))\n\n"
            f"#block(above: 0.4em, width: 100%)[#set text(font: \"DejaVu Sans\", size: 7.8pt, fill: luma(70)); "
            f"*{_t('Figure ' + block.number + '.') if block.number else ''}* {_t(block.caption)} {_t('(file: ' + block.path + ')')}]]"
        )
    elif isinstance(block, Code):
        out.append(
            f"#block(width: 100%, fill: luma(246), stroke: 0.5pt + luma(210), inset: 7pt, breakable: false)["
            f"#set text(font: \"DejaVu Sans Mono\", size: {_code_size(block.text)}pt); "
            f"#raw(block: true, {typst_str(block.text)})]"
        )
    elif isinstance(block, Callout):
        inner: list[str] = []
        for item in block.blocks:
            _typst_block(item, inner)
        out.append(
            "#block(width: 100%, stroke: 1.4pt + rgb(\"#9b1c1c\"), radius: 3pt, inset: 9pt, fill: rgb(\"#fffdfc\"))["
            + "\n\n".join(inner) + "]"
        )
    elif isinstance(block, Keep):
        inner = []
        for item in block.blocks:
            _typst_block(item, inner)
        out.append("#block(breakable: false, width: 100%)[" + "\n\n".join(inner) + "]")
    elif isinstance(block, Exhibit):
        out.append("#pagebreak(weak: true)")
        out.append(f"#heading(level: 2, {typst_str(block.heading)}) <{block.anchor}>")
        for item in block.blocks:
            _typst_block(item, out)
    else:  # pragma: no cover
        raise TypeError(f"unknown block {type(block).__name__}")


_PREAMBLE = """
#set document(title: {title}, date: none)
#set page(paper: "a4", margin: (top: 24mm, bottom: 22mm, x: 18mm),
  header: context [
    #set text(font: "DejaVu Sans", size: 7.5pt, fill: luma(80))
    #grid(columns: (1fr, auto), {header}, [Page #counter(page).display() of #counter(page).final().first()])
    #v(-0.6em)
    #line(length: 100%, stroke: 0.4pt + luma(160))
  ],
  footer: context [
    #set text(font: "DejaVu Sans", size: 7pt, fill: luma(80))
    #line(length: 100%, stroke: 0.4pt + luma(160))
    #v(-0.5em)
    {footer}
  ])
#set text(font: "DejaVu Serif", size: 9.2pt, lang: "en", hyphenate: false)
#set par(leading: 0.55em, spacing: 0.8em)
#set list(indent: 0.6em, spacing: 0.55em)
#set table(stroke: (x, y) => (bottom: if y == 0 {{ 0.8pt + luma(40) }} else {{ 0.4pt + luma(200) }}),
  inset: (x: 4pt, y: 3pt), fill: (x, y) => if y == 0 {{ luma(244) }})
#show heading: set text(font: "DejaVu Sans")
#show heading.where(level: 1): it => block(above: 1.6em, below: 0.8em, sticky: true, width: 100%)[
  #set text(size: 13pt, weight: "bold")
  #it.body
  #v(-0.5em)
  #line(length: 100%, stroke: 1pt)]
#show heading.where(level: 2): it => block(above: 1.3em, below: 0.6em, sticky: true)[#set text(size: 11pt, weight: "bold"); #it.body]
#show heading.where(level: 3): it => block(above: 1em, below: 0.5em, sticky: true)[#set text(size: 9.5pt, weight: "bold"); #it.body]
"""


def to_typst(doc: Document) -> str:
    """The document as Typst markup: every text is a string literal, so nothing in it is read as markup."""
    out = [
        _PREAMBLE.format(
            title=typst_str(doc.title), header=f"[{_t(doc.running_header)}]", footer=_t(doc.running_footer)
        ).strip(),
        f"#text(font: \"DejaVu Sans\", size: 17pt, weight: \"bold\", {typst_str(doc.title)})",
        f"#block(above: 0.5em, below: 1em)[#set text(font: \"DejaVu Sans\", size: 8.5pt, fill: luma(80)); {_t(doc.subtitle)}]",
    ]
    for block in doc.blocks:
        _typst_block(block, out)
    return "\n\n".join(out) + "\n"


def _font_dir() -> str:
    """matplotlib's own DejaVu fonts: pinned with the package, the same files on every machine, and the fonts the
    SVG figures name. No system font is used, so the PDF does not depend on what the machine has installed."""
    import matplotlib

    return str(resources.files(matplotlib) / "mpl-data" / "fonts" / "ttf")


def to_pdf(doc: Document) -> bytes:
    """A paginated PDF, byte-identical for the same document: no creation date, fixed fonts."""
    import typst

    fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False, font_paths=[_font_dir()])
    compiler = typst.Compiler(font_paths=fonts, ignore_system_fonts=True)
    return compiler.compile(to_typst(doc).encode("utf-8"), format="pdf", timestamp=0)


# ------------------------------------------------------------------------------- the report's wording

EDGE_KIND_TEXT = {
    "coaction": "sent the same prompt within a short time of each other",
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
# Each kind of evidence link by a plain name, for prose (the technical names are in Appendix A).
EDGE_KIND_NAMES = {
    "coaction": "same prompt at the same time", "ip": "shared IP addresses", "net": "shared networks",
    "slot": "shared clock slots", "slot_asn": "shared clock slots on one network operator",
    "template": "shared prompt templates", "skeleton": "shared prompt structures", "opening": "shared prompt openings",
    "closing": "shared prompt endings", "payment": "shared payment methods", "signup": "signup bursts",
    "behaviour": "near-identical behaviour",
}
# The score's parts by names that say what is measured, not what it would mean: a legitimate organisation can
# share values and ask for reasoning too.
COMPONENT_WORDS = {
    "coordination": "group-specific sharing",
    "extraction": "templated reasoning requests",
    "automation": "round-the-clock activity",
    "infrastructure": "account and location signals",
}
COMPONENT_TEXT = {
    "coordination": f"{COMPONENT_WORDS['coordination']}: the largest share of the members' requests on addresses, "
    "networks, clock slots, prompt templates, cards, signup hours, clients or system prompts specific to the group",
    "extraction": f"{COMPONENT_WORDS['extraction']}: requests matching the method's list of reasoning phrases in "
    "prompt templates specific to the group, as a share of its requests and per member per day, scaled down when "
    "its reasoning requests repeat a few prompts (an app's users asking the same questions) instead of asking new ones",
    "automation": f"{COMPONENT_WORDS['automation']}: share of members active around the clock",
    "infrastructure": f"{COMPONENT_WORDS['infrastructure']}: the largest of shared cards, sign-up bursts, fast "
    "switches to a new model and requests from outside the billing country",
}


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


_PARTS = _join(list(COMPONENT_WORDS.values()))  # the score's four parts, in the scorer's order
_BOTH = _join([COMPONENT_WORDS["coordination"], COMPONENT_WORDS["extraction"]])  # the two a flag needs
# The plain name of every indicator the scorer emits (score.INDICATORS); tests check the two lists agree.
INDICATOR_NAMES = {
    "accounts": "Accounts in the group",
    "members": "Accounts counted",
    "shared_addresses": "Shared IP addresses",
    "shared_networks": "Shared networks",
    "shared_clock_slots": "Shared ten-minute clock slots",
    "shared_templates": "Shared prompt templates",
    "shared_prompt_skeletons": "Shared prompt structures",
    "shared_openings": "Shared prompt openings",
    "shared_closings": "Shared prompt endings",
    "shared_cards": "Shared payment cards",
    "signup_hours": "Shared signup hours",
    "shared_user_agents": "Shared client software",
    "shared_system_prompts": "Shared system prompts",
    "coaction": "Same prompt at the same time",
    "reasoning": "Requests for step-by-step reasoning",
    "novelty": "Distinct prompts among them",
    "round_the_clock": "Active around the clock",
    "new_model": "Quick move to a new model",
    "country_mismatch": "Outside the billing country",
}
# Flagged groups listed on page 1, which must keep the summary, the facts and the rule on one page.
PAGE_ONE_GROUPS = 4
# Indicators that read as a finding when their value (a share) is at least 0.5; equal shares in this order.
STRONG_INDICATORS = (
    "shared_templates", "shared_prompt_skeletons", "shared_openings", "shared_closings", "shared_addresses",
    "shared_networks", "shared_clock_slots", "shared_cards", "shared_user_agents", "shared_system_prompts", "coaction",
    "reasoning", "signup_hours", "round_the_clock", "new_model", "country_mismatch",
)

GLOSSARY = (
    ("Account pseudonym", "A 32-character code standing for one account ID, computed with a secret case key. "
     "Only the key holder can compute it from an account ID; the sign-up time and activity listed beside it could "
     "still let someone holding the original records match it."),
    ("Group", "A set of accounts the method found linked by shared values or behaviour; groups are numbered "
     "(Cluster 1, Cluster 2, ...)."),
    ("Flagged group", "A group that met every condition of the flag rule (section 5)."),
    ("Flagged account", "An account of a flagged group that is counted with it. Accounts of a flagged group can "
     "also be weakly attached and not counted, or left out for a stated reason."),
    ("Membership", "How firmly an account belongs to its group, between 0 and 1, as measured by the grouping "
     "method: 1 in the group's dense core, lower at its edge."),
    ("Core member", "A member with membership of 0.5 or more."),
    ("Weakly attached member", "A member with membership below 0.5. It is counted as flagged only if it has strong "
     "links of its own to core members (section 5); otherwise it is listed but not counted."),
    ("Joined after grouping", "An account too quiet to have links of its own that joined a flagged group because "
     "most of its requests use the group's own prompt templates and it shares another value specific to the group."),
    ("Value specific to a group", "A value (address, network, clock slot, prompt template, card, ...) used by far "
     "more members of a group than accounts with the same activity elsewhere in the logs would use by chance."),
    ("Chance", "How likely it is that as many members would use a value if each had chosen values independently, "
     "like the other accounts of the case with the same activity, given how common the value is (a Poisson "
     "model). It is the figure of the most telling of the values examined, in a group found from these same "
     "overlaps, so it shows that the sharing is not coincidence. It is not the probability that the accounts "
     "are unrelated or innocent: a legitimate organisation's accounts also share values far beyond chance."),
    ("Prompt template", "A prompt with its digits masked, so that prompts differing only in numbers count as one."),
    ("Near-duplicate signature", "A short hash of a prompt template's wording (MinHash over its three-word "
     "phrases, two per template); prompts whose wording overlaps share one more often than chance. Templates "
     "and signatures are counted together as one kind of evidence."),
    ("Prompt structure", "A prompt template with every content word masked: prompts built the same way with "
     "different topics."),
    ("Clock slot", "A ten-minute interval on a given date (UTC). Slots are counted on two grids five minutes "
     "apart, so that activity on either side of a slot's edge still matches; each request is in one slot of each."),
    ("Network", "A block of 256 neighbouring IPv4 addresses (a /24), or a /48 for IPv6."),
    ("Step-by-step reasoning request", "A request whose prompt or system prompt contains a phrase from the "
     "method's list of requests for reasoning (such as \"step by step\" or \"explain your reasoning\"); a match "
     "on a phrase, not a judgement of what the prompt asks."),
    ("Around the clock", "An account whose requests are spread over the hours of the day at least as evenly as if "
     f"they were spread equally over {2 ** scoring.ROUND_THE_CLOCK_BITS:.0f} of the 24 hours (section 5); such an "
     "account can still show a daily rhythm."),
    ("Suspicion score", f"A number between 0 and 1 that weighs four parts: {_PARTS}. It is a weighted indicator, "
     "not a probability."),
    ("Precision", "Of the accounts flagged, the share that really were campaign accounts (measured on generated "
     "incidents, section 6)."),
    ("Recall", "Of the campaign accounts, the share that were flagged (measured on generated incidents)."),
    ("Look-alike benign activity", "Generated legitimate activity built to resemble a campaign (a class, an "
     "office behind one network, an app with a shared prompt): what a method must not flag."),
    ("Held-out figures", "Figures for one kind of campaign measured with settings chosen without looking at that "
     "kind."),
    ("Key fingerprint", "A short code derived from the case key that identifies the key without revealing it."),
)

# Plain names used in the body and the technical names behind them, for the methods appendix.
TECHNICAL_NAMES = (
    *((words.capitalize(), f"{name} (score component)") for name, words in COMPONENT_WORDS.items()),
    ("Same prompt at the same time", "co-action (coaction edges; QUT co_retweet definition)"),
    ("Active in the same clock slots", "slot and slot_asn edges: ten-minute slots (two grids half a slot apart), and "
     "the same slot on the same ASN, rated by Poisson surprise against the slots' occupancy (SynchroTrap-style)"),
    ("Around the clock", f"hour-of-day entropy of at least {scoring.ROUND_THE_CLOCK_BITS:g} bits (of log2 24 = 4.58)"),
    ("Membership", "HDBSCAN membership probability"),
    ("Group", "cluster (HDBSCAN on the account similarity graph)"),
    ("Evidence link", "graph edge; its kind is one of the edge kinds below"),
    ("Value specific to a group", "key held by more members than the background predicts, with surprise -log10 p "
     "of at least 3 + log10 of the keys tested (a Chernoff bound; forensics.detect.groups)"),
    ("Prompt template, structure, opening, ending", "template, skeleton, opening and closing fingerprints (keyed hashes)"),
    ("Near-duplicate signature", "MinHash-LSH band key of the template (2 bands of 2 rows over word 3-shingles, "
     "XXH64; docs/case-format.md)"),
    ("Joined after grouping", "role 'attached' in accounts.csv"),
    ("Weakly attached, not counted", "role 'weak' in accounts.csv"),
    ("Left out", "roles 'organisation' and 'not_templated' in accounts.csv"),
)


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
    """A share as a percentage that never rounds to all or to none when it is neither: 99.6% is not "100%"."""
    if not whole:
        return "0%"
    share = 100.0 * part / whole
    if 0 < share < 0.05:
        return "under 0.1%"
    if 99.5 <= share < 100:
        return f"{int(share * 10) / 10:.1f}%"
    return f"{share:.1f}%" if share < 10 else f"{share:.0f}%"


def _strong_items(cluster: dict) -> list[dict]:
    items = [e for e in cluster.get("evidence", []) if e["indicator"] in STRONG_INDICATORS and float(e["value"] or 0) >= 0.5]
    return sorted(items, key=lambda e: (-float(e["value"]), STRONG_INDICATORS.index(e["indicator"])))


def evidence_line(item: dict) -> str:
    """One evidence item as the report prints it: the indicator's plain name, then the scorer's own words."""
    return f"{INDICATOR_NAMES.get(item['indicator'], item['indicator'])}: {item['text']}"


def main_evidence(cluster: dict, limit: int = 3) -> list[str]:
    """The strongest findings of a cluster in words: shares of at least 50%, acting-together indicators first."""
    return [evidence_line(e) for e in _strong_items(cluster)[:limit]]


def strong_indicators(cluster: dict) -> list[str]:
    """Indicator names behind `main_evidence`, for tables."""
    return [e["indicator"] for e in _strong_items(cluster)]


def _lower(name: str) -> str:
    """A plain indicator name inside a sentence ("Shared IP addresses" -> "shared IP addresses")."""
    return name[:1].lower() + name[1:]


def _evidence(cluster: dict, indicator: str) -> dict | None:
    return next((e for e in cluster.get("evidence", []) if e["indicator"] == indicator), None)


# ---------------------------------------------------------------------------------------------- captions


def caption_daily_requests(meta: dict) -> str:
    groups = meta.get("groups") or []
    bottom = f"each flagged group's counted accounts ({len(groups)} groups)" if groups else "no flagged group"
    return (f"Requests per UTC {meta.get('unit', 'day')}, {meta.get('first_day') or '-'} to {meta.get('last_day') or '-'}. "
            f"Top: every account outside the flagged groups. Bottom: {bottom}; each panel has its own scale.")


def caption_hour_of_day(meta: dict) -> str:
    groups = meta.get("groups") or []
    who = "each flagged group (dots)" + (" and " if meta.get("background") else "") if groups else ""
    who += "all other accounts (grey line)" if meta.get("background") else ""
    return (f"Share of the requests of {who or 'no account'} by hour of the day (UTC), each as a percentage of its "
            "own requests. People follow a daily rhythm; automated activity is often spread over the day.")


def caption_account_creation(meta: dict) -> str:
    if meta.get("empty"):
        return "Account sign-ups: not shown. " + (meta.get("reason") or "No sign-up times were available.")
    text = (f"Accounts created, {meta['first_day']} to {meta['last_day']}. Top: per {meta['unit']}, the flagged "
            f"accounts ({n(meta['flagged'])}, red) stacked on all other accounts ({n(meta['others'])}, grey).")
    zoom = meta.get("zoom")
    if zoom:
        text += (f" Bottom: per day from {zoom['first_day']} to {zoom['last_day']}, on its own scale, the two drawn "
                 f"as separate lines: {n(zoom['flagged'])} flagged accounts (at most {n(zoom['peak_flagged'])} "
                 f"on one day) and {n(zoom['others'])} other accounts were created in those days.")
    return text


def caption_group_daily(name: str, meta: dict, counted: int) -> str:
    if not meta.get("active_days"):
        return f"{name}: no requests from its {n(counted)} counted accounts in the window."
    return (f"{name}: requests per UTC day (bars, left scale) and accounts active that day (line, right scale) of its "
            f"{n(counted)} counted accounts, {meta['first_day']} to {meta['last_day']}; active on "
            f"{n(meta['active_days'])} days, {meta['first_active']} to {meta['last_active']}, at most "
            f"{n(meta['peak'])} requests on one day.")


def _per_kind_runs(quality: dict) -> str:
    """", 6 with each kind of campaign" when every kind had the same number of runs."""
    runs = {fam.get("runs") for fam in quality.get("campaign_families") or []}
    return f", {n(runs.pop())} with each kind of campaign" if len(runs) == 1 else ""


def _alone_sentence(params: dict) -> str:
    """What shared addresses or shared clock slots can do on their own at the settings used: each family's evidence
    is capped, and a link is strong at similarity E / (E + evidence scale) >= min_similarity."""
    scale = float(params.get("evidence_scale", ClusterParams.evidence_scale))
    need = float(params.get("min_similarity", ClusterParams.min_similarity))
    caps = {"addresses and networks": float(params.get("network_evidence_max", ClusterParams.network_evidence_max)),
            "clock slots": float(params.get("time_evidence_max", ClusterParams.time_evidence_max))}
    alone = {name: cap / (cap + scale) for name, cap in caps.items()}
    both = sum(caps.values()) / (sum(caps.values()) + scale)
    weak = [name for name, s in alone.items() if s < need]
    if len(weak) < len(alone):
        strong = _join([name for name in alone if name not in weak])
        return (f"At the settings used, shared {strong} alone can make a strong link (similarity "
                f"{max(alone.values()):.2f} against the {need:g} a strong link needs).")
    together = ("together they can" if both >= need else "nor can the two together")
    return (f"At the settings used, shared addresses and networks alone, or shared clock slots alone, never make a strong "
            f"link (similarity at most {alone['addresses and networks']:.2f} and {alone['clock slots']:.2f} against "
            f"the {need:g} a strong link needs), because proxies, campus networks and office hours produce them "
            f"innocently; {together} ({both:.2f}).")


def caption_cluster_graph(name: str, meta: dict, members: int) -> str:
    shown = (f"all {n(members)} accounts" if meta.get("accounts") == members
             else f"{n(meta.get('accounts'))} of its {n(members)} accounts, those most linked to its most connected one")
    dots = ("each dot is one account, labelled with the first 8 characters of its pseudonym" if meta.get("labelled")
            else "each dot is one account (too many to label; pseudonyms are in accounts.csv)")
    return (f"{name}: {shown}; {dots}. A line joins two accounts whose shared values, timing or "
            f"behaviour the method rated unlikely to be coincidence ({n(meta.get('links'))} lines), thicker for "
            "stronger evidence.")


# ------------------------------------------------------------------------------------- method, accuracy


def detection_quality() -> dict:
    """The detection benchmark's figures (forensics/data/detection_quality.json, written by `make bench`)."""
    return json.loads((resources.files("forensics") / "data" / "detection_quality.json").read_text(encoding="utf-8"))


def _rate(value) -> str:
    """A rate to three decimals, rounded down: 9,582 of 9,583 reads 0.999, never 1.000."""
    return "-" if value is None else down(value, 3)


def down(value: float, places: int = 2) -> str:
    """`value` to `places` decimals, rounded down: a score of 0.4996 reads 0.49 beside a threshold of 0.5, never
    0.50, and a component of 0.996 reads 0.99, never 1.00."""
    return str(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN))


def accuracy_blocks(quality: dict, numbers: Numbering) -> list:
    """Section 6: the measured precision and recall, per kind of campaign and of look-alike benign activity."""
    b: list = []
    totals = quality.get("totals") or {}
    seeds = ", ".join(str(s) for s in quality.get("seeds") or [])
    stealth = ", ".join(f"{s:g}" for s in quality.get("stealth") or [])
    b.append(Para(
        "These figures come from incidents generated by this project's own generator (forensics synth), which was "
        "written alongside the detector by the same authors. They show how the method performs on the kinds of "
        "campaign and of look-alike benign activity its authors thought of. They are not error rates on real "
        "incidents, where the true campaign accounts are not known, and a real campaign unlike these may be missed "
        "or a legitimate group unlike these may be flagged.",
        "Where the figures come from.",
    ))
    b.append(Para(
        f"The generator made {n(totals.get('runs'))} incidents in all{_per_kind_runs(quality)} (generator scale "
        f"'{quality.get('scale', '-')}', seeds {seeds or '-'}, evasion levels {stealth or '-'}) and analysed with the "
        f"default settings. Over all runs: precision {_rate(totals.get('precision'))}, recall "
        f"{_rate(totals.get('recall'))}, {n(totals.get('hard_negative_flagged'))} of "
        f"{n(totals.get('hard_negative_accounts'))} look-alike benign accounts flagged. The held-out columns give "
        "each kind's figures with the two main settings (evidence scale and flag threshold) chosen from the other "
        "kinds only, a check that the defaults were not fitted to that kind."
    ))
    rows = []
    for fam in quality.get("campaign_families") or []:
        held = fam.get("held_out") or {}
        rows.append((fam["family"], n(fam.get("runs")), n(fam.get("campaign_accounts")), n(fam.get("flagged")),
                     _rate(fam.get("precision")), _rate(fam.get("recall")), _rate(held.get("precision")),
                     _rate(held.get("recall")), n(fam.get("hard_negative_flagged"))))
    b.append(Table(("Kind of campaign", "Runs", "Campaign accounts", "Accounts flagged", "Precision", "Recall",
                    "Held-out precision", "Held-out recall", "Benign accounts flagged"), tuple(rows),
                   caption="Detection on generated campaigns, per kind of campaign", number=numbers.table(),
                   numeric=(False, *([True] * 8))))
    rows = [(fam["family"], n(fam.get("runs")), n(fam.get("accounts")), n(fam.get("flagged")))
            for fam in quality.get("hard_negative_families") or []]
    b.append(Table(("Kind of look-alike benign activity", "Runs", "Accounts", "Accounts flagged"), tuple(rows),
                   caption="Look-alike benign activity flagged, per kind", number=numbers.table(),
                   numeric=(False, True, True, True)))
    independent = quality.get("independent") or []
    if independent:
        shaped = list(dict.fromkeys(str(i.get("name", "-")) for i in independent if i.get("shaped_the_detector")))
        caveat = ""
        if shaped:
            named = _join(shaped)
            caveat = (
                f" {named[:1].upper()}{named[1:]} {'was' if len(shaped) == 1 else 'were'} not unseen, though: "
                f"{'its' if len(shaped) == 1 else 'their'} failures under an earlier version of the method were "
                "known to its developers before the current signals were built, and shaped them, so "
                f"{'its figures are' if len(shaped) == 1 else 'their figures are'} likely better than the method "
                "would do on an incident nobody here has seen."
            )
        b.append(Para(
            "The incidents below were made by generators written by people who did not write the detector. "
            "They are the nearest this project has to error rates on incidents it was not tuned on, but they are "
            "still generated, not real. An incident run at more than one size is listed at each: the generators add "
            "ordinary accounts as they add requests, so a larger incident hides its campaigns among more of them."
            + caveat + _unseen_text(independent),
            "Independently generated incidents.",
        ))
        rows = [(str(i.get("name", "-")), n(i.get("rows")), n(i.get("accounts")), n(i.get("campaign_accounts")),
                 n(i.get("flagged")), _rate(i.get("precision")), _rate(i.get("recall"))) for i in independent]
        b.append(Table(("Incident", "Requests", "Accounts", "Campaign accounts", "Accounts flagged", "Precision",
                        "Recall"), tuple(rows),
                       caption="Detection on independently generated incidents", number=numbers.table(),
                       numeric=(False, *([True] * 6))))
    return b


def _unseen(independent: list[dict]) -> list[dict]:
    """The independent incidents that shaped nothing in the method: measured before anything was changed for them."""
    return [i for i in independent if not i.get("shaped_the_detector")]


def _wrongly_flagged(incident: dict) -> int:
    """Accounts flagged outside the campaigns of one independent incident."""
    return int(incident.get("flagged") or 0) - int(incident.get("true_positives") or 0)


def unseen_caution(quality: dict) -> str:
    """The summary's warning from the generated incidents whose tradecraft the developers had not seen before they
    were measured: what the method missed and what it wrongly flagged there (a clause of the sentence on accuracy),
    or nothing if it did neither."""
    unseen = _unseen(quality.get("independent") or [])
    found = sum(int(i.get("true_positives") or 0) for i in unseen)
    campaign = sum(int(i.get("campaign_accounts") or 0) for i in unseen)
    wrong = sum(_wrongly_flagged(i) for i in unseen)
    if not unseen or (found == campaign and not wrong):
        return ""
    return (f"; on those its developers had not seen, it found {n(found)} of {n(campaign)} campaign accounts and "
            f"flagged {n(wrong)} legitimate ones")


def _unseen_text(independent: list[dict]) -> str:
    """What the method found on the incidents that shaped nothing in it, spelled out: they are the only figures
    here on tradecraft its developers had not seen."""
    unseen = _unseen(independent)
    if not unseen:
        return ""
    names = list(dict.fromkeys(str(i.get("name", "-")) for i in unseen))
    one = len(names) == 1
    named = _join(names)
    found = "; ".join(
        f"at {n(i.get('rows'))} requests it found {n(i.get('true_positives'))} of {n(i.get('campaign_accounts'))} "
        f"campaign accounts and flagged {n(_wrongly_flagged(i))} accounts "
        "outside the campaigns" for i in unseen)
    return (f" {named[:1].upper()}{named[1:]} {'was' if one else 'were'} measured before anything in the method was "
            f"changed for {'it' if one else 'them'}, so {'its' if one else 'their'} figures are the nearest here to "
            f"how the method does on tradecraft nobody here had seen: {found}.")


def score_settings(cluster_params: dict) -> list[tuple[str, str, str, str]]:
    """Every weight, threshold and default of the score and the flag rule: (setting, value used, default, how set).

    Values come from the scorer's constants and the recorded parameters, never typed here."""
    defaults = ClusterParams()
    used = {**{k: getattr(defaults, k) for k in CLUSTER_FLAGS}, **cluster_params}
    fixed = "fixed in this version"

    def option(key: str) -> tuple[str, str, str]:
        return f"{used[key]:g}", f"{getattr(defaults, key):g}", "analysis option"

    rows = [(f"Weight of {COMPONENT_WORDS[k]}", f"{w:g}", f"{w:g}", fixed) for k, w in scoring.WEIGHTS.items()]
    rows += [
        ("Flag: suspicion score at least", *option("flag_threshold")),
        (f"Flag: {COMPONENT_WORDS['coordination']} at least", f"{scoring.COORDINATION_MIN:g}",
         f"{scoring.COORDINATION_MIN:g}", fixed),
        (f"Flag: {COMPONENT_WORDS['extraction']} at least", f"{scoring.EXTRACTION_MIN:g}",
         f"{scoring.EXTRACTION_MIN:g}", fixed),
        ("Flag: counted accounts in the group at least", *option("min_flag_accounts")),
        ("Smallest group the grouping method forms (accounts)", *option("min_cluster_size")),
        (f"{COMPONENT_WORDS['extraction'].capitalize()}, share part: from the median account's reasoning share plus "
         "... to plus ...",
         f"{scoring.REASONING_FROM:g} to {scoring.REASONING_FULL:g}", f"{scoring.REASONING_FROM:g} to {scoring.REASONING_FULL:g}", fixed),
        (f"{COMPONENT_WORDS['extraction'].capitalize()}, rate part: templated reasoning requests per member per "
         "active day, from ... to ...",
         f"{scoring.RATE_FROM:g} to {scoring.RATE_FULL:g}", f"{scoring.RATE_FROM:g} to {scoring.RATE_FULL:g}", fixed),
        (f"{COMPONENT_WORDS['extraction'].capitalize()}, novelty part: distinct prompts per request that asks for "
         "reasoning, from ... to ...",
         f"{scoring.NOVELTY_FROM:g} to {scoring.NOVELTY_FULL:g}", f"{scoring.NOVELTY_FROM:g} to {scoring.NOVELTY_FULL:g}", fixed),
        ("Around the clock: spread of requests over the 24 hours, on a scale where 4.58 is perfectly even, at least",
         f"{scoring.ROUND_THE_CLOCK_BITS:g}", f"{scoring.ROUND_THE_CLOCK_BITS:g}", fixed),
        ("Human-paced: spread of requests over the 24 hours (same scale) below", f"{scoring.HUMAN_PACED_BITS:g}",
         f"{scoring.HUMAN_PACED_BITS:g}", fixed),
        ("A value is specific to a group when the chance of its use is below one in 10 to the power of",
         f"{scoring.SPECIFIC_SURPRISE:g} + log10(the group's distinct values)",
         f"{scoring.SPECIFIC_SURPRISE:g} + log10(the group's distinct values)", fixed),
        ("Core member: membership at least", f"{scoring.CORE_MEMBERSHIP:g}", f"{scoring.CORE_MEMBERSHIP:g}", fixed),
        ("Weakly attached member counted with links of its own: at least ... links", *option("min_samples")),
        ("... each at similarity at least (1 minus the grouping distance)", f"{1 - float(used['cluster_epsilon']):g}",
         f"{1 - defaults.cluster_epsilon:g}", "analysis option"),
        ("A member is counted when its own templated reasoning share is at least this fraction of its group's",
         f"{scoring.MEMBER_SHARE_OF_GROUP:g}", f"{scoring.MEMBER_SHARE_OF_GROUP:g}", fixed),
        ("Flagged groups sharing at least this share of their specific templates are merged",
         f"{scoring.MERGE_OVERLAP:g}", f"{scoring.MERGE_OVERLAP:g}", fixed),
        ("Signup burst window (hours)", f"{ScoreParams.signup_burst_h:g}", f"{ScoreParams.signup_burst_h:g}", fixed),
        ("Innocent explanation, an app's shared system prompt: share of requests at least, templated share below",
         f"{scoring.BENIGN_SYSTEM_PROMPT_SHARE:g}, {scoring.BENIGN_TEMPLATED_MAX:g}",
         f"{scoring.BENIGN_SYSTEM_PROMPT_SHARE:g}, {scoring.BENIGN_TEMPLATED_MAX:g}", fixed),
        ("Innocent explanation, a shared network of people: human-paced share at least, templated share below",
         f"{scoring.BENIGN_HUMAN_PACED_SHARE:g}, {scoring.BENIGN_TEMPLATED_MAX:g}",
         f"{scoring.BENIGN_HUMAN_PACED_SHARE:g}, {scoring.BENIGN_TEMPLATED_MAX:g}", fixed),
        ("Single accounts listed for review: requests at least, and at least this many times the median account",
         f"{ScoreParams.high_volume_min_requests:,}, {ScoreParams.high_volume_factor:g}",
         f"{ScoreParams.high_volume_min_requests:,}, {ScoreParams.high_volume_factor:g}", fixed),
    ]
    return rows


def member_counts(cluster: dict, rows: list) -> list[tuple[str, str]]:
    """A flagged group's accounts by how they are counted (accounts.csv rows of the group)."""
    core = sum(1 for r in rows if r[4] == "flagged" and float(r[2]) >= scoring.CORE_MEMBERSHIP)
    weak_counted = sum(1 for r in rows if r[4] == "flagged" and float(r[2]) < scoring.CORE_MEMBERSHIP)
    attached = sum(1 for r in rows if r[4] == "attached")
    weak = sum(1 for r in rows if r[4] == "weak")
    out = [
        (f"Core members (membership {scoring.CORE_MEMBERSHIP:g} or more), counted", n(core)),
        (f"Weakly attached (membership below {scoring.CORE_MEMBERSHIP:g}) with strong links of their own, counted",
         n(weak_counted)),
        ("Joined after grouping (too quiet for links of their own), counted", n(attached)),
        ("Weakly attached without strong links of their own, listed but not counted", n(weak)),
    ]
    out += [(f"Left out: {reason}", n(count)) for reason, count in sorted((cluster.get("left_out") or {}).items())]
    out.append(("All accounts of the group", n(len(rows))))
    return out


CASE_METADATA = (  # summary.json keys of the optional case metadata, shown on page one when given
    ("source_organization", "Source organisation"),
    ("contact_name", "Contact"),
    ("contact_email", "Contact e-mail"),
    ("external_identifier", "External identifier"),
    ("analysis_date", "Analysis date"),
)


def _case_metadata(summary: dict) -> list[tuple[str, str]]:
    found = summary.get("case") if isinstance(summary.get("case"), dict) else {}
    rows = []
    for key, name in CASE_METADATA:
        value = found.get(key) if found.get(key) else summary.get(key)
        if value:
            rows.append((name, str(value)))
    return rows


def data_through(summary: dict) -> str:
    """The last day with log data, in words ("5 June 2026")."""
    window = summary.get("window") or {}
    return day_text(window.get("last_seen"))


def report_document(summary: dict, tables, figs: dict[str, bytes], payload_names: list[str],
                    meta: dict[str, dict] | None = None) -> Document:
    """The lawyer-facing report: summary first, then one exhibit per flagged group, method, accuracy, limits, how to
    check it all, a glossary and the technical appendix. `meta` holds each figure's own description (figures.py)."""
    meta = meta or {}
    clusters = summary["clusters"]
    flagged = sorted((c for c in clusters if c["flagged"]), key=lambda c: (-c["suspicion_score"], c["cluster_id"]))
    params = summary["parameters"]
    cluster_params = params["cluster"]
    threshold = float(cluster_params.get("flag_threshold", ClusterParams.flag_threshold))
    min_accounts = int(cluster_params.get("min_flag_accounts", ClusterParams.min_flag_accounts))
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
    member_rows: dict[int, list] = {}
    for row in tables.account_rows:
        member_rows.setdefault(row[1], []).append(row)
    # Flagged members below core membership: counted for links of their own, or joined after grouping (role
    # "attached", which carries no membership of its own).
    weak_counted = sum(1 for c in flagged for r in member_rows.get(c["cluster_id"], [])
                       if r[3] and r[4] != "attached" and float(r[2]) < scoring.CORE_MEMBERSHIP)
    joined = sum(1 for c in flagged for r in member_rows.get(c["cluster_id"], []) if r[3] and r[4] == "attached")
    exhibit_of = {c["cluster_id"]: i + 1 for i, c in enumerate(flagged)}
    through = data_through(summary)
    doc = Document(
        title=summary["title"],
        subtitle=(
            f"Case {summary['case_id']} · data through {through} · produced by forensics "
            f"{summary['tool_version']} · pseudonymisation key fingerprint {summary['key_fingerprint']}"
        ),
        running_header=f"Case {summary['case_id']} · {summary['title']}",
        running_footer=f"Key fingerprint {summary['key_fingerprint']} · forensics {summary['tool_version']} · "
        f"data through {through}",
    )
    body = Numbering()
    b = doc.blocks
    case_rows = _case_metadata(summary)
    if case_rows:
        b.append(Para(" · ".join(f"{name}: {value}" for name, value in case_rows), "Case."))

    # 1: summary
    b.append(Heading(2, "1 Summary", "summary"))
    quality = detection_quality()
    accuracy = f"The method's accuracy was measured only on generated incidents{unseen_caution(quality)} (section 6)."
    period = f"{day_text(window.get('since') or window.get('first_seen'))} to {through}"
    if flagged:
        groups = "one group" if len(flagged) == 1 else f"{len(flagged)} groups"
        exhibits = "Exhibit 1" if len(flagged) == 1 else f"Exhibits 1 to {len(flagged)}"
        observed = (
            f"The logs examined run from {period}. Between {day_text(first)} and {day_text(last)}, {n(f_accounts)} "
            f"accounts in {groups} sent {n(f_requests)} requests ({pct(f_requests, total_requests)} of all "
            f"{n(total_requests)} requests examined)"
            + (f" and received {n(f_out)} tokens of model output" if has_tokens else "")
            + f". In each group, the members shared prompt templates, addresses, clock times, payment cards or other "
            f"values, or sent the same prompts at the same moments, far more often than accounts with the same "
            f"activity would by chance if each chose independently ({exhibits}). That makes coincidence unlikely; it "
            f"does not show guilt, and groups not flagged (section 3) show it too."
        )
        lowest = min(flagged, key=lambda c: (float((_evidence(c, "reasoning") or {}).get("value") or 0), c["cluster_id"]))
        reasoning = _evidence(lowest, "reasoning")
        if reasoning:
            observed += (f" In the group where the share of requests asking for step-by-step reasoning was lowest "
                         f"({label(lowest['cluster_id'])}), {reasoning['text']}.")
        limits = (
            "These observations do not establish who controls the accounts or why, whether the groups are one "
            "organisation or several, or what the model's answers were used for. They match the pattern this method "
            "was built to flag as a possible distillation campaign (many accounts collecting a model's answers, for "
            "example to train another model), but other explanations exist (section 8). " + accuracy
        )
        scores = sorted(c["suspicion_score"] for c in flagged)
        rule = (
            f"Each group received a suspicion score between 0 and 1 that weighs {_PARTS} (weights in section 5). A "
            f"group is flagged only if it scores at least {threshold:g}, shows both {_BOTH}, counts at least {min_accounts} "
            f"flagged accounts and has no innocent explanation that the method recognises. The flagged groups score "
            + (down(scores[0]) if len(scores) == 1 else f"between {down(scores[0])} and {down(scores[-1])}")
            + ". The score is a weighted indicator, not a probability."
        )
    else:
        observed = (
            f"The logs from {period} hold {n(total_requests)} requests from {n(total_accounts)} accounts. "
            f"No group of accounts met the criteria for a coordinated distillation campaign."
        )
        limits = ("Absence of a flag is not proof of absence: a careful operator can avoid the patterns this method "
                  "looks for (section 8). " + accuracy)
        rule = (f"A group is flagged only if its suspicion score is at least {threshold:g}, it has at least "
                f"{min_accounts} flagged accounts and it has no innocent explanation. None qualified.")
    who = (
        "Accounts are named only by pseudonyms: 32-character codes computed from the real account ID with a secret "
        "case key. Only the key holder can compute a pseudonym from an account ID (VERIFY.md, step 4), though "
        "someone holding the original records could match some by the sign-up times and activity listed. No "
        "account ID, IP address, e-mail address, payment detail or prompt text appears in this bundle."
    )
    b.append(Callout((Para(observed, "What was observed."), Para(limits, "What this does not establish."),
                      Para(who, "Who."))))
    b.append(
        Facts(
            (
                ("Flagged groups", n(len(flagged)), f"of {n(len(clusters))} groups found"),
                ("Accounts in them", n(f_accounts),
                 f"{pct(f_accounts, total_accounts)} of {n(total_accounts)}; {n(weak_counted + joined)} not core members "
                 f"(section 5)"),
                ("Their requests", n(f_requests), f"{pct(f_requests, total_requests)} of {n(total_requests)}"),
                ("Output tokens", n(f_out) if has_tokens else "unknown",
                 f"plus {n(f_in)} input tokens" if has_tokens else "no token counts in the logs"),
                ("First seen", day_text(first) if flagged else "none", when_text(first) if flagged else ""),
                ("Last seen", day_text(last) if flagged else "none", when_text(last) if flagged else ""),
                ("Data through", through, f"{n(summary.get('rows_read'))} log rows read"),
                ("Rows set aside", n(summary.get("rows_quarantined")), "invalid rows, kept in quarantine"),
            )
        )
    )
    b.append(Para(rule, "How groups are flagged."))
    if flagged:
        b.append(
            Table(
                ("Exhibit", "Group", "Flagged accounts", "Requests", "First seen", "Last seen", "Score", "Strongest evidence"),
                tuple(
                    (
                        str(exhibit_of[c["cluster_id"]]), label(c["cluster_id"]), n(c["flagged_accounts"]),
                        n(c["flagged_requests"]), when_text(c["flagged_first_seen"]), when_text(c["flagged_last_seen"]),
                        down(c["suspicion_score"]),
                        ", ".join(_lower(INDICATOR_NAMES[e["indicator"]]) for e in _strong_items(c)[:2]) or "see its exhibit",
                    )
                    for c in flagged[:PAGE_ONE_GROUPS]
                ),
                caption="Flagged groups, highest score first"
                + (f" (the first {PAGE_ONE_GROUPS} of {len(flagged)}; all in section 2)" if len(flagged) > PAGE_ONE_GROUPS else ""),
                numeric=(True, False, True, True, False, False, True, False),
                number=body.table(), small=True, widths=(0.7, 0.9, 0.9, 0.8, 1.45, 1.45, 0.5, 2.6),
            )
        )
    b.append(
        Para(
            "Sections: 1 Summary; 2 Evidence per flagged group (one exhibit per group); 3 Other groups reviewed; "
            "4 Data examined; 5 How the method works; 6 How accurate is this method; 7 How to verify and reproduce; "
            "8 Limitations and alternative explanations; 9 Glossary; Appendix A Methods in technical terms; "
            "Appendix B Contents of this bundle."
        )
    )

    # 2: evidence per flagged group
    b.append(Heading(2, "2 Evidence per flagged group", "evidence"))
    if flagged:
        b.append(Para(
            "Each flagged group has its own exhibit, starting on a new page: what was observed, how its accounts are "
            "counted and how its score was made up, its daily activity, a drawing of its accounts and links, and "
            "what the method measured. Every finding is the method's own wording of one measured indicator. The figures "
            "below show all flagged groups together."
        ))
    else:
        b.append(Para("No group was flagged, so there is no per-group evidence. Section 3 lists the groups reviewed."))
    for path, caption in (
        ("figures/daily-requests.svg", caption_daily_requests(meta.get("figures/daily-requests.svg", {}))),
        ("figures/hour-of-day.svg", caption_hour_of_day(meta.get("figures/hour-of-day.svg", {}))),
        ("figures/account-creation.svg", caption_account_creation(meta.get("figures/account-creation.svg", {"empty": True}))),
    ):
        b.append(Figure(path, caption, figs[path], number=body.figure(), width=0.72))
    for c in flagged:
        b.append(_exhibit(c, exhibit_of[c["cluster_id"]], member_rows.get(c["cluster_id"], []), figs, meta, has_tokens))

    # 3: other groups
    b.append(Heading(2, "3 Other groups reviewed", "others"))
    others = [c for c in clusters if not c["flagged"]]
    if others:
        b.append(Para(
            "These groups of similar accounts were found but not flagged, either because their score was below the "
            f"threshold, they were too small, they did not show both {_BOTH}, or they have an innocent explanation."
        ))
        b.append(Table(
            ("Group", "Accounts", "Requests", "Score", "Why not flagged"),
            tuple(
                (label(c["cluster_id"]), n(c["accounts"]), n(c["requests"]), down(c["suspicion_score"]),
                 _why_not_flagged(c, threshold, min_accounts))
                for c in others
            ),
            caption="Groups found but not flagged", numeric=(False, True, True, True, False), number=body.table(),
        ))
    else:
        b.append(Para("No other groups were found."))
    high = summary.get("high_volume_accounts") or []
    if high:
        b.append(Para(
            f"{n(len(high))} individual accounts sent far more requests than typical and are listed for review; "
            f"volume alone is not evidence of a campaign."
        ))
        b.append(Table(
            ("Account pseudonym", "Requests"), tuple((a["account_pseudonym"], n(a["requests"])) for a in high[:25]),
            caption="High-volume accounts (first 25; all in summary.json)", numeric=(False, True), number=body.table(),
        ))

    # 4: data examined
    b.append(Heading(2, "4 Data examined", "data"))
    reasons = summary.get("quarantine_reasons") or {}
    b.append(Para(
        f"{n(summary.get('rows_read'))} log rows were read from {n(len(summary.get('inputs', [])))} files. "
        f"{n(summary.get('rows_accepted'))} were accepted and {n(summary.get('rows_quarantined'))} were set aside "
        f"with a recorded reason; no row was dropped silently. The accepted rows hold {n(total_requests)} requests "
        f"from {n(total_accounts)} accounts"
        + (f", with {n(summary.get('input_tokens'))} input and {n(summary.get('output_tokens'))} output tokens."
           if has_tokens else "; the logs hold no token counts.")
        + f" The data runs through {through}."
    ))
    b.append(Table(
        ("Window", "Value"),
        (
            ("Requested start", window.get("since") or "not set"),
            ("Requested end (exclusive)", window.get("until") or "not set"),
            ("First request accepted", window.get("first_seen") or "none"),
            ("Last request accepted", window.get("last_seen") or "none"),
        ),
        caption="Incident window (UTC)", number=body.table(),
    ))
    if reasons:
        b.append(Table(
            ("Reason", "Rows"), tuple((k.replace("_", " "), n(v)) for k, v in sorted(reasons.items())),
            caption="Rows set aside, by reason", numeric=(False, True), number=body.table(),
        ))
    inputs = summary.get("inputs", [])
    b.append(Table(
        ("File", "Bytes", "Rows", "Accepted", "SHA-256"),
        tuple((i["path"], n(i["size"]), n(i["rows"]), n(i["rows_accepted"]), i["sha256"]) for i in inputs[:40]),
        caption="Input files (paths relative to the logs directory given to the tool)"
        + ("" if len(inputs) <= 40 else f"; first 40 of {n(len(inputs))}, all in summary.json"),
        numeric=(False, True, True, True, False), number=body.table(), small=True,
    ))
    acct = summary.get("accounts_input")
    if acct:
        b.append(Para(
            f"Account table: {acct.get('name')} ({n(acct.get('size'))} bytes, SHA-256 {acct.get('sha256')}), "
            f"{n(acct.get('rows'))} rows describing {n(acct.get('accounts'))} accounts."
        ))
    unavailable = summary.get("signals_unavailable") or []
    b.append(Para(
        "Signals unavailable in these logs (the method ran without them): "
        + (", ".join(s.replace("_", " ") for s in unavailable) if unavailable else "none") + "."
    ))

    # 5: how the method works
    b.append(Heading(2, "5 How the method works", "method"))
    b.append(Bullets((
        "Reading the logs. Every log row is checked. Valid rows are kept with account IDs, IP addresses, client "
        "software, payment details and prompts replaced by keyed pseudonyms; invalid rows are set aside with a "
        "reason, so rows read = rows accepted + rows set aside.",
        "Evidence links. For pairs of accounts that share values (addresses, networks, clock slots, prompt "
        "templates, cards), the method measures how unlikely their overlap is by chance, given how active both "
        "accounts are and how common each value is, and keeps the pairs where it is unlikely even allowing for the "
        f"number of accounts compared. {_alone_sentence(cluster_params)} Accounts that behave near-identically are "
        "also linked, weakly.",
        "Groups. The links are combined into one similarity per pair of accounts, and accounts are grouped by a "
        "standard density-based method that leaves accounts without strong links ungrouped. A group that is not "
        "flagged is judged again as the tighter groups the method finds inside it, so that a few chance links to "
        "ordinary accounts cannot hide a campaign among them. Every choice that shapes "
        "the groups follows the accounts' own activity, never the pseudonyms, so a different case key finds the same "
        "groups.",
        "Group evidence. For each group and each kind of value, the method compares the members with the rest of the "
        "logs: how many distinct values accounts with the same activity would have used, and which values far more "
        "members use than chance explains (values specific to the group).",
        f"Scores. Each group is scored on {_PARTS}, with the weights below, and flagged by the rule in the summary. Groups with a recognised innocent "
        "explanation are reported but never flagged.",
    )))
    b.append(Heading(3, "Membership: who in a flagged group is counted", "membership"))
    b.append(Para(
        f"The grouping method gives every member a membership between 0 and 1: how firmly it belongs to its group, 1 "
        f"in the group's dense core and lower at its edge. Members with membership of at least "
        f"{scoring.CORE_MEMBERSHIP:g} are core members. Members below it are weakly attached: such a member is counted "
        f"as flagged only if it has at least {cluster_params.get('min_samples', ClusterParams.min_samples)} links of "
        f"its own, each at similarity at least {1 - float(cluster_params.get('cluster_epsilon', ClusterParams.cluster_epsilon)):g}, "
        f"to core members of the group; otherwise it is listed in accounts.csv but not counted. Accounts too quiet "
        f"for links of their own can join a flagged group after grouping when most of their requests use the group's "
        f"own prompt templates and they share another value specific to it. Members of a registered organisation on "
        f"one payment method, and members whose own requests do not follow the group's templates, are left out with "
        f"the reason. Each exhibit counts its members in these classes; in all flagged groups together, of the "
        f"{n(f_accounts)} flagged accounts, {n(weak_counted)} are weakly attached members counted for links of their "
        f"own and {n(joined)} joined after grouping."
    ))
    b.append(Table(("Part of the score", "Weight", "Meaning"),
                   tuple((COMPONENT_WORDS[k].capitalize(), f"{w:g}", COMPONENT_TEXT[k]) for k, w in scoring.WEIGHTS.items()),
                   caption="Score weights (fixed in this version of the tool)", numeric=(False, True, False),
                   number=body.table(), widths=(1.2, 0.5, 5)))
    b.append(Table(("Setting", "Value used", "Default", "How it is set"), tuple(score_settings(cluster_params)),
                   caption="Every weight, threshold and default of the score and the flag rule",
                   number=body.table(), widths=(5, 1.6, 1.6, 1.3)))

    # 6: accuracy
    b.append(Heading(2, "6 How accurate is this method", "accuracy"))
    b.extend(accuracy_blocks(quality, body))

    # 7: reproduce and verify
    b.append(Heading(2, "7 How to verify and reproduce", "reproduce"))
    b.append(Para(
        "This bundle is a BagIt bag (RFC 8493): manifest-sha256.txt lists a SHA-256 checksum for every file under "
        "data/, and tagmanifest-sha256.txt covers the manifest and the bag's descriptive files. VERIFY.md gives "
        "step-by-step checks with standard tools. Placeholders: <bundle> is this directory, <logs> the original log "
        "files, <accounts-file> the original account table, <key-file> the case key, <case> any new, empty directory."
    ))
    b.append(Code(integrity_commands()))
    b.append(Para("With the original logs and key, re-run the whole analysis and compare every file:"))
    b.append(Code(rerun_commands(summary)))
    b.append(Para(
        "Re-running the analysis with the same inputs, key, parameters and software versions gives a byte-identical "
        "bundle, this PDF included, whatever directory or machine it runs on."
    ))

    # 8: limitations
    b.append(Heading(2, "8 Limitations and alternative explanations", "limitations"))
    b.append(Bullets((
        "A flagged group shows accounts that acted alike. It does not show who controls them, whether they are one "
        "organisation, or what the outputs were used for.",
        "The score is a weighted combination of indicators chosen by the tool's authors, not a measured probability. "
        "Every weight and threshold is listed in section 5. The measured accuracy in section 6 comes from generated "
        "incidents, not real ones.",
        "Legitimate explanations can produce similar patterns: a company whose employees use the API through one "
        "office network or one shared script; a research lab or class running the same benchmark; a reseller or app "
        "that forwards many end users through shared infrastructure; automated testing. The method recognises some "
        "of these (section 3) but not all.",
        "Evidence is only as good as the logs. Missing or unreliable fields weaken the analysis; signals unavailable "
        "here are listed in section 4. Clock errors, proxies and VPNs can hide or fake shared infrastructure.",
        "A careful operator can evade detection by spacing requests, varying prompts and using unrelated networks "
        "and payment methods, so an unflagged account is not cleared.",
        "Pseudonyms hide identities from readers of this bundle, but the holder of the case key can re-identify "
        "accounts. Prompts are represented only by keyed fingerprints, so this bundle cannot show what was asked.",
        "Rows set aside while reading the logs (section 4) were not analysed; they are kept in the case's quarantine "
        "file, outside this bundle, for review.",
        *_ignored_values_caveat((summary.get("graph") or {}).get("edge_kinds") or {}),
    )))

    # 9: glossary
    b.append(Heading(2, "9 Glossary", "glossary"))
    b.append(Table(("Term", "Meaning"), GLOSSARY, caption="Plain terms used in this report", number=body.table(),
                   widths=(1.3, 5)))

    # Appendix A: technical terms, every parameter, versions
    b.append(Heading(2, "Appendix A. Methods in technical terms", "appendix-methods"))
    b.append(Para(
        "For a technical reviewer: the names used in the tool's code, options and files for what the report "
        "describes in plain words, the kinds of evidence link with their counts, every parameter recorded for "
        "this analysis (with the option that sets it), and the software versions."
    ))
    b.append(Table(("Plain term in this report", "Technical name"), TECHNICAL_NAMES,
                   caption="Plain terms and technical names", number=body.table(), widths=(2, 4)))
    kinds = (summary.get("graph") or {}).get("edge_kinds") or {}
    if kinds:
        b.append(Table(
            ("Evidence link", "Meaning: the two accounts ...", "Account pairs", "Shared values compared",
             "Of them along a ring", "Values ignored as too common"),
            tuple(
                (k, EDGE_KIND_TEXT.get(k, k), *(n((v or {}).get(f, 0)) for f in ("pairs", "keys_used", "keys_salted", "keys_dropped")))
                for k, v in sorted(kinds.items())
            ),
            caption="Kinds of evidence links found", numeric=(False, False, True, True, True, True),
            number=body.table(), small=True, widths=(1.1, 4, 1, 1.1, 1, 1.1),
        ))
        if "template" in kinds:
            b.append(Para(
                "For template links, the shared values counted are of two sorts: prompts identical once digits are "
                f"set aside, and the {MINHASH_BANDS} MinHash band keys of every prompt, which near-identical prompts "
                f"share. A prompt several accounts sent can therefore be counted up to {MINHASH_BANDS + 1} times: the "
                "count is of shared values, not of prompts."
            ))
    param_rows = []
    for stage in ("ingest", "cluster", "report"):
        for key, value in sorted((params.get(stage) or {}).items()):
            flag = CLUSTER_FLAGS.get(key, "") if stage == "cluster" else ""
            param_rows.append((stage, key, flag, _param_text(value)))
    b.append(Table(("Stage", "Parameter", "Option", "Value"), tuple(param_rows), caption="Every parameter used",
                   number=body.table(), small=True))
    versions = summary.get("versions") or {}
    b.append(Table(("Software", "Version"), tuple((k, v) for k, v in sorted(versions.items())),
                   caption="Software versions", number=body.table()))

    # Appendix B: contents
    b.append(Heading(2, "Appendix B. Contents of this bundle", "contents"))
    b.append(Table(
        ("File", "What it holds"),
        tuple((name, FILE_TEXT.get(name, _figure_text(name))) for name in payload_names),
        caption="Files under data/ (checksums in manifest-sha256.txt)", number=body.table(), widths=(2, 4),
    ))
    return doc


def _why_not_flagged(c: dict, threshold: float, min_accounts: int) -> str:
    if c.get("benign_explanation"):
        return str(c["benign_explanation"])
    comps = c.get("score_components") or {}
    if c["suspicion_score"] < threshold:
        return f"score below {threshold:g}"
    if float(comps.get("coordination", 0)) < scoring.COORDINATION_MIN:
        return f"{COMPONENT_WORDS['coordination']} below {scoring.COORDINATION_MIN:g}"
    if float(comps.get("extraction", 0)) < scoring.EXTRACTION_MIN:
        return f"{COMPONENT_WORDS['extraction']} below {scoring.EXTRACTION_MIN:g}"
    return f"fewer than {min_accounts} accounts counted"


def _component_order(name: str) -> tuple:
    return (list(COMPONENT_TEXT).index(name) if name in COMPONENT_TEXT else len(COMPONENT_TEXT), name)


def _exhibit(c: dict, number: int, rows: list, figs: dict[str, bytes], meta: dict[str, dict], has_tokens: bool) -> Exhibit:
    """One flagged group's exhibit: summary (with the make-up of its score), member counts, daily activity and
    drawing, then the evidence table last: it is the long one and may run on, and nothing short follows it onto a
    page of its own."""
    cid = c["cluster_id"]
    numbers = Numbering(f"{number}.")
    active = sorted(r[10] for r in rows)
    strongest = [_lower(INDICATOR_NAMES[e["indicator"]]) for e in _strong_items(c)]
    counts_no, evidence_no = numbers.table(), numbers.table()
    comps = c.get("score_components") or {}
    parts = _join([f"{COMPONENT_WORDS.get(k, k)} {down(comps[k])}" for k in sorted(comps, key=_component_order)])
    blocks: list = [Para(
        f"{label(cid)} holds {n(c['accounts'])} accounts, which sent {n(c['requests'])} requests between "
        f"{when_text(c['first_seen'])} and {when_text(c['last_seen'])}"
        + (f", using {n(c['input_tokens'])} input and {n(c['output_tokens'])} output tokens" if has_tokens else "")
        + f". The median member was active on {active[len(active) // 2] if active else 0} days. "
        f"{n(c['flagged_accounts'])} accounts are counted as flagged (Table {counts_no}); they sent "
        f"{n(c['flagged_requests'])} requests between {when_text(c['flagged_first_seen'])} and "
        f"{when_text(c['flagged_last_seen'])}. The group scored {down(c['suspicion_score'])}"
        + (f": {parts} (each part between 0 and 1, weighted as in section 5)." if comps else ".")
        + (f" Indicators whose measured share is 50% or more, highest first: {_join(strongest)} (Table {evidence_no})."
           if strongest else "")
        + f" Chance figures (Table {evidence_no}) show the sharing is not coincidence, not guilt (Glossary: Chance)."
        + f" Every member is listed in accounts.csv with cluster_id {cid} and its role.",
        "Summary.",
    )]
    blocks.append(Table(("How the accounts are counted", "Accounts"), tuple(member_counts(c, rows)),
                        caption=f"Accounts of {label(cid)} by how they are counted", numeric=(False, True),
                        number=counts_no, widths=(5, 1)))
    daily = f"figures/cluster-{cid}-daily.svg"
    if daily in figs:
        blocks.append(Figure(daily, caption_group_daily(label(cid), meta.get(daily, {}), c["flagged_accounts"]),
                             figs[daily], number=numbers.figure(), width=0.9))
    graph = f"figures/cluster-{cid}-graph.svg"
    blocks.append(Figure(graph, caption_cluster_graph(label(cid), meta.get(graph, {}), len(rows)), figs[graph],
                         number=numbers.figure(), width=0.62))
    blocks.append(Table(
        ("Indicator", "What was measured"),
        tuple((INDICATOR_NAMES.get(e["indicator"], e["indicator"]), e["text"]) for e in c.get("evidence", [])),
        caption=f"What the method measured for {label(cid)}", number=evidence_no, widths=(1.3, 5),
    ))
    title = f"{label(cid)}: {n(c['flagged_accounts'])} flagged accounts, score {down(c['suspicion_score'])}"
    return Exhibit(number, title, f"cluster-{cid}", tuple(blocks))


FILE_TEXT = {
    "summary.json": "Machine-readable summary: window, row accounting, inputs, parameters, versions, every group",
    "accounts.csv": "One row per account in any group: pseudonym, group, membership strength, flag and role, counts, first/last seen",
    "clusters.csv": "One row per group: score, flag, size, flagged and weakly attached accounts, requests, tokens, time span, strongest indicators",
    "timeline.csv": "Requests per UTC day for each flagged group and for the background (days with none omitted)",
    "timeline.jsonl": "The same daily totals, plus each listed account's creation, first and last request and "
                      "joining of a flagged group, in Timesketch's JSONL import format",
    "graph.graphml": "The account similarity graph (pseudonyms only) for Gephi, Cytoscape or networkx",
    "report.html": "This report",
    "report.md": "This report as plain Markdown",
    "report.pdf": "This report as a paginated PDF exhibit (the same text, page numbers on every page)",
    "VERIFY.md": "Step-by-step verification with standard tools",
}


def _ignored_values_caveat(kinds: dict) -> list[str]:
    """A limitation per case, in numbers: values held by so many accounts that they were ignored."""
    ignored = [(k, v["keys_dropped"], v["keys_used"]) for k, v in sorted(kinds.items()) if (v or {}).get("keys_dropped")]
    if not ignored:
        return []
    parts = [f"{EDGE_KIND_NAMES.get(k, k)}: {n(dropped)} of {n(dropped + used)}" for k, dropped, used in ignored]
    return [
        "Shared values held by more accounts than the limit in Appendix A were ignored as not specific to any group "
        "(" + "; ".join(parts) + " values ignored). Pairs linked only through such values are not linked."
    ]


def _figure_text(name: str) -> str:
    if name.startswith("figures/cluster-") and name.endswith("-graph.svg"):
        return f"Drawing of {label(int(name.split('-')[1]))}'s accounts and links"
    if name.startswith("figures/cluster-") and name.endswith("-daily.svg"):
        return f"Figure: {label(int(name.split('-')[1]))}'s requests and active accounts per day"
    return {
        "figures/daily-requests.svg": "Figure: requests per day, flagged groups against the background",
        "figures/account-creation.svg": "Figure: account sign-ups over the whole span and over the last days",
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


# Left out of the step-by-step comparison: the custody log records wall-clock time, user and host, so it differs on
# every run; the tag manifest lists its hash (compared without that line); a signature needs the signer's key.
RERUN_UNCOMPARED = ("custody.jsonl", "tagmanifest-sha256.txt", "tagmanifest-sha256.txt.sig")


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
    # The user's case metadata (--source-organization, --analysis-date, ...), as given, one option per recorded key.
    given = [f"--{key.replace('_', '-')} {shlex.quote(str(value))}" for key, value in sorted(report.items())
             if key not in ("case_id", "title") and value is not None]
    if given:
        report_cmd += " \\\n    " + " ".join(given)
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
            "# compare every file except custody.jsonl (when, by whom and where each step ran) and its tag-manifest line",
            f"diff -r {' '.join(f'-x {name}' for name in RERUN_UNCOMPARED)} <bundle> <new-bundle>",
            "diff <(grep -v '  custody.jsonl$' <bundle>/tagmanifest-sha256.txt) "
            "<(grep -v '  custody.jsonl$' <new-bundle>/tagmanifest-sha256.txt)",
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

The chain of custody is `custody.jsonl`, next to `bag-info.txt`: one JSON line for each `ingest`, `cluster` and
`report` run that led to this bundle, with the command and its arguments (never the key), when (UTC), by which
user on which host, the tool and library versions, and the SHA-256 of what each run read and wrote. It is
listed in `tagmanifest-sha256.txt`, so steps 1 and 2 already check it; `forensics verify` also checks that its
last line is the `report` run that made this bag. It is the one file a re-run cannot reproduce (it records
wall-clock time, user and host), so step 5 compares every file but this one.

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
