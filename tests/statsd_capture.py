"""Parser for the StatsD captures in tests/fixtures/statsd/ (recorded by scripts/record-airflow-statsd.sh).

File format::

    # airflow 3.3.2                       <- header lines start with '#'
    # recorded 2026-11-28T21:06:05Z
    # prefix airflow
    # command ...
    12.345\tairflow.ti.finish.etl_orders.extract.success:1|c

A StatsD line is ``name:value|type[|@sample_rate][|#tag1:v1,tag2]``; types c, g, ms, h, s.
Gauges may carry a sign (``+3``/``-1``) for relative updates.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

FIXTURE_DIR = Path(__file__).parent / "fixtures" / "statsd"

STATSD_TYPES = frozenset({"c", "g", "ms", "h", "s"})
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class StatsdParseError(ValueError):
    pass


@dataclass(frozen=True)
class Sample:
    t: float                 # seconds since capture start
    name: str                # full bucket name, prefix included
    value: float
    type: str                # c | g | ms | h | s
    rate: float = 1.0
    tags: tuple[str, ...] = ()
    relative: bool = False   # gauge sent as +N / -N


@dataclass
class Capture:
    header: dict[str, str]
    samples: list[Sample] = field(default_factory=list)
    header_lines: list[str] = field(default_factory=list)

    @property
    def version(self) -> str:
        return self.header.get("airflow", "")

    @property
    def prefix(self) -> str:
        return self.header.get("prefix", "")

    def names(self) -> set[str]:
        return {s.name for s in self.samples}

    def unprefixed(self) -> set[str]:
        p = self.prefix + "." if self.prefix else ""
        return {s.name[len(p):] if p and s.name.startswith(p) else s.name for s in self.samples}

    def types_of(self, name: str) -> set[str]:
        return {s.type for s in self.samples if s.name == name}

    @property
    def influxdb_tags(self) -> bool:
        """Recorded with Airflow's statsd_influxdb_enabled: names carry `,k=v` tags."""
        return "InfluxDB-style tags" in self.header.get("statsd", "")

    def plain(self) -> Capture:
        """What Airflow sends without tags: the same names with their `,k=v` tags cut off (Airflow appends the
        tags to the name it would send anyway, see airflow.metrics prepare_stat_with_tags)."""
        samples = [replace(s, name=s.name.split(",", 1)[0]) for s in self.samples]
        return Capture(self.header, samples, self.header_lines)


def influx_tags(name: str) -> dict[str, str]:
    """The InfluxDB-style tags of a bucket name: `a.b,k=v,k2=v2` -> {k: v, k2: v2}."""
    return dict(t.split("=", 1) for t in name.split(",")[1:] if "=" in t)


def parse_statsd_line(line: str, t: float = 0.0) -> Sample:
    """Parse one raw StatsD line; raise StatsdParseError if it is malformed."""
    name, sep, rest = line.partition(":")
    if not sep or not name or not rest:
        raise StatsdParseError(f"no 'name:value': {line!r}")
    if any(c.isspace() for c in name) or "|" in name:
        raise StatsdParseError(f"bad metric name: {line!r}")
    parts = rest.split("|")
    if len(parts) < 2:
        raise StatsdParseError(f"no '|type': {line!r}")
    raw_value, mtype, extras = parts[0], parts[1], parts[2:]
    if mtype not in STATSD_TYPES:
        raise StatsdParseError(f"unknown type {mtype!r}: {line!r}")
    if mtype != "s" and not _NUMBER.match(raw_value):
        raise StatsdParseError(f"non-numeric value: {line!r}")
    rate, tags = 1.0, ()
    for ex in extras:
        if ex.startswith("@"):
            try:
                rate = float(ex[1:])
            except ValueError as e:
                raise StatsdParseError(f"bad sample rate: {line!r}") from e
            if not 0 < rate <= 1:
                raise StatsdParseError(f"sample rate out of range: {line!r}")
        elif ex.startswith("#"):
            tags = tuple(x for x in ex[1:].split(",") if x)
        else:
            raise StatsdParseError(f"unknown field {ex!r}: {line!r}")
    value = float(raw_value) if mtype != "s" else float("nan")
    relative = mtype == "g" and raw_value[:1] in "+-"
    return Sample(t=t, name=name, value=value, type=mtype, rate=rate, tags=tags, relative=relative)


def parse_capture(path: str | Path) -> Capture:
    header: dict[str, str] = {}
    header_lines: list[str] = []
    samples: list[Sample] = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("#"):
                text = line[1:].strip()
                header_lines.append(text)
                key, _, val = text.partition(" ")
                header.setdefault(key, val.strip())
                continue
            ts, tab, raw = line.partition("\t")
            if not tab:
                raise StatsdParseError(f"{path}:{lineno}: no tab separator")
            try:
                t = float(ts)
            except ValueError as e:
                raise StatsdParseError(f"{path}:{lineno}: bad timestamp {ts!r}") from e
            try:
                samples.append(parse_statsd_line(raw, t))
            except StatsdParseError as e:
                raise StatsdParseError(f"{path}:{lineno}: {e}") from e
    return Capture(header=header, samples=samples, header_lines=header_lines)
