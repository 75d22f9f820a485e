"""Result files (`book/models/<id>.json`): assembled from a run, written atomically, read back as tables."""

from __future__ import annotations

import json
import os
import platform
import tempfile
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from study.data import Dataset
from study.spec import ModelSpec
from study.training import Fit

PACKAGES = ("tensorflow", "keras", "numpy", "scikit-learn", "pandas", "seaborn", "papermill", "mlxtend")


def versions() -> dict[str, str]:
    """Python, platform and the versions of the packages that shape a result."""
    return {"python": platform.python_version(), "platform": platform.platform(),
            "machine": platform.machine(), **{p: version(p) for p in PACKAGES}}


def record(spec: ModelSpec, data: Dataset, fit: Fit, test: dict, *, param_count: int, seed: int,
           smoke: bool, total_seconds: float) -> dict:
    """Everything a later stage needs to know about one run, as plain JSON-able data."""
    return {
        "id": spec.id,
        "title": spec.title,
        "factor": spec.factor,
        "compare_with": spec.compare_with,
        "spec": spec.model_dump(mode="json"),
        "param_count": int(param_count),
        "history": fit.history,
        "test": test,
        "dataset": data.provenance(),
        "seed": seed,
        "smoke": smoke,
        "versions": versions(),
        "seconds": {"train": round(fit.seconds, 3), "total": round(total_seconds, 3)},
    }


def write_json(path: str | Path, payload: dict) -> Path:
    """Write JSON to a temporary file beside `path`, then rename it over `path`: never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=1)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_results(results_dir: str | Path) -> dict[str, dict]:
    """Every `<id>.json` in a folder, by id, in file-name order."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(Path(results_dir).glob("*.json"))}


def summary(results: dict[str, dict]) -> pd.DataFrame:
    """One row per run: the reproduced figures beside the seed's."""
    rows = []
    for rid, r in results.items():
        seed = r["spec"]["seed_report"]
        rows.append({
            "model": rid,
            "title": r["title"],
            "factor": r["factor"],
            "compare_with": r["compare_with"],
            "dataset": r["dataset"]["name"],
            "params": r["param_count"],
            "accuracy": r["test"]["accuracy"],
            "seed accuracy": seed.get("accuracy"),
            "macro F1": r["test"]["macro"]["f1"],
            "digit-1 F1": r["test"]["digit1"]["f1"],
            "seed F1 (digit 1)": seed.get("f1"),
            "train s": r["seconds"]["train"],
        })
    return pd.DataFrame(rows).set_index("model").round(4)
