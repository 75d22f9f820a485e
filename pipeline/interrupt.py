"""Ctrl-C and SIGTERM: stop within seconds, finish writing what is being written, and leave no process behind."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator

import psutil


class Stop:
    """While installed, SIGINT and SIGTERM raise KeyboardInterrupt in the main thread, except inside `shielded()`,
    where one arriving is held until the block ends (so a file being published is finished, never cut)."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._shielded = False
        self._held = False
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        self.signal = signum
        if self._shielded:
            self._held = True
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self) -> Iterator[Stop]:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        try:
            yield self
        finally:
            for sig, handler in self._previous.items():
                signal.signal(sig, handler)

    @contextlib.contextmanager
    def shielded(self) -> Iterator[None]:
        self._shielded, self._held = True, False
        try:
            yield
        finally:
            self._shielded = False
        if self._held:
            raise KeyboardInterrupt

    @property
    def name(self) -> str:
        return signal.Signals(self.signal).name if self.signal else "interrupt"


def descendants(but: frozenset[int] = frozenset()) -> list[psutil.Process]:
    """Every process this one started, directly or not (Dask workers, notebook kernels), but for those whose ids
    are in `but` (processes that were there before a run) and multiprocessing's resource tracker, which ends with
    this process."""
    return [p for p in psutil.Process().children(recursive=True) if p.pid not in but and not _is_resource_tracker(p)]


def running_now() -> frozenset[int]:
    """The ids of this process's descendants now: what a run that starts next must leave alone when it ends."""
    return frozenset(p.pid for p in descendants())


def _is_resource_tracker(process: psutil.Process) -> bool:
    return _runs(process, "multiprocessing.resource_tracker")


def is_kernel(process: psutil.Process) -> bool:
    """Whether the process is a notebook's Jupyter kernel."""
    return _runs(process, "ipykernel_launcher")


def _runs(process: psutil.Process, module: str) -> bool:
    try:
        return module in " ".join(process.cmdline())
    except psutil.Error:
        return False


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Processes started in this block ignore SIGINT and SIGTERM for good (the disposition survives exec, and Python
    keeps it): Dask's workers then leave a Ctrl-C or SIGTERM sent to the whole process group to this process,
    which stops them in order."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def end(processes: list[psutil.Process], grace: float = 3.0) -> None:
    """Terminate the processes still alive, then kill those that outlive `grace` seconds."""
    alive = [p for p in processes if p.is_running()]
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    _, left = psutil.wait_procs(alive, timeout=grace)
    for p in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(left, timeout=grace)


class Gate:
    """Lets this process's notebook runs start until it is closed (on Ctrl-C or SIGTERM), and counts those inside:
    `close` ends their kernels until every run has left, a kernel that was starting as it closed included."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open, self._inside = True, 0

    def open(self) -> None:
        with self._lock:
            self._open = True

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        with self._lock:
            if not self._open:
                raise RuntimeError("the run is stopping: this notebook was not started")
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            self._open = False
        deadline = time.monotonic() + timeout
        while True:
            end([p for p in descendants() if is_kernel(p)], grace=1.0)
            with self._lock:
                if not self._inside or time.monotonic() > deadline:
                    return
            time.sleep(0.2)


NOTEBOOKS = Gate()
