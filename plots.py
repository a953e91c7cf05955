"""Figures for the command line and reports (matplotlib, imported only when a figure is asked
for; the plugin's dock draws with Qt instead)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_baseline_network(graph: Any, out: str | Path, title: str = "") -> Path:
    """PNG of a :class:`~sbas_selector.core.review.BaselineGraph` (see
    :func:`draw_baseline_network`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.8))
    draw_baseline_network(ax, graph, title)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def draw_baseline_network(ax: Any, graph: Any, title: str = "") -> None:
    """Draw a baseline graph on matplotlib axes: score as edge colour (red low .. green
    high, grey unscored), decision as line style (solid kept, dashed dropped), dates without
    a kept pair in red."""
    import matplotlib.dates as mdates
    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.lines import Line2D

    cmap = LinearSegmentedColormap.from_list("score", ["#d7301f", "#fec44f", "#1a9850"])
    dates = list(graph.dates)
    for edge in sorted(graph.edges, key=lambda e: e.label.value != "low"):
        colour = "#8c8c8c" if edge.score is None else cmap(edge.score)
        ax.plot([dates[edge.node1], dates[edge.node2]],
                [graph.bperp_m[edge.node1], graph.bperp_m[edge.node2]], color=colour,
                linestyle="--" if edge.label.value == "low" else "-",
                linewidth=1.0 if edge.label.value == "low" else 1.6, zorder=1)
    isolated = set(graph.health.isolated_dates)
    ax.scatter(dates, graph.bperp_m, s=18, zorder=2,
               c=["#d7301f" if d in isolated else "#1f1f1f" for d in dates])
    ax.set_xlabel("acquisition date")
    ax.set_ylabel("perpendicular baseline (m)")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    ax.set_title(title, fontsize=10)
    ax.legend(handles=[Line2D([], [], color="#444444", label="kept"),
                       Line2D([], [], color="#444444", linestyle="--", label="dropped"),
                       Line2D([], [], color="#1a9850", label="score high"),
                       Line2D([], [], color="#d7301f", label="score low"),
                       Line2D([], [], color="#8c8c8c", label="not scored")],
              loc="best", fontsize=8)
    ax.grid(alpha=0.3)
