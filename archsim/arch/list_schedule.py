"""A list scheduler for a task graph on resources with several identical copies: the latency of
a heterogeneous design whose engines (and links) work concurrently.

Each task has a resource, a duration and predecessors. A task is *ready* when all predecessors
have ended; it starts on the copy of its resource that frees first, no earlier than it is ready.
Among the tasks that could start at the same moment on one resource, the lowest priority number
(the trace order) goes first. The scheduler always commits the task with the earliest possible
start over all resources, so independent branches on different resources (or on different
copies of one) overlap, and one copy never runs two tasks at once. Tasks are not preempted.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    id: str
    resource: str
    duration: float
    preds: tuple[str, ...] = ()
    priority: int = 0


def list_schedule(tasks: list[Task], copies: dict[str, int]) -> dict[str, tuple[float, float]]:
    """task id -> (start, end). ``copies``: resource -> number of identical copies (>= 1)."""
    by_id = {t.id: t for t in tasks}
    if len(by_id) != len(tasks):
        raise ValueError("duplicate task ids")
    succs: dict[str, list[str]] = {t.id: [] for t in tasks}
    waiting = {t.id: len(dict.fromkeys(t.preds)) for t in tasks}
    for t in tasks:
        for p in dict.fromkeys(t.preds):   # in order: the schedule must not depend on hashing
            if p not in by_id:
                raise ValueError(f"task {t.id}: unknown predecessor {p}")
            succs[p].append(t.id)
    for t in tasks:
        if t.resource not in copies or copies[t.resource] < 1:
            raise ValueError(f"task {t.id}: resource {t.resource!r} has no copies")
    free = {r: [0.0] * n for r, n in copies.items()}                 # heaps of copy free times
    ready_at: dict[str, float] = {t.id: 0.0 for t in tasks}
    pending: dict[str, list[str]] = {r: [] for r in copies}         # ready tasks per resource
    for t in tasks:
        if waiting[t.id] == 0:
            pending[t.resource].append(t.id)

    out: dict[str, tuple[float, float]] = {}
    while len(out) < len(tasks):
        best = None
        for r, ids in pending.items():
            if not ids:
                continue
            start = max(free[r][0], min(ready_at[i] for i in ids))
            tid = min((i for i in ids if ready_at[i] <= start), key=lambda i: (by_id[i].priority, i))
            key = (start, by_id[tid].priority)
            if best is None or key < best[0]:
                best = (key, r, tid)
        if best is None:
            raise ValueError("the task graph has a cycle")
        (start, _), r, tid = best
        pending[r].remove(tid)
        end = start + by_id[tid].duration
        heapq.heapreplace(free[r], end)
        out[tid] = (start, end)
        for s in succs[tid]:
            ready_at[s] = max(ready_at[s], end)
            waiting[s] -= 1
            if waiting[s] == 0:
                pending[by_id[s].resource].append(s)
    return out
