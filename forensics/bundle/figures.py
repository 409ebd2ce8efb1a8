"""Deterministic SVG figures: same data, same bytes, on any machine with the same library versions.

Fixed: the Agg backend, text as real SVG text in DejaVu Sans (searchable and copyable in the HTML and the PDF;
the PDF embeds matplotlib's own copy of the font), sizes, colours, `svg.hashsalt` (per figure, so ids differ
between figures inlined in one HTML page), and no Date metadata. Graph layouts use a fixed seed over nodes and
edges inserted in sorted order.

Every function returns (svg, meta): `meta` records what the drawing actually shows (per day or per week, labelled
or not, how many accounts drawn), so that captions are written from it and cannot contradict the figure.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.dates as mdates  # noqa: E402
import networkx as nx  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

LAYOUT_SEED = 20260422
PALETTE = ("#c0392b", "#2c6fbb", "#e67e22", "#7d3c98", "#16a085", "#b7950b", "#5d6d7e", "#d35400")
BACKGROUND_COLOUR = "#8a8f94"

_RC = {
    "font.family": ["DejaVu Sans", "sans-serif"],  # SVG viewers without DejaVu Sans fall back to a sans-serif
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.6,
    "svg.fonttype": "none",
    "svg.image_inline": True,
    "path.simplify": False,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.autolayout": False,
    "date.converter": "auto",
}


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _svg(fig: Figure, salt: str) -> bytes:
    """Serialise with a fixed hash salt and without the creation date."""
    with matplotlib.rc_context({"svg.hashsalt": f"forensics-{salt}"}):
        buffer = io.BytesIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig


def _date_axis(ax, days: Sequence[date]) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=True))
    if days:
        ax.set_xlim(days[0], days[-1])


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#555555", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def daily_requests(
    days: Sequence[date], clusters: Mapping[str, Sequence[int]], background: Sequence[int]
) -> tuple[bytes, dict]:
    """Requests per UTC day: all other accounts on top, each flagged group below, same date axis."""
    with matplotlib.rc_context(_RC):
        fig = _figure(7.5, 3.9)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(1, 1.4))
        if days:
            top.fill_between(days, background, step="mid", color=BACKGROUND_COLOUR, alpha=0.35, linewidth=0)
            top.plot(days, background, drawstyle="steps-mid", color=BACKGROUND_COLOUR, label="all other accounts")
        top.set_title("All other accounts (background)", loc="left")
        top.set_ylabel("requests per day")
        top.set_ylim(bottom=0)
        for index, (label, counts) in enumerate(clusters.items()):
            bottom.plot(days, counts, drawstyle="steps-mid", color=colour(index), label=label)
        bottom.set_title("Flagged groups", loc="left")
        bottom.set_ylabel("requests per day")
        bottom.set_ylim(bottom=0)
        if clusters:
            bottom.legend(loc="upper left", frameon=False, ncols=min(4, len(clusters)))
        else:
            bottom.text(0.5, 0.5, "no flagged groups", ha="center", va="center", transform=bottom.transAxes)
        bottom.set_xlabel("day (UTC)")
        _date_axis(bottom, days)
        meta = {"unit": "day", "groups": list(clusters), "first_day": _iso(days, 0), "last_day": _iso(days, -1)}
        return _svg(fig, "daily-requests"), meta


def group_daily(name: str, title: str, days: Sequence[date], counts: Sequence[int], accounts: Sequence[int]) -> tuple[bytes, dict]:
    """One flagged group's requests per UTC day (bars) and its active accounts per day (line, right-hand scale),
    over the whole window, so that its activity can be read against the dates of the incident."""
    with matplotlib.rc_context(_RC):
        fig = _figure(7.5, 2.6)
        ax = fig.subplots()
        ax.set_title(title, loc="left")
        if days:
            ax.bar(days, counts, width=1.0, align="center", color=PALETTE[0], alpha=0.75, linewidth=0,
                   label="requests per day")
            ax.set_ylim(bottom=0)
            right = ax.twinx()
            right.plot(days, accounts, drawstyle="steps-mid", color="#1b1f23", linewidth=1.0,
                       label="accounts active that day")
            right.set_ylim(bottom=0, top=max(1, max(accounts, default=0)) * 1.15)
            right.set_ylabel("active accounts")
            right.grid(False)
            right.spines["right"].set_visible(True)
            handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
            ax.legend(handles, [h.get_label() for h in handles], loc="upper left", frameon=False, ncols=2)
        ax.set_ylabel("requests per day")
        ax.set_xlabel("day (UTC)")
        _date_axis(ax, list(days))
        active = [d for d, c in zip(days, counts) if c]
        meta = {"unit": "day", "first_day": _iso(days, 0), "last_day": _iso(days, -1),
                "active_days": len(active), "first_active": active[0].isoformat() if active else None,
                "last_active": active[-1].isoformat() if active else None, "peak": max(counts, default=0)}
        return _svg(fig, f"daily-{name}"), meta


def _iso(days: Sequence[date], index: int) -> str | None:
    return days[index].isoformat() if days else None


ZOOM_DAYS = 60


def account_creation(
    days: Sequence[date] | None, flagged: Sequence[int] | None, others: Sequence[int] | None, reason: str = ""
) -> tuple[bytes, dict]:
    """Accounts created, in two panels with their own scales: the whole span (per day, or per week or 30 days
    over long spans) with flagged-group members stacked on the rest, and the last ZOOM_DAYS days per day with the
    two as separate lines, so that a signup burst of a few dozen accounts is not flattened by years of background."""
    with matplotlib.rc_context(_RC):
        if not days or flagged is None or others is None:
            fig = _figure(7.5, 2.0)
            ax = fig.subplots()
            ax.set_title("Account sign-ups", loc="left")
            _note(ax, reason or "No account table with sign-up times was supplied.")
            return _svg(fig, "account-creation"), {"empty": True, "reason": reason}
        step = 1 if len(days) <= 120 else (7 if len(days) <= 3 * 366 else 30)
        unit = {1: "day", 7: "week", 30: "30 days"}[step]
        zoomed = step > 1 or len(days) > ZOOM_DAYS
        fig = _figure(7.5, 4.0 if zoomed else 2.6)
        axes = fig.subplots(2, 1, height_ratios=(1, 1.1)) if zoomed else [fig.subplots()]
        ax = axes[0]
        edges = [days[0] + timedelta(days=i) for i in range(0, len(days) + step, step)]
        bins_f = [sum(flagged[i:i + step]) for i in range(0, len(days), step)]
        bins_o = [sum(others[i:i + step]) for i in range(0, len(days), step)]
        stacked = [a + b for a, b in zip(bins_f, bins_o)]
        ax.stairs(stacked, edges, fill=True, color=PALETTE[0], label="flagged accounts")
        ax.stairs(bins_o, edges, fill=True, color=BACKGROUND_COLOUR, label="all other accounts")
        ax.set_title(f"Whole span: accounts created per {unit}", loc="left")
        ax.set_ylabel(f"per {unit}")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left", frameon=False)
        _date_axis(ax, [edges[0], edges[-1]])
        meta = {"empty": False, "unit": unit, "first_day": days[0].isoformat(), "last_day": days[-1].isoformat(),
                "flagged": int(sum(flagged)), "others": int(sum(others)), "zoom": None}
        if zoomed:
            z = axes[1]
            start = max(0, len(days) - ZOOM_DAYS)
            zdays = list(days[start:])
            zf, zo = list(flagged[start:]), list(others[start:])
            z.plot(zdays, zo, drawstyle="steps-mid", color=BACKGROUND_COLOUR, linewidth=1.4, label="all other accounts")
            z.plot(zdays, zf, drawstyle="steps-mid", color=PALETTE[0], linewidth=1.6, label="flagged accounts")
            z.set_title(f"Last {len(zdays)} days: accounts created per day", loc="left")
            z.set_ylabel("per day")
            z.set_xlabel("sign-up date (UTC)")
            z.set_ylim(bottom=0, top=max(1, max(zf + zo, default=0)) * 1.15)
            z.legend(loc="upper left", frameon=False)
            _date_axis(z, zdays)
            meta["zoom"] = {"first_day": zdays[0].isoformat(), "last_day": zdays[-1].isoformat(),
                            "flagged": int(sum(zf)), "others": int(sum(zo)), "peak_flagged": int(max(zf, default=0))}
        else:
            ax.set_xlabel("sign-up date (UTC)")
        return _svg(fig, "account-creation"), meta


def hour_of_day(clusters: Mapping[str, Sequence[int]], background: Sequence[int]) -> tuple[bytes, dict]:
    """Share of each group's requests per UTC hour; bursty automation stands out against the daily rhythm."""
    with matplotlib.rc_context(_RC):
        fig = _figure(7.5, 2.8)
        ax = fig.subplots()
        hours = list(range(24))
        total = sum(background)
        if total:
            ax.plot(hours, [100 * c / total for c in background], color=BACKGROUND_COLOUR, linewidth=2.4,
                    label="all other accounts")
        drawn = []
        for index, (label, counts) in enumerate(clusters.items()):
            share = sum(counts)
            if share:
                drawn.append(label)
                ax.plot(hours, [100 * c / share for c in counts], color=colour(index), marker="o", markersize=3,
                        label=label)
        ax.set_title("Time of day of requests (UTC)", loc="left")
        ax.set_xlabel("hour of day (UTC)")
        ax.set_ylabel("share of the group's requests (%)")
        ax.set_xticks(range(0, 24, 2))
        ax.set_xlim(0, 23)
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left", frameon=False, ncols=2)
        return _svg(fig, "hour-of-day"), {"groups": drawn, "background": bool(total)}


MAX_LABELLED = 40


def cluster_graph(
    name: str,
    nodes: Sequence[str],
    edges: Sequence[tuple[str, str, float]],
    labels: Mapping[str, str],
    title: str,
) -> tuple[bytes, dict]:
    """Draw one group's accounts (dots) and the evidence links between them (lines, wider = stronger)."""
    graph = nx.Graph()
    graph.add_nodes_from(sorted(nodes))
    for u, v, weight in sorted(edges):
        graph.add_edge(u, v, weight=float(weight))
    labelled = 0 < len(nodes) <= MAX_LABELLED
    meta = {"accounts": graph.number_of_nodes(), "links": graph.number_of_edges(), "labelled": labelled}
    with matplotlib.rc_context(_RC):
        fig = _figure(6.0, 4.4 if len(nodes) > 12 else 3.6)
        ax = fig.subplots()
        ax.set_title(title, loc="left")
        ax.set_axis_off()
        if graph.number_of_nodes() == 0:
            _note(ax, "no accounts")
            return _svg(fig, f"graph-{name}"), meta
        positions = nx.spring_layout(graph, seed=LAYOUT_SEED, weight="weight", iterations=100)
        positions = {node: (round(float(x), 6), round(float(y), 6)) for node, (x, y) in positions.items()}
        weights = [graph.edges[u, v]["weight"] for u, v in graph.edges]
        top = max(weights) if weights else 1.0
        nx.draw_networkx_edges(
            graph, positions, ax=ax, edge_color="#7f8c8d", alpha=0.55,
            width=[0.4 + 2.2 * (w / top if top else 0) for w in weights],
        )
        nx.draw_networkx_nodes(graph, positions, ax=ax, node_size=90 if labelled else 30,
                               node_color=PALETTE[0], edgecolors="white", linewidths=0.6)
        if labelled:
            shown = {node: labels.get(node, node[:8]) for node in graph.nodes}
            nx.draw_networkx_labels(graph, {n: (x, y + 0.06) for n, (x, y) in positions.items()}, labels=shown,
                                    ax=ax, font_size=6, font_color="#333333")
        ax.margins(0.08)
        return _svg(fig, f"graph-{name}"), meta
