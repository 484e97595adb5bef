"""Chart geometry for the dashboard: the server draws inline SVG, so no script is needed."""

from __future__ import annotations

from dataclasses import dataclass

from ..services.stats import Dashboard

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 10, 28


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"  # CSS class: "first" and "last" keep the text inside the box


@dataclass(frozen=True)
class FlowChart:
    """Bars for tasks created and completed per day (or week), with axis labels."""

    width: int
    height: int
    created: list[Rect]
    completed: list[Rect]
    y_labels: list[Label]
    x_labels: list[Label]
    gridlines: list[float]
    baseline: float
    left: int = LEFT
    right: int = WIDTH - RIGHT


def _nice_max(value: int) -> int:
    """A round upper bound for the y axis (1, 2, 5, 10, 20, 50, ...)."""
    bound = 1
    while True:
        for step in (1, 2, 5):
            if bound * step >= value:
                return bound * step
        bound *= 10


def flow_chart(board: Dashboard) -> FlowChart:
    """Place the created/completed bars of a dashboard inside the chart's view box."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bars = board.bars
    top = _nice_max(max([b.created for b in bars] + [b.completed for b in bars] + [1]))
    slot = plot_w / max(len(bars), 1)
    bar_w = max(slot * 0.4, 0.5)
    baseline = TOP + plot_h

    def rect(index: int, value: int, offset: float) -> Rect:
        height = plot_h * value / top
        return Rect(round(LEFT + index * slot + slot * 0.1 + offset, 2),
                    round(baseline - height, 2), round(bar_w, 2), round(height, 2))

    created = [rect(i, b.created, 0) for i, b in enumerate(bars) if b.created]
    completed = [rect(i, b.completed, bar_w) for i, b in enumerate(bars) if b.completed]
    gridlines = [round(TOP + plot_h * f, 2) for f in (0, 0.5)]
    y_labels = [Label(LEFT - 6, round(TOP + plot_h * (1 - f) + 4, 2), str(round(top * f)))
                for f in (0, 0.5, 1) if f == 0 or top * f == int(top * f)]
    x_labels = []
    if bars:
        last = len(bars) - 1
        if last == 0:
            x_labels = [Label(round(LEFT + slot / 2, 2), HEIGHT - 8, bars[0].start.isoformat())]
        else:
            x_labels = [
                Label(LEFT, HEIGHT - 8, bars[0].start.isoformat(), "first"),
                Label(WIDTH - RIGHT, HEIGHT - 8, bars[last].start.isoformat(), "last"),
            ]
            if last >= 2:
                x_labels.insert(1, Label(round(LEFT + (last // 2) * slot + slot / 2, 2),
                                         HEIGHT - 8, bars[last // 2].start.isoformat()))
    return FlowChart(WIDTH, HEIGHT, created, completed, y_labels, x_labels, gridlines, baseline)
