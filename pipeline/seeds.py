"""What a seed job runs on a worker: one training run of one model on one dataset into a run store, as the model
template's training cell does for each of its seeds (`study.runs.runs`, one code path), without the page. A
worker is a process of its own: its first job sets Keras up, and the data it loads is kept for the next."""

from __future__ import annotations

import contextlib
import functools
import io
import logging


@functools.lru_cache(maxsize=4)
def _data(name: str, smoke: bool, requested: str | None, sha256: str | None):
    from study import data

    return data.load(name, smoke, requested=requested, expected_sha256=sha256)


def train(spec_path: str, seed: int, *, dataset: str, requested: str | None, data_sha256: str | None, smoke: bool,
          precision: str, threads: int, backend: str, store: str) -> bool:
    """Seed `seed`'s run of the parameter file at `spec_path` into `store`, unless `store` holds it already;
    whether it trained."""
    import study.backend

    study.backend.use(backend, threads)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # a worker's next model retraces: say nothing of it
    from study import runs, spec, training

    training.set_precision(precision)
    data = _data(dataset, smoke, requested, data_sha256)
    with contextlib.redirect_stdout(io.StringIO()):
        _, trained = runs.runs(spec.load_spec(spec_path), data, [seed], smoke=smoke, precision=precision,
                               threads=threads, store=store)
    return bool(trained)
