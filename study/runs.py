"""Training runs, one per (model, dataset, seed): each kept in a content-addressed store the moment it finishes,
and reused whenever a run with the same inputs is asked for again (more seeds train only the new ones)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from study import backend, loading, metrics, models, results, training
from study.data import Dataset
from study.files import combined_hash, file_hashes, write_atomic
from study.results import RunRecord
from study.spec import ModelSpec

# The sources whose code can change a run's figures; editing the statistics, plots or tables reuses every run.
RUN_SOURCES = ("backend", "data", "files", "metrics", "models", "results", "runs", "spec", "training", "typed")
TRAINED_FIELDS = {"id", "conv", "pool", "dense_units", "dense_activation", "training"}


def sources_hash() -> str:
    """The SHA-256 of the study's sources that shape a run (RUN_SOURCES)."""
    here = Path(__file__).resolve().parent
    return combined_hash(file_hashes([here / f"{name}.py" for name in RUN_SOURCES], here))


def key(spec: ModelSpec, *, data_sha256: str, seed: int, smoke: bool, precision: str, threads: int) -> str:
    """The content address of one run: the spec's trained fields, the data's hash, the seed and every run option,
    the backend with its version, the devices it trains on, and the sources and package versions that compute it."""
    hardware = backend.hardware()
    identity = {"spec": spec.model_dump(mode="json", include=TRAINED_FIELDS), "data": data_sha256, "seed": seed,
                "smoke": smoke, "precision": precision, "threads": threads,
                "backend": f"{hardware.backend} {hardware.backend_version}", "devices": hardware.devices,
                "sources": sources_hash(), "versions": {k: v for k, v in results.versions().items() if k != "platform"}}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def train(spec: ModelSpec, data: Dataset, seed: int, *, epochs: int) -> RunRecord:
    """One run: a fresh initialisation from `seed`, Keras' `fit` on the training images (the last
    `validation_split` held out for the curves, the rest shuffled every epoch), evaluated on the test set."""
    backend.seed_everything(seed)
    model = models.build(spec, seed)
    log = training.EpochLog()
    history = model.fit(training.as_inputs(data.x_train), data.y_train, batch_size=spec.training.batch_size,
                        epochs=epochs, validation_split=spec.training.validation_split, shuffle=True, verbose=0,
                        callbacks=[log])
    test = metrics.evaluate(data.y_test, training.predict(model, data.x_test), data.class_names)
    return results.run_record(spec.id, seed, history.history, log.seconds, log.epoch_seconds, test)


def runs(spec: ModelSpec, data: Dataset, seeds: list[int], *, smoke: bool, precision: str, threads: int,
         store: str | Path | None) -> tuple[list[RunRecord], list[int]]:
    """Each seed's run: from `store` when it holds one made from the same inputs that fits the test set (one that
    does not is set aside, named), else trained now and written there at once (no store: every seed trained, nothing
    written); the runs in seed order and the seeds trained."""
    out, trained = [], []
    epochs = 1 if smoke else spec.training.epochs
    for seed in seeds:
        run_key = key(spec, data_sha256=data.sha256, seed=seed, smoke=smoke, precision=precision, threads=threads)
        run = loading.reusable(Path(store) / f"{run_key}.json", data.y_test) if store else None
        if run is None:
            print(f"seed {seed}: training", flush=True)
            run = train(spec, data, seed, epochs=epochs)
            trained.append(seed)
            if store:
                write_atomic(Path(store) / f"{run_key}.json", run.model_dump_json())
            print(f"seed {seed}: test accuracy {run.test.accuracy:.4f}, training {run.seconds.train:.1f} s")
        else:
            print(f"seed {seed}: stored run reused, trained in {run.seconds.train:.1f} s")
            for epoch, seconds in enumerate(run.seconds.epochs):
                logs = {name: values[epoch] for name, values in run.history.items()}
                print(training.epoch_line(epoch, len(run.seconds.epochs), logs, seconds))
            print(f"seed {seed}: test accuracy {run.test.accuracy:.4f}")
        out.append(run)
    return out, trained
