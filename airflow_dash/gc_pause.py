"""The cyclic garbage collector paused for work that makes (almost) no cyclic garbage.

Compile builds only acyclic JSON (tests/test_compile_scaling.py proves it leaves no cyclic garbage), and a
build is imports, compile and a few files, yet the collector would walk every object made so far again and
again: with it, compiling 5,000 dashboards cost 1.2x per dashboard what 100 did, and a cold build of the
bundled dashboards spent some 20-40 ms in about 50 collections. Reference counting still frees everything;
the collector resumes afterwards (and finds the few cycles made meanwhile: a few thousand objects on a
first build, most of them from imports).

What was made meanwhile is handed to the oldest generation on the way out: left in the youngest, all of it
would be walked by the first allocation after resuming (~8 ms after a cold build) although nearly all of it is
long-lived or freed by reference counting; the next full collection looks at it instead.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic collection inside; resumed on the way out unless the caller had paused it already."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            _age_young_objects()
            gc.enable()


def _age_young_objects() -> None:
    """Move every tracked object to the oldest generation without a collection (freeze, then unfreeze, moves
    the permanent generation into the oldest). Not when something else froze objects: those stay frozen."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
