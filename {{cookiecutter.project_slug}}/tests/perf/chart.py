"""The benchmark's charts, drawn with matplotlib (the bench dependency group) straight into PNG files.

They use matplotlib's object API rather than pyplot, so no display or GUI backend is ever involved.
"""

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure

DPI = 120
BAR_COLOR = "#3b6ea5"
CEILING_COLOR = "#9aa5b1"
SUBTITLE_WIDTH = 110  # characters that fit across the figure in small type


def stage_chart(
    bars: Sequence[tuple[str, float]], *, ceilings: set[str], title: str, subtitle: str, path: Path
) -> None:
    """Draw one horizontal bar per stage, in order, with its requests per second written at its end."""
    labels = [label for label, _ in bars]
    rates = [rate for _, rate in bars]
    figure = Figure(figsize=(9, 1.8 + 0.42 * len(bars)), layout="constrained")
    axes = figure.add_subplot()
    drawn = axes.barh(labels, rates, color=[CEILING_COLOR if label in ceilings else BAR_COLOR for label in labels])
    axes.bar_label(drawn, labels=[f"{rate:,.0f}" for rate in rates], padding=3)
    axes.invert_yaxis()  # first stage on top
    axes.set_xlabel("requests per second (median; more is better)")
    axes.set_xlim(0, max(rates, default=1) * 1.15)
    axes.spines[["top", "right"]].set_visible(False)
    figure.suptitle(title, fontweight="bold")
    axes.set_title(_wrap(subtitle), fontsize="small", color="#555555")
    figure.savefig(path, dpi=DPI)


def sweep_chart(series: Mapping[str, Mapping[int, float]], *, title: str, subtitle: str, path: Path) -> None:
    """Draw the cost per item of each stage at each page size, as grouped bars on a log scale."""
    sizes = sorted({size for costs in series.values() for size in costs})
    figure = Figure(figsize=(9, 4.8), layout="constrained")
    axes = figure.add_subplot()
    width = 0.8 / max(1, len(series))
    for index, (label, costs) in enumerate(series.items()):
        positions = [sizes.index(size) + (index - (len(series) - 1) / 2) * width for size in costs]
        drawn = axes.bar(positions, list(costs.values()), width, label=label)
        axes.bar_label(drawn, labels=[f"{cost:,.1f}" for cost in costs.values()], padding=2, fontsize="small")
    axes.set_xticks(range(len(sizes)), [f"{size:,} items a page" for size in sizes])
    axes.set_yscale("log")
    axes.set_ylabel("µs per item (log scale; less is better)")
    axes.legend(frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    figure.suptitle(title, fontweight="bold")
    axes.set_title(_wrap(subtitle), fontsize="small", color="#555555")
    figure.savefig(path, dpi=DPI)


def _wrap(text: str) -> str:
    """Return text with each of its lines wrapped to the figure's width."""
    return "\n".join(textwrap.fill(line, SUBTITLE_WIDTH) for line in text.splitlines())
