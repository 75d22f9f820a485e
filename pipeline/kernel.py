"""The Jupyter kernel the notebooks run in: this environment's Python, with `study` importable."""

from __future__ import annotations

import os
import sys
from pathlib import Path

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
