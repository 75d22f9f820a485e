"""The accelerators a run uses: the GPUs the chosen Keras backend sees, and one worker pinned to each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipeline.kernel import REPO

NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")
PROBE = "import study.backend as b; b.use({backend!r}); print('\\n'.join(b.devices()))"


def nvidia_gpus(listing: Path = NVIDIA_GPUS) -> int:
    """How many NVIDIA GPUs the driver lists, read without starting a framework (0 without a driver)."""
    return len(list(listing.iterdir())) if listing.is_dir() else 0


def backend_gpus(backend: str, listing: Path = NVIDIA_GPUS) -> list[str]:
    """The GPUs Keras on `backend` sees here, by name: asked of the backend in a fresh process, and only where
    the driver lists a GPU at all (so a CPU machine pays nothing)."""
    if not nvidia_gpus(listing):
        return []
    probe = subprocess.run([sys.executable, "-c", PROBE.format(backend=backend)], capture_output=True, text=True,
                           cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    return [line for line in probe.stdout.splitlines() if line.strip()] if probe.returncode == 0 else []


def device_kind(gpus: list[str]) -> str:
    """What a page's figures depend on of the hardware: the GPUs' names, or "cpu"."""
    return ", ".join(gpus) or "cpu"


def pin_to_own_gpu(gpus: int) -> None:
    """On a worker of a local cluster with one worker per GPU (workers named 0, 1, ...), let the kernels it starts
    see its own GPU only."""
    from distributed import get_worker

    os.environ["CUDA_VISIBLE_DEVICES"] = str(int(get_worker().name) % gpus)
