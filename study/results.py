"""Result files, written atomically: one per run (`book/<dataset>/models/<id>/seed_<k>.json`, with its test
predictions) and one per model (`book/<dataset>/models/<id>.json`, with the seeds' summary); read back as tables."""

from __future__ import annotations

import json
import os
import platform
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from study.data import Dataset
from study.files import write_atomic
from study.metrics import positive_class_name
from study.spec import ModelSpec
from study.stats import mean_ci
from study.training import Fit

PACKAGES = ("tensorflow", "keras", "numpy", "scikit-learn", "scipy", "pandas", "seaborn", "papermill", "mlxtend")
SUMMARISED = {"accuracy": ("accuracy",), "macro_f1": ("macro", "f1"), "positive_f1": ("positive_class", "f1"),
              "positive_precision": ("positive_class", "precision"), "positive_recall": ("positive_class", "recall")}


def versions() -> dict[str, str]:
    """Python, platform and the versions of the packages that shape a result."""
    return {"python": platform.python_version(), "platform": platform.platform(),
            **{p: version(p) for p in PACKAGES}}


def hardware() -> dict:
    """The machine a run used: processor, cores, TensorFlow's threads per op and the devices it trained on.

    Results are bitwise repeatable for the same seed, devices and thread count (`-j` changes the threads).
    """
    from study.backend import tf

    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {"machine": platform.machine(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "tf_threads": tf.config.threading.get_intra_op_parallelism_threads() or
            "default (all cores)", "devices": gpus or ["CPU"]}


def run_record(seed: int, fit: Fit, test: dict) -> dict:
    """One training run: its seed, per-epoch history, test metrics (with predictions) and training time."""
    return {"seed": seed, "history": fit.history, "test": test, "seconds": {"train": round(fit.seconds, 3)}}


def _metric(test: dict, path: tuple[str, ...]) -> float:
    for key in path:
        test = test[key]
    return test


def model_record(spec: ModelSpec, data: Dataset, runs: list[dict], *, param_count: int, smoke: bool,
                 total_seconds: float, inputs_hash: str | None = None, precision: str = "float32") -> dict:
    """A model over all its seeds: what it is, the data, the summary of every metric, and where the runs are."""
    return {
        "id": spec.id,
        "title": spec.title,
        "factor": spec.factor,
        "compare_with": spec.compare_with,
        "spec": spec.model_dump(mode="json"),
        "param_count": int(param_count),
        "seeds": [r["seed"] for r in runs],
        "runs": [f"{spec.id}/seed_{r['seed']}.json" for r in runs],
        "summary": {name: mean_ci([_metric(r["test"], path) for r in runs]) for name, path in SUMMARISED.items()},
        "positive_class": positive_class_name(data.class_names),
        "dataset": data.provenance(),
        "test_labels": [int(y) for y in data.y_test],
        "smoke": smoke,
        "inputs_hash": inputs_hash,
        "precision": precision,
        "versions": versions(),
        "hardware": hardware(),
        "seconds": {"train": round(sum(r["seconds"]["train"] for r in runs), 3), "total": round(total_seconds, 3)},
    }


def write_json(path: str | Path, payload: dict) -> Path:
    """Write JSON to a temporary file beside `path`, then rename it over `path`: never half-written."""
    return write_atomic(path, json.dumps(payload, indent=1))


def write_model(models_dir: str | Path, record: dict, runs: list[dict]) -> Path:
    """Write every run's file, then the model's file (last, so its presence means the runs are there)."""
    models_dir = Path(models_dir)
    for name, run in zip(record["runs"], runs):
        write_json(models_dir / name, {"id": record["id"], **run})
    return write_json(models_dir / f"{record['id']}.json", record)


def load_results(results_dir: str | Path) -> dict[str, dict]:
    """Every model file `<id>.json` in a folder, by id, in file-name order."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(Path(results_dir).glob("*.json"))}


def load_runs(results_dir: str | Path, record: dict) -> list[dict]:
    """The run files a model file lists."""
    return [json.loads((Path(results_dir) / name).read_text()) for name in record["runs"]]


def predictions(runs: list[dict]) -> dict[int, np.ndarray]:
    """Each run's test predictions, by seed."""
    return {r["seed"]: np.asarray(r["test"]["predictions"]) for r in runs}


def summary(results: dict[str, dict]) -> pd.DataFrame:
    """One row per model: mean test accuracy over seeds with its interval, beside the seed report's figure."""
    rows = []
    positive = next((r["positive_class"] for r in results.values()), "class 1")
    for rid, r in results.items():
        acc = r["summary"]["accuracy"]
        rows.append({
            "model": rid,
            "title": r["title"],
            "factor": r["factor"],
            "compare_with": r["compare_with"],
            "params": r["param_count"],
            "seeds": acc["n"],
            "accuracy": acc["mean"],
            "sd": acc["sd"],
            "CI low": acc["low"],
            "CI high": acc["high"],
            "seed accuracy": r["spec"]["seed_report"].get("accuracy"),
            "macro F1": r["summary"]["macro_f1"]["mean"],
            f"F1, {positive}": r["summary"]["positive_f1"]["mean"],
            "seed F1 (digit 1)": r["spec"]["seed_report"].get("f1"),
            "train s": r["seconds"]["train"] / max(acc["n"], 1),
        })
    columns = ["model", "title", "factor", "compare_with", "params", "seeds", "accuracy", "sd", "CI low", "CI high",
               "seed accuracy", "macro F1", f"F1, {positive}", "seed F1 (digit 1)", "train s"]
    return pd.DataFrame(rows, columns=columns).set_index("model").round(4)
