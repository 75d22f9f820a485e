"""Where the study's data are found on a machine, as facts `study.data` and the noxfile share.

It imports the standard library alone: the noxfile runs in a bare Python with nox installed and nothing else.
"""

from __future__ import annotations

from pathlib import Path

FASHION_DEBIAN_PACKAGE = "dataset-fashion-mnist"
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
