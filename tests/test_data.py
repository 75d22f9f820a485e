import functools
import gzip
import hashlib
import http.server
import threading
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


@pytest.fixture
def server(tmp_path):
    """An HTTP server on loopback serving tmp_path/served; yields its base URL and counts requests."""
    served = tmp_path / "served"
    served.mkdir()
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", served, requests
    httpd.shutdown()


def test_mnist_download_is_verified_cached_and_loaded(tmp_path, server):
    url, served, requests = server
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
    url, served, _ = server
    make_npz(served / "mnist.npz")
    cache = tmp_path / "cache"
    with pytest.raises(OSError, match="could not get mnist.npz"):
        data.fetch_mnist(cache, origin=url + "mnist.npz", sha256="0" * 64)
    assert not (cache / "mnist.npz").exists()


def test_mnist_loads_from_the_configured_data_dir(tmp_path, monkeypatch):
    sha = make_npz(tmp_path / "mnist.npz", seed=3)
    monkeypatch.setenv("STUDY_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(data, "MNIST_SHA256", sha)
    monkeypatch.setattr(data, "MNIST_ORIGIN", "http://127.0.0.1:9/unreachable/mnist.npz")
    loaded = data.load("mnist")
    assert loaded.name == "mnist" and not loaded.fallback_reason
    assert loaded.x_train.shape == (50, 28, 28) and len(loaded.y_test) == 20


def test_mnist_falls_back_to_the_sample_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDY_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(data, "MNIST_ORIGIN", "http://127.0.0.1:9/unreachable/mnist.npz")
    loaded = data.load("mnist")
    assert (loaded.name, loaded.requested) == ("mnist-sample", "mnist")
    assert "127.0.0.1:9" in loaded.fallback_reason
    assert loaded.provenance()["requested"] == "mnist"
    assert list(tmp_path.iterdir()) == []


def test_mnist_sample_is_real_and_stratified():
    d = data.load("mnist-sample")
    assert d.x_train.shape == (4000, 28, 28) and d.x_test.shape == (1000, 28, 28)
    assert d.x_train.dtype == np.uint8 and d.x_train.max() == 255
    assert np.bincount(d.y_test).tolist() == [100] * 10
    assert np.bincount(d.y_train).tolist() == [400] * 10


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
    monkeypatch.setattr(data, "MNIST_ORIGIN", "http://127.0.0.1:9/unreachable/mnist.npz")
    with pytest.raises(OSError, match=rf"{tmp_path}/mnist.npz has SHA-256 [0-9a-f]{{64}}, expected "
                                      rf"{data.MNIST_SHA256}: the file is truncated or corrupt"):
        data.fetch_mnist(tmp_path)
    assert (tmp_path / "mnist.npz").read_bytes() == before
    monkeypatch.setenv("STUDY_DATA_DIR", str(tmp_path))
    fallback = data.load("mnist")
    assert fallback.name == "mnist-sample" and "truncated or corrupt" in fallback.fallback_reason


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
