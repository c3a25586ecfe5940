"""The batches-over-time chart, drawn server-side as inline SVG (no script, no CDN).

One group of four bars per day (lines created, updated, archived, rejected), a y axis with a
few round ticks, a legend. Colours are fixed so the browser test can find them on a
screenshot; labels are Markup-escaped by the template like all other data.
"""

from __future__ import annotations

from dataclasses import dataclass

from ordersync.ui.data import SERIES, DayCounts

COLOURS = {
    "created": "#2e9d5b",
    "updated": "#3b7dd8",
    "archived": "#8a8f98",
    "rejected": "#d6453d",
}
WIDTH, HEIGHT = 1000, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 16, 34


@dataclass(frozen=True)
class Bar:
    series: str
    day: str
    value: int
    x: float
    y: float
    width: float
    height: float

    @property
    def colour(self) -> str:
        return COLOURS[self.series]


@dataclass(frozen=True)
class Chart:
    """Everything the template draws: bars, ticks, day labels, the plot's box."""

    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, int]]  # (y, value)
    labels: list[tuple[float, str]]  # (x, day)
    top: int
    bottom: int
    left: int
    right: int
    colours: dict[str, str]


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10ⁿ at or above ``value`` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def build_chart(days: list[DayCounts]) -> Chart:
    """Lay out the bars of ``days`` (oldest first)."""
    peak = nice_ceiling(max((d.get(s) for d in days for s in SERIES), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar_w = slot * 0.8 / len(SERIES)
    bars, labels = [], []
    for n, day in enumerate(days):
        x0 = LEFT + n * slot + slot * 0.1
        label = f"{day.day:%m-%d}"
        labels.append((LEFT + n * slot + slot / 2, label))
        for k, series in enumerate(SERIES):
            value = day.get(series)
            h = plot_h * value / peak
            if value:
                h = max(h, 1.5)  # a bar of one line stays visible
            bars.append(
                Bar(series, label, value, x0 + k * bar_w, TOP + plot_h - h, bar_w * 0.92, h)
            )
    ticks = [(TOP + plot_h - plot_h * f / 4, round(peak * f / 4)) for f in range(5)]
    return Chart(
        WIDTH, HEIGHT, bars, ticks, labels, TOP, TOP + plot_h, LEFT, WIDTH - RIGHT, COLOURS
    )
