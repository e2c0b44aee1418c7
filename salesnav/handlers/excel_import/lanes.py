"""Writing a large part of an import as chunks of different customers at once, each in its own transaction.

One chunk's transaction keeps its connection's database process busy with checks, indexes and triggers
while this process builds the next rows, and idle while it builds them: two chunks side by side keep both
busy (bench/excel_import.py). Chunks never share a customer, so no two transactions write the same
customer, contact or deal, and a customer's rows stay in the order of the file. Each chunk publishes what
it wrote (the import's progress, ids, notes) in turn, lane 0 first, so that the import's lists come out in
the same order however the chunks' work interleaves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor


def lanes_of(positions: list[int], customer_of: Callable[[int], Hashable], lanes: int) -> list[list[int]]:
    """`positions` (rows of the plan) in at most `lanes` lanes of about the same size: every row of one
    customer in the same lane, each lane in the order of the file. The same rows give the same lanes."""
    if lanes <= 1:
        return [positions]
    by_customer: dict[Hashable, list[int]] = {}
    for position in positions:
        by_customer.setdefault(customer_of(position), []).append(position)
    out: list[list[int]] = [[] for _ in range(lanes)]
    for rows in by_customer.values():  # customers in the order they first appear, each to the lightest lane
        min(out, key=len).extend(rows)
    return [sorted(lane) for lane in out if lane]


TURN_WAIT_S = 600.0  # how long a lane waits for the lanes before it to publish (see Turns.wait)


class Turns:
    """Lane k waits (`wait`) until every lane before it has finished (`done`), published or failed."""

    def __init__(self) -> None:
        self._next = 0
        self._changed = threading.Condition()
        self._finished: set[int] = set()

    def wait(self, lane: int, timeout: float = TURN_WAIT_S) -> None:
        """Raises TimeoutError after `timeout` seconds. A lane waits with its transaction open: should a lane
        before it ever wait on a row this one holds (they share no customer, so none is known), this one gives
        up and rolls back, rather than both waiting for ever."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._next >= lane, timeout):
                raise TimeoutError(f"lane {lane} waited {timeout:.0f} s for the lanes before it")

    def done(self, lane: int) -> None:
        with self._changed:
            self._finished.add(lane)
            while self._next in self._finished:
                self._next += 1
            self._changed.notify_all()


def run_lanes(lanes: list[list[int]], work: Callable[[int, list[int], Turns], None], *, together: bool) -> None:
    """`work(k, lane, turns)` for each lane: at once on threads of their own (`together`, each with its own
    database connection), else one after the other. Every lane runs to its end; then the first lane's
    error, if any, is raised (a lane that failed wrote nothing; the others' work stands)."""
    turns = Turns()
    if not together or len(lanes) < 2:
        failed: list[Exception] = []
        for k, lane in enumerate(lanes):
            try:
                work(k, lane, turns)
            except Exception as error:  # the next lanes run all the same, as they would side by side
                failed.append(error)
        if failed:
            raise failed[0]
        return
    with ThreadPoolExecutor(max_workers=len(lanes), thread_name_prefix="excel-import-lane") as pool:
        futures = [pool.submit(work, k, lane, turns) for k, lane in enumerate(lanes)]
    for future in futures:
        future.result()
