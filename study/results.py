"""Result records, typed: one per run (`<dataset>/models/<id>/seed_<k>.json`, with its test predictions) and one
per model (`<dataset>/models/<id>.json`, with the seeds' summary); written atomically and read back here only."""

from __future__ import annotations

import contextlib
import math
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd

from study.backend import Hardware
from study.data import Dataset, Provenance
from study.files import write_atomic
from study.metrics import Evaluation, positive_class_name
from study.spec import ModelSpec
from study.stats import UNIT, Summary, mean_ci
from study.typed import Strict

PACKAGES = ("keras", "tensorflow", "jax", "torch", "numpy", "scikit-learn", "scipy", "pandas", "seaborn", "mlxtend")


class RunSeconds(Strict):
    """Wall time of a run's training (`fit`), and of each of its epochs."""

    train: float
    epochs: list[float]


class RunRecord(Strict):
    """One training run: its model, seed, per-epoch history, test metrics (with predictions) and training time."""

    id: str
    seed: int
    history: dict[str, list[float]]
    test: Evaluation
    seconds: RunSeconds


class Summaries(Strict):
    """Each test figure over the seeds."""

    accuracy: Summary
    macro_f1: Summary
    positive_f1: Summary
    positive_precision: Summary
    positive_recall: Summary


class ModelSeconds(Strict):
    """Wall time of a model's training over all seeds and of its whole page, and its training speed: images per
    second in the epochs after the first (the first includes compiling), median over seeds (None: one epoch)."""

    train: float
    total: float
    images_per_second: float | None


class ModelRecord(Strict):
    """A model over all its seeds: what it is, the data, the summary of every figure and where its runs are."""

    id: str
    title: str
    factor: str
    compare_with: str | None
    spec: ModelSpec
    param_count: int
    seeds: list[int]
    runs: list[str]
    summary: Summaries
    positive_class: str
    dataset: Provenance
    test_labels: list[int]
    smoke: bool
    inputs_hash: str | None
    precision: str
    steps_per_execution: int
    versions: dict[str, str]
    hardware: Hardware
    seconds: ModelSeconds


def versions() -> dict[str, str]:
    """Python, platform and the versions of the packages that shape a result."""
    installed = {}
    for package in PACKAGES:
        with contextlib.suppress(PackageNotFoundError):
            installed[package] = version(package)
    return {"python": platform.python_version(), "platform": platform.platform(), **installed}


def run_record(spec_id: str, seed: int, history: dict[str, list], seconds: float, epoch_seconds: list[float],
               test: Evaluation) -> RunRecord:
    """One training run as a record: Keras' history (as floats), its wall times and its test metrics."""
    return RunRecord(id=spec_id, seed=seed, history={k: [float(v) for v in vs] for k, vs in history.items()},
                     test=test, seconds=RunSeconds(train=round(seconds, 3), epochs=[round(s, 3) for s in epoch_seconds]))


def model_record(spec: ModelSpec, data: Dataset, runs: list[RunRecord], *, param_count: int, smoke: bool,
                 total_seconds: float, hardware: Hardware, steps_per_execution: int, inputs_hash: str | None = None,
                 precision: str = "float32") -> ModelRecord:
    """A model over all its seeds: what it is, the data, the summary of every figure, and where the runs are."""
    tests = [r.test for r in runs]
    return ModelRecord(
        id=spec.id, title=spec.title, factor=spec.factor, compare_with=spec.compare_with, spec=spec,
        param_count=int(param_count), seeds=[r.seed for r in runs], runs=[run_path(spec.id, r.seed) for r in runs],
        summary=Summaries(
            accuracy=mean_ci([t.accuracy for t in tests], bounds=UNIT),
            macro_f1=mean_ci([t.macro.f1 for t in tests], bounds=UNIT),
            positive_f1=mean_ci([t.positive_class.f1 for t in tests], bounds=UNIT),
            positive_precision=mean_ci([t.positive_class.precision for t in tests], bounds=UNIT),
            positive_recall=mean_ci([t.positive_class.recall for t in tests], bounds=UNIT),
        ),
        positive_class=positive_class_name(data.class_names), dataset=data.provenance(),
        test_labels=[int(y) for y in data.y_test], smoke=smoke, inputs_hash=inputs_hash, precision=precision,
        steps_per_execution=steps_per_execution, versions=versions(), hardware=hardware,
        seconds=ModelSeconds(train=round(sum(r.seconds.train for r in runs), 3), total=round(total_seconds, 3),
                             images_per_second=images_per_second(runs, fitted_images(spec, data))),
    )


def fitted_images(spec: ModelSpec, data: Dataset) -> int:
    """How many training images an epoch fits on: the first (1 - validation_split), as Keras' `fit` splits them."""
    return math.floor(len(data.y_train) * (1 - spec.training.validation_split))


def images_per_second(runs: list[RunRecord], images: int) -> float | None:
    """Training images per second in the epochs after the first, median over seeds; None with one epoch."""
    rates = [images / float(np.median(r.seconds.epochs[1:])) for r in runs if len(r.seconds.epochs) > 1]
    return round(float(np.median(rates)), 1) if rates else None


def run_path(spec_id: str, seed: int) -> str:
    """Where a run's file lies, relative to its model's folder."""
    return f"{spec_id}/seed_{seed}.json"


def write_model(models_dir: str | Path, record: ModelRecord, runs: list[RunRecord]) -> Path:
    """Write every run's file, then the model's file (last, so its presence means the runs are there)."""
    models_dir = Path(models_dir)
    for name, run in zip(record.runs, runs):
        write_atomic(models_dir / name, run.model_dump_json(indent=1))
    return write_atomic(models_dir / f"{record.id}.json", record.model_dump_json(indent=1))


def read_model(path: str | Path) -> ModelRecord:
    """One model file."""
    return ModelRecord.model_validate_json(Path(path).read_bytes())


def read_runs(models_dir: str | Path, record: ModelRecord) -> list[RunRecord]:
    """The run files a model file lists."""
    return [RunRecord.model_validate_json((Path(models_dir) / name).read_bytes()) for name in record.runs]


def load_results(models_dir: str | Path, ids=None) -> dict[str, ModelRecord]:
    """The model files `<id>.json` in a folder, by id in file-name order; only those of `ids` when given."""
    paths = sorted(Path(models_dir).glob("*.json"))
    return {p.stem: read_model(p) for p in paths if ids is None or p.stem in ids}


def predictions(runs: list[RunRecord]) -> dict[int, np.ndarray]:
    """Each run's test predictions, by seed."""
    return {r.seed: np.asarray(r.test.predictions) for r in runs}


SUMMARY_COLUMNS = {
    "title": "title", "factor": "factor", "compare_with": "compared with", "params": "params", "seeds": "seeds",
    "accuracy": "accuracy", "sd": "sd", "ci_low": "CI low", "ci_high": "CI high", "seed_accuracy": "seed accuracy",
    "macro_f1": "macro F1", "positive_f1": "F1, {positive}", "seed_f1": "seed F1 (digit 1)",
    "train_seconds": "train s per seed",
}


def summary(results: dict[str, ModelRecord]) -> pd.DataFrame:
    """One row per model, indexed by id, columns named as SUMMARY_COLUMNS' keys: mean test accuracy over seeds
    with its interval, beside the seed report's figure, macro and positive-class F1, training time per seed."""
    rows = [{
        "model": rid, "title": r.title, "factor": r.factor, "compare_with": r.compare_with, "params": r.param_count,
        "seeds": r.summary.accuracy.n, "accuracy": r.summary.accuracy.mean, "sd": r.summary.accuracy.sd,
        "ci_low": r.summary.accuracy.low, "ci_high": r.summary.accuracy.high,
        "seed_accuracy": r.spec.seed_report.accuracy, "macro_f1": r.summary.macro_f1.mean,
        "positive_f1": r.summary.positive_f1.mean, "seed_f1": r.spec.seed_report.f1,
        "train_seconds": r.seconds.train / max(r.summary.accuracy.n, 1),
    } for rid, r in results.items()]
    return pd.DataFrame(rows, columns=["model", *SUMMARY_COLUMNS]).set_index("model")
