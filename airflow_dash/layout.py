"""Automatic placement on Grafana's 24-column grid: rows stacked, panels flowing left to right.

Grafana compacts panels upward and rejects nothing, so an overlapping or out-of-grid layout silently
renders differently than designed; placing everything here guarantees there is none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

COLUMNS = 24
ROW_HEIGHT = 1


@dataclass(frozen=True)
class GridPos:
    x: int
    y: int
    w: int
    h: int

    def to_json(self) -> dict[str, int]:
        return {"h": self.h, "w": self.w, "x": self.x, "y": self.y}

    def overlaps(self, other: GridPos) -> bool:
        return self.x < other.x + other.w and other.x < self.x + self.w and self.y < other.y + other.h and other.y < self.y + self.h


def flow(sizes: Sequence[tuple[int, int]], top: int) -> tuple[list[GridPos], int]:
    """Place (width, height) boxes left to right from `top`, wrapping at 24 columns; returns the next free y.

    A line's height is its tallest panel, so panels of different heights never overlap the next line.
    """
    positions = []
    x, y, line_height = 0, top, 0
    for width, height in sizes:
        if x + width > COLUMNS:
            x, y, line_height = 0, y + line_height, 0
        positions.append(GridPos(x, y, width, height))
        x += width
        line_height = max(line_height, height)
    return positions, y + line_height


def layout_rows(rows: Sequence[tuple[str, bool, Sequence[tuple[int, int]]]]) -> list[tuple[GridPos, list[GridPos]]]:
    """Positions for each (title, collapsed, panel sizes) row: the row header, then its panels.

    Panels of a collapsed row are positioned as if it were expanded (Grafana does the same when opening it),
    but take no room below it.
    """
    result = []
    y = 0
    for _title, collapsed, sizes in rows:
        header = GridPos(0, y, COLUMNS, ROW_HEIGHT)
        positions, bottom = flow(sizes, y + ROW_HEIGHT)
        result.append((header, positions))
        y = y + ROW_HEIGHT if collapsed else bottom
    return result
