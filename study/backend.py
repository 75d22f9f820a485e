"""Keras on the backend a run asks for (TensorFlow, JAX or PyTorch): the one module that knows the backends.

`use(name, threads)` selects the backend before Keras is imported, then sets its threads and quiets its start-up
logs; `seed_everything`, `devices` and `hardware` do what each backend needs. Elsewhere the study imports Keras
(`from study.backend import keras`), never a backend. Without `use`, Keras runs on `$KERAS_BACKEND`, else
TensorFlow, the design card's default.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import platform
import sys
from types import ModuleType

from study.typed import Strict

BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT = "tensorflow"
_threads: dict[str, int] = {}  # the threads per op Keras was set up with in this process


class Hardware(Strict):
    """The machine a model ran on: processor, cores, the Keras backend and its version, the backend's threads per
    op (None: every core) and the devices it trained on."""

    machine: str
    processor: str
    cpu_count: int
    backend: str
    backend_version: str
    threads: int | None
    devices: list[str]


def chosen() -> str:
    """The backend Keras runs on, or will run on once imported."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    return os.environ.get("KERAS_BACKEND", DEFAULT)


def version(name: str | None = None) -> str:
    """The installed version of a backend's package (read without importing it)."""
    return importlib.metadata.version(name or chosen())


def available(name: str) -> bool:
    """Whether a backend's package is installed."""
    return importlib.util.find_spec(name) is not None


def use(name: str | None = None, threads: int = 0) -> ModuleType:
    """Keras on backend `name` with `threads` CPU threads per op (0: the backend's default, every core).

    Must run before Keras is first imported in this process (RuntimeError otherwise, unless it is the same
    backend and, where `threads` is given, the same threads: a process that trains many runs, as a worker does,
    cannot give them other threads than its first). GPUs, where the backend sees them, are claimed as needed rather than all at once.
    """
    name = name or chosen()
    if name not in BACKENDS:
        raise ValueError(f"unknown Keras backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if "keras" in sys.modules:
        if chosen() != name:
            raise RuntimeError(f"Keras already runs on {chosen()} in this process; it cannot switch to {name}")
        if threads > 0 and _threads.get("set", threads) != threads:
            raise RuntimeError(f"Keras already runs with {_threads['set'] or 'the default'} thread(s) per op in this "
                               f"process; it cannot switch to {threads}")
        return sys.modules["keras"]
    _threads["set"] = threads
    os.environ["KERAS_BACKEND"] = name
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    if name == "jax" and threads == 1:
        os.environ["XLA_FLAGS"] = " ".join(filter(None, [os.environ.get("XLA_FLAGS"),
                                                         "--xla_cpu_multi_thread_eigen=false",
                                                         "intra_op_parallelism_threads=1"]))
    keras = _import_quietly("keras")
    if threads > 0 and name == "tensorflow":
        tf = sys.modules["tensorflow"]
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    elif threads > 0 and name == "torch":
        torch = sys.modules["torch"]
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
    return keras


def _import_quietly(module: str) -> ModuleType:
    """Import with file descriptor 2 silenced: TensorFlow writes INFO lines (oneDNN, CUDA probing) there before
    its logging is configured, which would land in every page. Import errors still raise."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        return importlib.import_module(module)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend (Keras' own seeding), and make the backend's ops deterministic."""
    keras = use()
    keras.utils.set_random_seed(seed)
    if chosen() == "tensorflow":
        sys.modules["tensorflow"].config.experimental.enable_op_determinism()
    elif chosen() == "torch":
        sys.modules["torch"].use_deterministic_algorithms(True, warn_only=True)
    # JAX's CPU ops are deterministic; on a GPU, XLA_FLAGS=--xla_gpu_deterministic_ops=true makes them so


def devices() -> list[str]:
    """The accelerators the backend sees, by name; empty on a CPU-only machine."""
    use()
    name = chosen()
    if name == "tensorflow":
        tf = sys.modules["tensorflow"]
        return [tf.config.experimental.get_device_details(d).get("device_name", d.name)
                for d in tf.config.list_physical_devices("GPU")]
    if name == "jax":
        return [f"{d.device_kind}" for d in sys.modules["jax"].devices() if d.platform != "cpu"]
    torch = sys.modules["torch"]
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def threads() -> int | None:
    """Threads per op the backend was limited to, or None for its default (every core)."""
    name = chosen()
    if name == "tensorflow":
        return sys.modules["tensorflow"].config.threading.get_intra_op_parallelism_threads() or None
    if name == "torch":
        return sys.modules["torch"].get_num_threads()
    return 1 if "intra_op_parallelism_threads=1" in os.environ.get("XLA_FLAGS", "") else None


def hardware() -> Hardware:
    """What training runs on: processor, cores, the backend and its version, its threads and its devices.
    Results are bitwise repeatable for the same seed, backend, devices and thread count."""
    return Hardware(machine=platform.machine(), processor=platform.processor() or platform.machine(),
                    cpu_count=os.cpu_count() or 1, backend=chosen(), backend_version=version(), threads=threads(),
                    devices=devices() or ["CPU"])


def __getattr__(name: str):
    if name == "keras":
        return use()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
