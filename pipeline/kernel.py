"""The Jupyter kernel the notebooks run in: this environment's Python, with `study` importable, and its manager."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from jupyter_client import AsyncKernelManager

REPO = Path(__file__).resolve().parent.parent  # the checkout's root; every other module takes it from here
KERNEL = "cnn-study"


def ensure_kernel() -> str:
    """Install this environment's Python as the Jupyter kernel `cnn-study` (once) and return its name."""
    from ipykernel.kernelspec import install
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if KERNEL not in specs or not Path(specs[KERNEL]).is_relative_to(sys.prefix):
        install(kernel_name=KERNEL, display_name="Python (cnn-study)", prefix=sys.prefix)
    return KERNEL


def kernel_env() -> None:
    """Kernels (and Dask workers) inherit this process's environment: make `study` importable, TensorFlow quiet."""
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class NoInterruptOnShutdown(AsyncKernelManager):
    """jupyter_client's kernel manager without the SIGINT it sends a kernel before asking it to shut down.

    Papermill asks the moment the reply to its last request (kernel_info, after the last cell) arrives, which can be
    before the kernel has left that request's handler: the SIGINT then lands inside it and ipykernel logs "ERROR |
    KeyboardInterrupt caught in kernel." in a run that went well. Papermill's kernel is idle by then (every cell has
    replied); the shutdown request goes on the control channel, which ipykernel serves even while busy; a kernel
    that does not go is killed after jupyter_client's wait; and on Ctrl-C, `interrupt.NOTEBOOKS` ends the kernels.
    """

    async def _async_interrupt_kernel(self) -> None:
        """Interrupt the kernel, unless it is being shut down."""
        if not self.shutting_down:
            await super()._async_interrupt_kernel()
