"""Independent fits in forked worker processes: the bootstrap's refits and
the response fit's starts.

The work is a closure over the calibration's arrays (not picklable), so it
is handed to the workers by forking after it is set, and only indices and
results cross between processes. Where ``fork`` is not available, or one
job is asked for, the work runs here, in order; the results are the same.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

# the work of the pool being forked: set before the fork, read in the workers
_WORK: list[Callable[[int], Any]] = []


def forked_map(work: Callable[[int], Any], count: int, jobs: int) -> list[Any]:
    """``[work(0), ..., work(count - 1)]``, over up to ``jobs`` processes."""
    jobs = min(jobs, count)
    if jobs <= 1 or _WORK or "fork" not in multiprocessing.get_all_start_methods():
        return [work(index) for index in range(count)]
    _WORK.append(work)
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            return list(pool.map(_run, range(count)))
    finally:
        _WORK.clear()


def _run(index: int) -> Any:
    return _WORK[0](index)
