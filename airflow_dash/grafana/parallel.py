"""How publish and diff run many Grafana requests at once: `each`, the one place that decides it (threads
taking the next item themselves, an error or an interrupt stopping them, results in order)."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def each(function: Callable[[T], R], items: Sequence[T], concurrency: int,
         stop: threading.Event | None = None, threads: bool = False) -> list[R]:
    """`function(item)` for every item, on up to `concurrency` threads (in this thread for 1, unless
    `threads`), results in the order of `items`. Each worker takes the next item itself: no future, no wake-up of this thread per item.
    An exception in `function` stops every worker from taking more and is raised here; so does `stop`
    being set (set too when this thread is interrupted: items not yet taken are dropped, running ones finish)."""
    results: list[Any] = [None] * len(items)
    if not items:
        return results
    if not threads and (concurrency <= 1 or len(items) <= 1):
        for index, item in enumerate(items):
            if stop is not None and stop.is_set():
                break
            results[index] = function(item)
        return results
    stop = stop or threading.Event()
    positions = iter(range(len(items)))
    take = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        while not stop.is_set():
            with take:
                index = next(positions, None)
            if index is None:
                return
            try:
                results[index] = function(items[index])
            except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
                errors.append(exc)
                stop.set()
                return

    workers = max(1, min(concurrency, len(items)))
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        for future in [pool.submit(worker) for _ in range(workers)]:
            future.result()
    finally:
        if sys.exc_info()[0] is not None:  # interrupted (a second Ctrl-C): take nothing more
            stop.set()
        pool.shutdown(wait=True)
    if errors:
        raise errors[0]
    return results
