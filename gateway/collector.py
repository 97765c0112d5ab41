"""Python's garbage collector in a serving process: the start-up heap frozen, fewer collections.

A worker holds a large, permanent heap once it is built (the GraphQL schema, SQLAlchemy's tables
and compiled statements, the time zones' transitions) and CPython's full collection walks all of
it: 100-275 ms with the event loop stopped, several times a minute under a stream of live
subscriptions, which was the whole tail of their latency. Two standard remedies:

- `gc.freeze()` once the app is built moves everything alive into a permanent generation that no
  collection walks again (the objects live as long as the process anyway);
- a higher first-generation threshold: results, pictures and requests live for tens of
  milliseconds; with collections 700 allocations apart many were still alive at one, were
  promoted, and later made the full collections both frequent and long. At 10,000 most die
  young and are freed by their reference counts alone.

Only `serve`'s processes do this (`gateway.serving`): a test process that builds many apps must
not freeze one test's garbage forever.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000
"""Allocations (net of frees) of container objects between two first-generation collections."""


def tune_for_serving() -> None:
    """Freeze what is alive now and collect the young generation less often (see above)."""
    gc.collect()  # garbage of the start-up is freed, not frozen
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
