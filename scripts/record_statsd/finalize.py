#!/usr/bin/env python3
"""Copy a raw recorder capture into a fixture, thinning it only if it is too large.

    finalize.py RAW OUT [--max-bytes 3000000]

If RAW fits, it is copied unchanged. Otherwise, for every (metric name, type) that occurs
more than K times, only K rows are kept, spread evenly over the capture (first and last
occurrence always kept; original timestamps untouched), with K the largest value that fits.
A '# thinned ...' header line then states K and how many rows were dropped, so a reader
knows that per-series rates of the thinned series are undercounted by the stated factor.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from collections import defaultdict


def _key(row: str) -> tuple[str, str]:
    line = row.split("\t", 1)[1].rstrip("\n")
    name, _, rest = line.partition(":")
    parts = rest.split("|")
    return name, parts[1] if len(parts) > 1 else ""


def thin(header: list[str], rows: list[str], max_bytes: int) -> tuple[list[str], str | None]:
    by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_key[_key(r)].append(i)

    def select(k: int) -> list[int]:
        keep: list[int] = []
        for idx in by_key.values():
            if len(idx) <= k:
                keep.extend(idx)
            else:
                step = (len(idx) - 1) / (k - 1) if k > 1 else 0
                keep.extend(idx[round(j * step)] for j in range(k)) if k > 1 else keep.append(idx[0])
        return sorted(set(keep))

    hsize = sum(len(h) for h in header) + 200
    lo, hi = 1, max(len(v) for v in by_key.values())
    best = 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if hsize + sum(len(rows[i]) for i in select(mid)) <= max_bytes:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    kept = select(best)
    thinned = sum(1 for v in by_key.values() if len(v) > best)
    note = (f"# thinned: each (name, type) kept at most {best} rows evenly spread over the capture; "
            f"{len(rows) - len(kept)} of {len(rows)} rows dropped from {thinned} series; timestamps are original\n")
    return [rows[i] for i in kept], note


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("raw")
    p.add_argument("out")
    p.add_argument("--max-bytes", type=int, default=3_000_000)
    a = p.parse_args(argv)
    with open(a.raw, encoding="utf-8") as f:
        lines = f.readlines()
    if sum(len(l) for l in lines) <= a.max_bytes:
        shutil.copyfile(a.raw, a.out)
        return 0
    header = [l for l in lines if l.startswith("#")]
    rows = [l for l in lines if not l.startswith("#") and "\t" in l]
    kept, note = thin(header, rows, a.max_bytes)
    with open(a.out, "w", encoding="utf-8") as f:
        f.writelines(header)
        if note:
            f.write(note)
        f.writelines(kept)
    return 0


if __name__ == "__main__":
    sys.exit(main())
