"""Where chunks of work run: in this process, on local processes, or on a Dask cluster.

Every run is a list of independent tasks (chunks of replications, or scenario points) whose
results depend only on their arguments. ``completed`` runs them where asked and yields each
result as it arrives, with the task's index, so callers can merge results as they come and
keep memory bounded. Because a task's result does not depend on where or when it ran, a lost
Dask worker's tasks are simply computed again elsewhere, with the same numbers.

A task may say how far it has got (``task_progress``), and ``gather`` reports the finished
tasks plus the parts of the running ones, so that a progress bar moves within long chunks
too: in this process directly, from local processes through a shared array, from Dask
workers as events of a topic the client subscribes to (both read every ``POLL_SECONDS``, in
the caller's thread).

Interrupting the caller (Ctrl-C) cancels what has not finished: local processes are shut down,
and futures on a Dask cluster are cancelled, so nothing is left running for a run that will
not be stored. A caller killed outright (SIGKILL) runs no clean-up: its local worker
processes end with it by themselves (``die_with_parent``), and the workers of a local Dask
cluster it started do so already (their nannies live in the caller; both are tested).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distributed import Client

SCHEDULER_ENVIRONMENT = "FIELDCAST_SCHEDULER"

Progress = Callable[[float, int], None]  # (tasks done, with parts of running ones; tasks)
POLL_SECONDS = 0.5  # how often the parts of tasks running elsewhere (processes, Dask) are read
# At most one progress event a Dask task sends in this time: each wakes the worker's event
# loop and goes through the scheduler to the client, on the cores the workers use, and the
# client reads them only every POLL_SECONDS. A 25,000-replication chunk of seed-2019 sent
# 32 (one a part): up to 4% slower than sending none in one run of benchmarks/dask_chunks.py,
# within the machine's swing in others (docs/performance.md).
EVENT_SECONDS = POLL_SECONDS / 2


def _ignore(fraction: float) -> None:
    """Where a task's progress goes when nobody reads it."""


# Where ``task_progress`` sends the progress of the task running in this thread: set by
# ``completed`` (tasks in this process), by a local worker's initializer (its slot in a
# shared array) or around a task on a Dask worker (an event). Per thread, since a Dask worker
# may run several tasks at once; and not an argument, since a task is a plain function that
# cannot be handed a callback across processes.
_current = threading.local()


def task_progress(fraction: float) -> None:
    """Called by a running task: it is ``fraction`` (0 to 1) done."""
    getattr(_current, "report", _ignore)(fraction)


def _reporting(function: Callable[..., Any], *task: Any) -> Any:
    """Run a task on a local process; its progress returns to 0 when it ends, so the caller,
    who counts the task as done once it has ended, never counts it twice."""
    try:
        return function(*task)
    finally:
        task_progress(0.0)


def _reporting_on_dask(topic: str, index: int, function: Callable[..., Any], *task: Any) -> Any:
    """Run a task on a Dask worker, its progress sent as events ``(index, fraction)``, at
    most one every ``EVENT_SECONDS``."""
    from distributed import get_worker

    worker = get_worker()
    last_sent = -float("inf")

    def report(fraction: float) -> None:
        nonlocal last_sent
        now = time.monotonic()
        if now - last_sent >= EVENT_SECONDS:
            last_sent = now
            worker.log_event(topic, (index, fraction))

    _current.report = report
    try:
        return function(*task)
    finally:
        _current.report = _ignore


# Settings for the workers of the local clusters fieldcast starts (measured: a chunk of
# seed-2019 took 2.1 s in a default worker and 1.3 s in this process):
LOCAL_WORKER_CONFIG = {
    # Dask asks glibc to hand freed memory back eagerly; the engine's many short-lived arrays
    # then fault their pages in again and again.
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 1 << 30,
    # The statistical profiler samples each task's stack every 10 ms; fieldcast has no use
    # for it.
    "distributed.worker.profile.enabled": False,
}


def completed(
    function: Callable[..., Any],
    tasks: Sequence[tuple[Any, ...]],
    processes: int = 1,
    client: Client | None = None,
    running: Callable[[float], None] = _ignore,
) -> Iterator[tuple[int, Any]]:
    """Run ``function(*task)`` for every task; yield ``(task index, result)`` as each ends.
    ``running(parts)`` hears, while tasks run here or on local processes, how much of the
    running tasks is done (in tasks)."""
    if client is not None:
        yield from _on_dask(function, tasks, client, running)
    elif processes == 1:
        _current.report = running
        try:
            for index, task in enumerate(tasks):
                yield index, function(*task)
        finally:
            _current.report = _ignore
    else:
        yield from _on_processes(function, tasks, processes, running)


def gather(
    function: Callable[..., Any],
    tasks: Sequence[tuple[Any, ...]],
    receive: Callable[[int, Any], None],
    processes: int = 1,
    client: Client | None = None,
    progress: Progress | None = None,
) -> None:
    """Run the tasks as ``completed`` does, hand each result to ``receive(index, result)`` as it
    arrives, and report progress: after each task, and within running tasks as they say."""
    bar = _Bar(progress or _ignore_progress, len(tasks))
    for index, result in completed(function, tasks, processes, client, bar.running):
        receive(index, result)
        bar.finished()


class _Bar:
    """Progress as shown: the finished tasks plus the parts of the running ones, never
    backwards (a task's part is dropped a moment before it counts as done)."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress, self.total = progress, total
        self.done, self.shown = 0, 0.0
        progress(0, total)

    def running(self, parts: float) -> None:
        self._show(self.done + parts)

    def finished(self) -> None:
        self.done += 1
        self._show(self.done)

    def _show(self, value: float) -> None:
        if value > self.shown:
            self.shown = value
            self.progress(value, self.total)


def _ignore_progress(done: float, total: int) -> None:
    """Progress nobody shows."""


def die_with_parent(parent: int) -> None:
    """Make this process end when its parent does, however the parent ends (even by
    SIGKILL, which runs no clean-up): the kernel sends it SIGKILL then (Linux's
    PR_SET_PDEATHSIG; elsewhere only a normal exit of the parent ends the workers). A parent
    that died before this call is caught by its pid. A few lines of ctypes: no library
    offers this."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _start_worker(parent: int, parts: Any, slots: Any) -> None:
    """A local worker process: it ends with its parent, and reports the progress of its
    tasks into its own slot of the shared ``parts``."""
    die_with_parent(parent)
    with slots.get_lock():
        slot = slots.value % len(parts)  # a replaced worker takes a slot over
        slots.value += 1
    _current.report = lambda fraction: parts.__setitem__(slot, fraction)


# The local pools kept by ``local_processes_kept`` in this thread, by their number of
# processes; None outside it (each ``gather`` then starts and stops its own).
_kept = threading.local()


@contextmanager
def local_processes_kept() -> Iterator[None]:
    """Within this block, the local processes a ``gather`` starts stay for the next one of
    as many: a command that gathers many times (a requirement's levels, a filter's days)
    starts them once. Starting them costs a fifth to a third of a second each time on two
    cores, and was 18 of the 51 s that a tracked forecast of seed-2019 on two processes took
    more than in one (docs/performance.md, "A tracked forecast on local processes"). They
    end with the block, or with the ``gather`` that an error or Ctrl-C ends."""
    if getattr(_kept, "pools", None) is not None:  # an outer block keeps them already
        yield
        return
    _kept.pools = {}
    try:
        yield
    finally:
        pools, _kept.pools = _kept.pools, None
        for pool, _ in pools.values():
            pool.shutdown(wait=True, cancel_futures=True)


def _local_pool(processes: int) -> tuple[ProcessPoolExecutor, Any]:
    """A pool of local worker processes, and the shared array of their tasks' parts done
    (one slot per worker)."""
    import multiprocessing

    parts = multiprocessing.Array("d", processes, lock=False)
    slots = multiprocessing.Value("i", 0)
    pool = ProcessPoolExecutor(
        max_workers=processes,
        initializer=_start_worker,
        initargs=(os.getpid(), parts, slots),
    )
    return pool, parts


def _on_processes(
    function: Callable[..., Any],
    tasks: Sequence[tuple[Any, ...]],
    processes: int,
    running: Callable[[float], None],
) -> Iterator[tuple[int, Any]]:
    kept = getattr(_kept, "pools", None)
    if kept is not None and processes in kept:
        pool, parts = kept[processes]
    else:
        pool, parts = _local_pool(processes)
        if kept is not None:
            kept[processes] = (pool, parts)
    finished = False
    try:
        futures = {
            pool.submit(_reporting, function, *task): index for index, task in enumerate(tasks)
        }
        while futures:
            ended, _ = wait(futures, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in ended:
                yield futures.pop(future), future.result()
            running(sum(parts))
        finished = True
    finally:
        if kept is None or not finished:  # not kept, or its work cut short: it ends here
            if kept is not None:
                kept.pop(processes, None)
            pool.shutdown(wait=True, cancel_futures=True)


def _on_dask(
    function: Callable[..., Any],
    tasks: Sequence[tuple[Any, ...]],
    client: Client,
    running: Callable[[float], None],
) -> Iterator[tuple[int, Any]]:
    from distributed import wait as dask_wait

    topic = f"fieldcast-progress-{uuid.uuid4().hex}"
    parts: dict[int, float] = {}  # index -> part done, of the tasks still running
    ended: set[int] = set()
    lock = threading.Lock()

    def heard(event: tuple[float, tuple[int, float]]) -> None:
        """A worker's event, in the client's thread: noted here, reported by the caller's
        thread (a progress callback may raise, and must do so where the run is)."""
        index, fraction = event[1]
        with lock:
            if index not in ended:  # a task's last event may arrive after its result
                parts[index] = fraction

    client.subscribe_topic(topic, heard)
    futures = {
        client.submit(_reporting_on_dask, topic, i, function, *task, pure=False): i
        for i, task in enumerate(tasks)
    }
    try:
        while futures:
            with suppress(TimeoutError):
                dask_wait(list(futures), timeout=POLL_SECONDS, return_when="FIRST_COMPLETED")
            for future in [future for future in futures if future.done()]:
                result = future.result()
                index = futures.pop(future)
                future.release()  # the result is merged here: the cluster need not keep it
                with lock:
                    ended.add(index)
                    parts.pop(index, None)
                yield index, result
            with lock:
                running(sum(parts.values()))
    finally:
        client.unsubscribe_topic(topic)
        if futures:  # interrupted or failed: cancel what is still queued or running
            client.cancel(list(futures))


@contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator[Client | None]:
    """A Dask client for ``--workers N`` (a local cluster of N processes, started and stopped
    here) or ``--scheduler ADDRESS`` / ``FIELDCAST_SCHEDULER`` (an existing cluster); ``None``
    when neither is asked for. The environment is a default: ``workers`` given wins over it."""
    if workers is not None and scheduler is not None:
        raise ValueError(
            "--workers: give --workers (a local Dask cluster) or --scheduler (an existing one)"
        )
    if workers is None:
        scheduler = scheduler or os.environ.get(SCHEDULER_ENVIRONMENT) or None
    if workers is None and scheduler is None:
        yield None
        return
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler, timeout="30s") as client:
            yield client
        return
    with (
        dask.config.set(LOCAL_WORKER_CONFIG),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
