"""Shapes for the dashboard's charts (pure; templates draw and escape the text).

The SVG charts are also rendered as a table next to them, which is what assistive technology reads; the
key-area heat map is a table with coloured cells.
"""

from dataclasses import dataclass
from datetime import date

from courses.analytics import heat_bucket


@dataclass
class HeatRow:
    """One row of the key-area mastery table: (colour bucket, percent or None, answers or None) per key area."""

    name: str
    cells: list[tuple[str, int | None, int | None]]
    average: bool = False


def heat_table(*, rows: list, averages: list) -> list[HeatRow]:
    """The cohort average, then one row per learner, each cell coloured by heat_bucket.

    The heat map is the table itself (coloured cells, the figures in them), so the page carries the
    figures once and assistive technology reads the same table everyone sees.
    """
    table = [HeatRow("Cohort average", [_heat_cell(s, None) for _, s, _ in averages], average=True)]
    table += [HeatRow(row.name, [_heat_cell(s, n) for _, s, n in row.mastery]) for row in rows]
    return table


def _heat_cell(score: float | None, count: int | None) -> tuple[str, int | None, int | None]:
    return heat_bucket(score), None if score is None else round(score * 100), count


def bar_chart(*, buckets: list[tuple[date, int]], width: int = 480, height: int = 160) -> dict:
    """Weekly totals as bars with the value above each and the week's start date below."""
    top = max((n for _, n in buckets), default=0) or 1
    gap, base, plot_h = 8, height - 22, height - 44
    bar_w = (width - gap * (len(buckets) + 1)) // max(len(buckets), 1)
    bars = []
    for i, (start, n) in enumerate(buckets):
        h = round(plot_h * n / top)
        x = gap + i * (bar_w + gap)
        bars.append(
            {
                "x": x,
                "y": base - h,
                "w": bar_w,
                "h": h,
                "value": n,
                "label": start.strftime("%d %b"),
                "cx": x + bar_w // 2,
            }
        )
    return {"width": width, "height": height, "bars": bars, "base": base}


def mastery_bars(*, mastery: list, width: int = 420) -> dict:
    """Horizontal bars, one per key area, for the per-learner page."""
    label_w, bar_h, gap = 0, 18, 30
    bars = []
    for i, (column, score, count) in enumerate(mastery):
        y = 14 + i * gap
        bars.append(
            {
                "y": y,
                "w": 0 if score is None else round((width - label_w - 50) * score),
                "text_y": y - 3,
                "name": column.name,
                "value": "no answers" if score is None else f"{round(score * 100)}% ({count})",
                "css": f"heat-{heat_bucket(score)}",
            }
        )
    return {"width": width, "height": 14 + len(mastery) * gap, "bars": bars, "bar_h": bar_h}
