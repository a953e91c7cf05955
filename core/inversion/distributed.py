"""The inversion's blocks on a Dask cluster (``dask.distributed``), for stacks beyond one machine.

Dask is optional: it is imported here only, and only when a cluster is asked for; without it
:func:`dask_cluster` raises :class:`~..errors.ClusterError` with the one line to act on. The
unit of work is the single-process run's own block: each task reads one window's rasters
(:func:`~.run.read_block`) and solves it (:func:`~.run.solve_block`) with the windows, chunks,
solve threads and BLAS threads of :func:`~.run.run_inversion` on this machine with the same
budget, so the outputs are identical to that run's. The client writes the blocks as they come
back into the same staging outputs; at most :data:`TASKS_PER_THREAD` tasks per worker thread
are in flight, so finished blocks never pile up on the workers or here.

The stack is sent once to every worker (:meth:`distributed.Client.scatter`): its sources hold
paths and how to decode them, never an open file (:mod:`~..sources`), and a repaired pair
(:class:`~..repairs.RepairedSource`) carries its patches; every worker must see the stack's
files at the same paths (a shared file system, or GDAL's ``/vsis3/``-style paths).
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..blas import blas_thread_count, blas_threads
from ..errors import ClusterError
from ..memory import heap_policy
from ..stack import Stack
from ..stack_types import Window
from .run import (
    InversionCancelledError,
    InversionSetup,
    memory_settings,
    read_block,
    solve_block,
    solve_workers,
    with_reference,
)

logger = logging.getLogger(__name__)

INSTALL_HINT = "install dask[distributed] to use --dask"

#: Share of a worker's memory limit given to the blocks' budget (``--memory-gb`` of the
#: equivalent single-process run). A task holds one block (not two, as the single-process run
#: does while it reads ahead) and its solve, about 3/4 of that budget, plus GDAL's cache (1/10)
#: and the worker process itself (~0.2 GiB): 0.6 keeps the peak under the 80% at which Dask
#: pauses a worker.
WORKER_SHARE = 0.6

#: Tasks in flight per worker thread: one solving, one queued to start at once.
TASKS_PER_THREAD = 2

#: How long to wait for a scheduler and its first worker, seconds.
CONNECT_TIMEOUT_S = 30


def _distributed() -> Any:
    """The ``distributed`` module, or ClusterError saying how to install it."""
    try:
        import distributed
    except ImportError as exc:
        raise ClusterError(f"{INSTALL_HINT} ({exc})") from None
    return distributed


def parse_target(text: str) -> int | str:
    """``--dask``'s value: a number of local worker processes, or a scheduler address.

    Raises
    ------
    ValueError
        Neither a count of at least 1 nor an address such as ``tcp://host:8786``.
    """
    text = text.strip()
    if text.isdigit():
        if int(text) < 1:
            raise ValueError("--dask needs at least 1 worker")
        return int(text)
    if "://" in text and text.split("://", 1)[1]:
        return text
    raise ValueError(f"--dask takes a number of local workers or a scheduler address such as "
                     f"tcp://host:8786, got {text!r}")


@dataclass
class DaskBlocks:
    """A connected Dask client that solves inversion blocks (:class:`~.run.BlockEngine`).

    Attributes
    ----------
    client
        The ``distributed.Client``.
    worker_memory_gb
        Memory of the smallest worker, GiB (its limit, or what the caller said).
    threads_per_worker
        Threads of the worker with the most (each runs a task at once).
    n_workers
        Workers connected when the client was made.
    """

    client: Any
    worker_memory_gb: float
    threads_per_worker: int
    n_workers: int

    @property
    def task_budget_gb(self) -> float:
        """Budget of one task's block, GiB: ``--memory-gb`` of the equivalent single-process
        run (:data:`WORKER_SHARE` of a worker's memory, shared by its threads)."""
        return WORKER_SHARE * self.worker_memory_gb / self.threads_per_worker

    def describe(self) -> str:
        """One line for the user: the scheduler, the workers, their memory and the blocks'
        budget."""
        threads = "thread" if self.threads_per_worker == 1 else "threads"
        return (f"Dask ({self.client.scheduler.address}): {self.n_workers} worker(s) x "
                f"{self.threads_per_worker} {threads}, {self.worker_memory_gb:.3g} GiB each; "
                f"blocks of a {self.task_budget_gb:.3g} GiB budget (the outputs are those of "
                f"'invert --memory-gb {self.task_budget_gb:.3g}' on one machine)")

    def blocks(self, stack: Stack, setup: InversionSetup, windows: list[Window],
               cancelled: Callable[[], bool] | None
               ) -> Generator[tuple[Window, dict[str, np.ndarray]], None, None]:
        """Every window with its outputs, as the workers finish them (see the module)."""
        distributed = _distributed()
        client = self.client
        # Everything a task needs beyond its window is decided here, once: the reference
        # values (read by a worker, which sees the files as the tasks do), the solve threads
        # (they set the chunks: this machine's count, so the chunks are this machine's), the
        # GDAL cache and the allocator setting of run_inversion.
        threads = solve_workers(setup.options.memory_gb)
        # One solve thread uses the BLAS library's own threads, whose number can change the
        # last bit of a product (measured: 1 of 21 million values on the 80-date bench
        # stack); workers start with one (Dask's nannies set OPENBLAS_NUM_THREADS=1).
        blas = blas_thread_count() if threads == 1 else None
        cache_bytes, return_freed = memory_settings(stack, setup)
        pending: dict[Any, Window] = {}
        try:
            stack_future = client.scatter(stack, broadcast=True, hash=False)
            if setup.reference_values is None:
                setup = client.submit(with_reference, stack_future, setup, pure=False).result()
            setup_future = client.scatter(setup, broadcast=True, hash=False)
            run_id = uuid.uuid4().hex[:8]
            todo: Iterator[Window] = iter(windows)
            limit = max(2, TASKS_PER_THREAD * self.n_workers * self.threads_per_worker)
            finished = distributed.as_completed()

            def submit_next() -> None:
                window = next(todo, None)
                if window is None:
                    return
                future = client.submit(_solve_window, stack_future, setup_future, window,
                                       threads, blas, cache_bytes, return_freed,
                                       key=f"sbas-invert-{run_id}-{window.row}", pure=False)
                pending[future] = window
                finished.add(future)

            for _ in range(limit):
                submit_next()
            for future in finished:
                window = pending.pop(future)
                block = future.result()  # the worker's exception, if any, is raised here
                future.release()
                if cancelled is not None and cancelled():
                    raise InversionCancelledError
                submit_next()
                yield window, block
        except distributed.KilledWorker as exc:
            raise ClusterError(f"Dask workers kept dying on a block ({exc}); give each worker "
                               "more memory (--worker-memory-gb) or check its log") from None
        except (OSError, TimeoutError) as exc:  # the scheduler or a worker went away
            raise ClusterError(f"the Dask cluster failed ({type(exc).__name__}: "
                               f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                               ")") from exc
        finally:
            if pending:
                client.cancel(list(pending))


def _solve_window(stack: Stack, setup: InversionSetup, window: Window, threads: int,
                  blas: int | None, cache_bytes: int, return_freed: bool
                  ) -> dict[str, np.ndarray]:
    """One task, on a worker: the window's outputs as :func:`~.run.invert_block` gives them,
    with the client's solve threads and BLAS threads (``blas``; None: as the worker has
    them) and the same memory settings as the client's run."""
    from osgeo import gdal

    if gdal.GetCacheMax() > cache_bytes:  # GDAL's cache (5% of RAM by default) is budget too
        gdal.SetCacheMax(cache_bytes)
    with heap_policy(return_freed):
        phase, weights = read_block(stack, setup, window)
        with blas_threads(blas) if blas else nullcontext():
            return solve_block(setup, window, phase, weights, workers=threads)


@contextmanager
def dask_cluster(target: int | str, *, memory_gb: float,
                 worker_memory_gb: float | None = None) -> Iterator[DaskBlocks]:
    """A Dask client for the inversion: a local cluster of ``target`` worker processes (one
    thread each), or the scheduler at address ``target``; closed on exit.

    Parameters
    ----------
    target
        Number of local workers, or a scheduler address (``tcp://host:8786``).
    memory_gb
        Local cluster: the memory shared by its workers, GiB (each gets ``memory_gb /
        target``); an existing cluster whose workers have no memory limit: each worker's.
    worker_memory_gb
        Each worker's memory, GiB, instead of the above (a local cluster's limit; for an
        existing cluster, what the blocks are sized for).

    Raises
    ------
    ClusterError
        dask.distributed is not installed, or the scheduler cannot be reached.
    """
    distributed = _distributed()
    cluster = None
    try:
        if isinstance(target, int):
            per_worker = worker_memory_gb or memory_gb / target
            cluster = distributed.LocalCluster(
                n_workers=target, threads_per_worker=1, processes=True,
                memory_limit=int(per_worker * 1024**3), dashboard_address=":0",
                silence_logs=logging.ERROR)
            client = distributed.Client(cluster, timeout=CONNECT_TIMEOUT_S)
        else:
            client = distributed.Client(target, timeout=CONNECT_TIMEOUT_S)
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        where = f"a local cluster of {target}" if isinstance(target, int) else target
        raise ClusterError(f"cannot start or reach the Dask scheduler ({where}): "
                           f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}"
                           ) from exc
    try:
        workers = client.scheduler_info()["workers"].values()
        limits = [w.get("memory_limit") or 0 for w in workers]
        if worker_memory_gb is None:
            worker_memory_gb = (min(limits) / 1024**3 if limits and min(limits) > 0
                                else memory_gb)
        engine = DaskBlocks(client=client, worker_memory_gb=float(worker_memory_gb),
                            threads_per_worker=max(int(w.get("nthreads", 1)) for w in workers),
                            n_workers=len(workers))
        if not math.isfinite(engine.task_budget_gb) or engine.task_budget_gb <= 0:
            raise ValueError(f"worker memory {worker_memory_gb!r} GiB is not usable")
        logger.info("%s", engine.describe())
        yield engine
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
