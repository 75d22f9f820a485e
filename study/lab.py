"""The model template as a reader runs it in JupyterLab, with the parameters cell as it stands: where the book's
runs are, and the threads that make its stored runs the ones asked for (a run's key holds its threads, so runs
trained with one thread per op, as the build's workers train, are not those of the backend's default)."""

from __future__ import annotations

from pathlib import Path

from study import results


def runs_root(runs_dir: str | None, dataset: str) -> Path:
    """The run store of `dataset`: `runs_dir` when given (a job's), else the book's, seen from `notebooks/`."""
    return Path(runs_dir or f"../book/{dataset}/runs")


def recorded_threads(models_dir: str | Path, spec_id: str, *, backend: str, smoke: bool, precision: str) -> int | None:
    """The threads per op in the model's record `<id>.json` if made with these options; None if none, or default."""
    try:
        record = results.read_model(Path(models_dir) / f"{spec_id}.json")
    except (OSError, ValueError):
        return None
    same = (record.hardware.backend, record.smoke, record.precision) == (backend, smoke, precision)
    return record.hardware.threads if same else None


def threads(requested: int | None, spec_id: str, runs: str | Path, *, backend: str, smoke: bool,
            precision: str) -> int:
    """Threads per op to train with: `requested`; if None, those of the book's runs in `runs` (printed), else 0."""
    if requested is not None:
        return requested
    models_dir = Path(runs).parent / "models"
    found = recorded_threads(models_dir, spec_id, backend=backend, smoke=smoke, precision=precision)
    if found:
        print(f"threads = None: training with {found} thread(s) per op, as the book's runs of {spec_id} were "
              f"({models_dir / spec_id}.json), so that the runs its store holds are reused; set threads = 0 for "
              "the backend's default (every core): a run's key holds its threads, so the seeds would train again")
        return found
    print(f"threads = None: training with the backend's default threads (every core), as no record of {spec_id} "
          f"made with these options in {models_dir} names others")
    return 0
