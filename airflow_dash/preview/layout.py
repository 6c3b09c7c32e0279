"""Where everything goes in a preview image: pure geometry and colours, shared by the SVG and PNG renderers.

One grid column is `COLUMN_PX` wide and one grid row `ROW_PX` high, so a panel at gridPos (x, y, w, h) is
the box (MARGIN + x·COLUMN_PX, TOP + y·ROW_PX, w·COLUMN_PX, h·ROW_PX), TOP leaving room for the title.
Open rows are bands followed by their panels; collapsed rows are bands that say how many panels they hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GRID_COLUMNS = 24
COLUMN_PX = 40
ROW_PX = 30
MARGIN = 10
HEADER_PX = 30
TOP = MARGIN + HEADER_PX
WIDTH = 2 * MARGIN + GRID_COLUMNS * COLUMN_PX

BACKGROUND = "#111217"
ROW_FILL = "#2c3038"
TEXT = "#ffffff"
DEFAULT_FILL = "#6e7a8a"
# Fills chosen to be told apart at a glance and to keep white text readable.
PANEL_FILLS = {
    "timeseries": "#3274d9",
    "stat": "#37872d",
    "gauge": "#c85a00",
    "bargauge": "#8a6d00",
    "table": "#8f3bb8",
    "text": "#4a5360",
    "piechart": "#b8337f",
    "heatmap": "#c4162a",
    "barchart": "#1f7a6b",
    "logs": "#7a5a2f",
    "state-timeline": "#2f5f9e",
    "status-history": "#4b3f9e",
}


def fill_for(panel_type: str) -> str:
    return PANEL_FILLS.get(panel_type, DEFAULT_FILL)


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    @property
    def centre(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2


def grid_box(x: int, y: int, w: int, h: int) -> Box:
    """The pixel box of a gridPos."""
    return Box(MARGIN + x * COLUMN_PX, TOP + y * ROW_PX, w * COLUMN_PX, h * ROW_PX)


@dataclass(frozen=True)
class PanelBox:
    title: str
    type: str
    unit: str
    queries: tuple[str, ...]  # "A: <query>" lines, shown on hover
    grid: tuple[int, int, int, int]
    box: Box

    @property
    def fill(self) -> str:
        return fill_for(self.type)

    @property
    def caption(self) -> str:
        return f"{self.type} · {self.unit}" if self.unit else self.type


@dataclass(frozen=True)
class RowBand:
    title: str
    collapsed: bool
    panel_titles: tuple[str, ...]  # panels a collapsed row holds
    box: Box

    @property
    def label(self) -> str:
        if self.collapsed:
            count = len(self.panel_titles)
            return f"+ {self.title} (collapsed, {count} panel{'s' if count != 1 else ''})"
        return f"- {self.title}"


@dataclass(frozen=True)
class PreviewLayout:
    title: str
    width: int
    height: int
    rows: tuple[RowBand, ...]
    panels: tuple[PanelBox, ...]


def _queries(panel: dict[str, Any]) -> tuple[str, ...]:
    lines = []
    for target in panel.get("targets") or []:
        text = target.get("expr") or target.get("query") or ""
        if isinstance(text, str) and text:
            lines.append(f"{target.get('refId', '?')}: {text}")
    return tuple(lines)


def _unit(panel: dict[str, Any]) -> str:
    defaults = (panel.get("fieldConfig") or {}).get("defaults") or {}
    return str(defaults.get("unit") or "")


def _grid(panel: dict[str, Any]) -> tuple[int, int, int, int]:
    pos = panel.get("gridPos") or {}
    x, y, w, h = (int(pos.get(k, 0)) for k in ("x", "y", "w", "h"))
    return x, y, w, h


def layout_of(model: dict[str, Any]) -> PreviewLayout:
    """The preview layout of a compiled (or any modern) dashboard model."""
    rows, panels = [], []
    bottom = 0
    for panel in model.get("panels", []):
        x, y, w, h = _grid(panel)
        if panel.get("type") == "row":
            held = tuple(str(p.get("title", "")) for p in panel.get("panels") or [])
            collapsed = bool(panel.get("collapsed"))
            rows.append(RowBand(str(panel.get("title", "")), collapsed, held if collapsed else (), grid_box(0, y, GRID_COLUMNS, 1)))
            bottom = max(bottom, y + 1)
            continue
        panels.append(PanelBox(str(panel.get("title", "")), str(panel.get("type", "")), _unit(panel), _queries(panel), (x, y, w, h), grid_box(x, y, w, h)))
        bottom = max(bottom, y + h)
    return PreviewLayout(str(model.get("title", "")), WIDTH, TOP + bottom * ROW_PX + MARGIN, tuple(rows), tuple(panels))
