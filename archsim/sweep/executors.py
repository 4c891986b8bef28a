"""Where sweep batches run: this process (``--jobs 1``), a local process pool, or a Dask cluster.

Each executor is a context manager with one method, ``imap(fn, batches, warm=...)``, that yields
the result of each batch as it completes (in any order). Leaving the context early (Ctrl-C, an
error) cancels what has not started and stops the workers.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any, Callable, Iterable, Iterator

from archsim.errors import ArchsimError
from archsim.sweep.worker import missing_files


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _watch_parent(parent_pid: int) -> None:
    """Pool workers ignore Ctrl-C (the sweep process stops them) and exit on their own when the
    sweep process is gone (e.g. after a SIGKILL), so that no orphan keeps running."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="archsim-parent-watch").start()


class LocalExecutor:
    """``jobs == 1``: run batches here, one after another. Otherwise a process pool (fork on
    Linux: workers start at once with archsim already imported)."""

    batching = (8, 64)      # batches per worker, most runs per batch (see runner.auto_batch)

    def __init__(self, jobs: int | None = None):
        self.jobs = jobs or default_jobs()
        self._pool = None
        self.workers = self.jobs

    def __enter__(self) -> "LocalExecutor":
        return self

    def imap(self, fn: Callable, batches: Iterable[Any], warm: Callable | None = None) -> Iterator[Any]:
        batches = list(batches)
        if self.jobs == 1 or len(batches) <= 1:
            if warm is not None:
                warm()
            for b in batches:
                yield fn(b)
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        if warm is not None:
            warm()   # in the parent before forking: the children inherit the imports
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        self._pool = ProcessPoolExecutor(max_workers=min(self.jobs, len(batches)),
                                         mp_context=multiprocessing.get_context(method),
                                         initializer=_watch_parent, initargs=(os.getpid(),))
        futures = [self._pool.submit(fn, b) for b in batches]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        except BrokenProcessPool as exc:
            raise ArchsimError(f"a sweep worker process died ({exc}); the finished points are saved, "
                               "rerun the same command to go on") from None

    def __exit__(self, *exc) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if exc[0] is None:
            pool.shutdown(wait=True)
            return
        # stopped early: drop queued batches and stop the running ones now. Python 3.11 has no
        # public call for the last part (3.14 adds terminate_workers()).
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            if p.is_alive():
                p.terminate()
        for p in processes:
            p.join(timeout=5)


class DaskExecutor:
    """Batches as tasks on a Dask distributed cluster: the scheduler at ``scheduler``
    (``tcp://host:8786``), or a LocalCluster of ``jobs`` single-threaded worker processes
    started here when no address is given. Workers need archsim installed and the sweep's
    hardware and trace files at the same paths (a shared file system)."""

    batching = (4, 256)     # a Dask task costs milliseconds of scheduling: fewer, larger batches

    def __init__(self, scheduler: str | None = None, jobs: int | None = None, client=None,
                 files: list[str] | None = None):
        self.scheduler, self.jobs = scheduler, jobs
        self.client, self._own_client = client, client is None
        self.cluster = None
        self.files = files or []
        self._futures: list = []
        self.workers = 0

    def __enter__(self) -> "DaskExecutor":
        try:
            import distributed
        except ImportError:
            raise ArchsimError("the Dask executor needs dask.distributed: pip install 'archsim[dask]'") from None
        import logging

        if self.client is None:
            if self.scheduler:
                try:
                    self.client = distributed.Client(self.scheduler, timeout="30s")
                except (OSError, TimeoutError) as exc:
                    raise ArchsimError(f"cannot reach the Dask scheduler at {self.scheduler}: {exc}") from None
            else:
                self.cluster = distributed.LocalCluster(
                    n_workers=self.jobs or default_jobs(), threads_per_worker=1, processes=True,
                    dashboard_address=None, silence_logs=logging.ERROR)
                self.client = distributed.Client(self.cluster)
        self.workers = len(self.client.scheduler_info().get("workers", {})) or 1
        if self.files:
            missing = {w: m for w, m in self.client.run(missing_files, self.files).items() if m}
            if missing:
                worker, paths = next(iter(missing.items()))
                raise ArchsimError(f"Dask worker {worker} cannot see {paths[0]}: the workers need the hardware "
                                   "and trace files at the same paths as here (a shared file system)")
        return self

    def imap(self, fn: Callable, batches: Iterable[Any], warm: Callable | None = None) -> Iterator[Any]:
        from distributed import as_completed

        if warm is not None:
            self.client.run(warm)
        self._futures = self.client.map(fn, list(batches), pure=False)
        for _, result in as_completed(self._futures, with_results=True):
            yield result

    def __exit__(self, *exc) -> None:
        if self._futures and self.client is not None:
            try:
                self.client.cancel(self._futures)
            except Exception:   # noqa: BLE001 - best effort while shutting down
                pass
        self._futures = []
        if self._own_client and self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None
