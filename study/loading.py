"""A dataset's results as the summary pages and the design's rounds read them: every model file and every run file it
lists read once, and each run checked against the test set it claims, here and wherever a stored run is reused."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score

from study import sequential
from study.results import ModelRecord, RunRecord, load_results, read_model
from study.sequential import Design

DAMAGED = ".damaged"  # the suffix of a file set aside
ACCURACY_TOLERANCE = 1e-9  # a stored accuracy is a float of the predictions' share right, written to JSON and back


class DamagedRun(ValueError):
    """A run file that cannot be read back or does not fit the test set it claims."""


@dataclass(frozen=True)
class DatasetResults:
    """One dataset's results: its name, the model records by id (file-name order), each model's runs in the order
    its record lists them, and the design its seeds were chosen by (None: one look)."""

    dataset: str
    records: dict[str, ModelRecord]
    runs: dict[str, list[RunRecord]]
    design: Design | None

    def __bool__(self) -> bool:
        return bool(self.records)


def run_problem(run: RunRecord, labels) -> str | None:
    """Why a run does not fit the test set whose labels are given (one prediction per test image, the accuracy it
    states equal to what its predictions give), or None when it does."""
    predictions = run.test.predictions
    if len(predictions) != len(labels):
        return f"{len(predictions):,} predictions for a test set of {len(labels):,} images"
    given = float(accuracy_score(np.asarray(labels), np.asarray(predictions)))
    if abs(given - run.test.accuracy) > ACCURACY_TOLERANCE:
        return f"it states test accuracy {run.test.accuracy:.6f}, its predictions give {given:.6f}"
    return None


def read_run(path: Path, labels) -> RunRecord:
    """One run file, checked against the test set's labels; DamagedRun naming the file and what is wrong."""
    try:
        run = RunRecord.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise DamagedRun(f"{path}: {_first_line(exc)}") from None
    problem = run_problem(run, labels)
    if problem:
        raise DamagedRun(f"{path}: {problem}")
    return run


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load(models_dir: str | Path, ids=None) -> DatasetResults:
    """The model files `<id>.json` in `models_dir` (only those of `ids` when given), each run file they list read
    and checked once, and the dataset's design; DamagedRun naming the first run file that does not fit."""
    models_dir = Path(models_dir)
    records = load_results(models_dir, ids)
    runs = {rid: [read_run(models_dir / name, r.test_labels) for name in r.runs] for rid, r in records.items()}
    dataset = next((r.dataset.name for r in records.values()), models_dir.parent.name)
    return DatasetResults(dataset=dataset, records=records, runs=runs, design=sequential.read(models_dir))


def damage(models_dir: str | Path, spec_id: str) -> str | None:
    """Why a model's result files cannot be used (the first unreadable, invalid or inconsistent file, named), or
    None when its model file and every run file it lists validate and fit its test set."""
    path = Path(models_dir) / f"{spec_id}.json"
    try:
        record = read_model(path)
    except (OSError, ValueError) as exc:
        return f"{path}: {_first_line(exc)}"
    try:
        for name in record.runs:
            read_run(Path(models_dir) / name, record.test_labels)
    except DamagedRun as exc:
        return str(exc)
    return None


def set_aside(path: Path) -> Path:
    """Rename a damaged file to `<name>.damaged`, kept for inspection and out of every reader's way."""
    return path.replace(path.with_name(path.name + DAMAGED))


def reusable(path: Path, labels) -> RunRecord | None:
    """The stored run at `path` if there is one that fits the test set's labels; one that does not is set aside
    (`set_aside`) with a line naming it and why, and None returned, so that its seed trains again."""
    if not path.is_file():
        return None
    try:
        return read_run(path, labels)
    except DamagedRun as exc:
        set_aside(path)
        print(f"damaged run set aside as {path.name}{DAMAGED}, its seed trains again: {exc}", flush=True)
        return None


def seconds_per_seed(loaded: DatasetResults, workers: int | None = None) -> dict[str, float]:
    """Each model's recorded training seconds per seed, as wall time on `workers` running side by side (default:
    one per core, as the command runs them)."""
    workers = workers or os.cpu_count() or 1
    return {rid: r.seconds.train / max(len(r.seeds), 1) / workers for rid, r in loaded.records.items()}
