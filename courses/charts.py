"""Geometry for the dashboard's server-side SVG charts (pure; templates draw and escape the text).

Every chart is also rendered as a table next to it, which is what assistive technology reads.
"""

from dataclasses import dataclass
from datetime import date

from courses.analytics import heat_bucket

CELL_W, CELL_H, LABEL_W, HEADER_H = 44, 20, 170, 28


@dataclass
class Cell:
    x: int
    y: int
    w: int
    h: int
    css: str
    title: str
    text: str


def heat_map(*, columns: list, rows: list, averages: list) -> dict:
    """columns: KeyAreaColumn list; rows: LearnerRow list; averages: (column, score, n) per column."""
    labels = []
    cells = []
    every = [("Cohort average", [(c, s) for c, s, _ in averages], True)]
    every += [(row.name, [(c, s) for c, s, _ in row.mastery], False) for row in rows]
    for r, (name, scores, is_average) in enumerate(every):
        y = HEADER_H + r * CELL_H + (6 if not is_average else 0)
        labels.append({"x": LABEL_W - 6, "y": y + CELL_H - 6, "text": name[:24], "strong": is_average})
        for column, score in scores:
            x = LABEL_W + column.index * CELL_W
            shown = "–" if score is None else f"{round(score * 100)}"
            cells.append(
                Cell(
                    x=x,
                    y=y,
                    w=CELL_W - 2,
                    h=CELL_H - 2,
                    css=f"heat-{heat_bucket(score)}",
                    title=f"{name} · {column.name}: {'no answers' if score is None else shown + '%'}",
                    text=shown,
                )
            )
    heads = [
        {"x": LABEL_W + c.index * CELL_W + CELL_W // 2, "text": _initials(c.name), "name": c.name}
        for c in columns
    ]
    return {
        "width": LABEL_W + max(len(columns), 1) * CELL_W,
        "height": HEADER_H + len(every) * CELL_H + 8,
        "labels": labels,
        "cells": cells,
        "heads": heads,
    }


def _initials(name: str) -> str:
    words = [w for w in name.replace("-", " ").split() if w[0].isalnum()]
    return "".join(w[0].upper() for w in words[:4])


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
