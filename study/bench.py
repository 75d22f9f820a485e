"""Benchmarks of the execution path, each printed as a ratio against a baseline measured in the same run.

Usage: python -m study.bench [--dataset fashion-mnist] [--models model_01 model_04 model_06] [--epochs 2]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def epoch_images_per_second(spec_id: str, dataset: str, epochs: int, how: str, precision: str = "float32") -> dict:
    """Training throughput of one model: `study` (study.training.train) or `plain` (model.fit on numpy arrays).

    Images per second over the epochs after the first (the first includes graph tracing), and test accuracy.
    """
    import numpy as np

    from study import data as data_mod
    from study import models, training
    from study.backend import keras
    from study.spec import load_specs

    spec = load_specs()[spec_id]
    data = data_mod.load(dataset)
    training.set_precision(precision)
    training.seed_everything(0)
    model = models.build(spec)
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    if how == "plain":
        n = len(data.y_train)
        model.fit(training.as_inputs(data.x_train), data.y_train, batch_size=spec.training.batch_size,
                  epochs=epochs, verbose=0, callbacks=[Timer()])
    else:
        n = int(len(data.y_train) * (1 - spec.training.validation_split))
        training.train(model, spec, data, epochs=epochs, callbacks=[Timer()], log=False)
    accuracy = float(np.mean(training.predict(model, data.x_test) == data.y_test))
    training.set_precision("float32")
    return {"images_per_s": n / float(np.median(times[1:] or times)), "accuracy": accuracy}


def throughput(models: list[str], dataset: str, epochs: int) -> None:
    """study's training and the bf16 option against plain model.fit, per model."""
    print(f"\n## Training throughput on {dataset} ({epochs} epochs each, images/s after the first epoch)")
    print(f"{'model':10} {'plain fit':>10} {'study':>10} {'ratio':>6} {'study bf16':>11} {'ratio':>6}  accuracy plain/study/bf16")
    for spec_id in models:
        plain = epoch_images_per_second(spec_id, dataset, epochs, "plain")
        ours = epoch_images_per_second(spec_id, dataset, epochs, "study")
        bf16 = epoch_images_per_second(spec_id, dataset, epochs, "study", precision="mixed_bfloat16")
        print(f"{spec_id:10} {plain['images_per_s']:10.0f} {ours['images_per_s']:10.0f} "
              f"{ours['images_per_s'] / plain['images_per_s']:6.2f} {bf16['images_per_s']:11.0f} "
              f"{bf16['images_per_s'] / plain['images_per_s']:6.2f}  "
              f"{plain['accuracy']:.4f}/{ours['accuracy']:.4f}/{bf16['accuracy']:.4f}", flush=True)


def notebook_overhead(spec_id: str, dataset: str) -> None:
    """One seed of one model through papermill against a plain Python process making the same study calls."""
    python = sys.executable
    plain = [python, "-c", (
        "import study.data, study.metrics, study.models, study.spec, study.training, study.results;"
        f"spec = study.spec.load_specs()['{spec_id}']; data = study.data.load('{dataset}');"
        "study.training.seed_everything(0); model = study.models.build(spec);"
        "fit = study.training.train(model, spec, data);"
        "test = study.metrics.evaluate(data.y_test, study.training.predict(model, data.x_test), data.class_names);"
        "study.results.run_record(0, fit, test)")]
    with tempfile.TemporaryDirectory() as tmp:
        notebook = [python, "-c", (
            "import pathlib, study.execute as e, study.spec as s;"
            f"job = e.model_jobs(s.load_specs(), ['{spec_id}'], pathlib.Path('{tmp}'), s.PARAMS_DIR,"
            f" dataset='{dataset}', seeds=[0], smoke=False, threads=0)[0];"
            "e.run_model(job)")]
        t_plain = _seconds(plain)
        t_notebook = _seconds(notebook)
    print(f"\n## Notebook path overhead, {spec_id} on {dataset}, one seed")
    print(f"plain Python process {t_plain:.1f} s, papermill notebook of the model page {t_notebook:.1f} s, "
          f"ratio {t_notebook / t_plain:.2f}x")


def parallel_and_noop() -> None:
    """-j 2 against -j 1 for the ten smoke runs, then a rerun with nothing to do."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(REPO / "_config.yml", tmp)
        base = [sys.executable, "-m", "study.execute", "--smoke", "--dataset", "mnist-sample", "--root", tmp]
        t1 = _seconds([*base, "--force", "-j", "1"])
        t2 = _seconds([*base, "--force", "-j", "2"])
        noop = _seconds(base)
    print("\n## Ten smoke runs: parallel workers and incremental rerun")
    print(f"-j 1 {t1:.1f} s, -j 2 {t2:.1f} s: -j 2 takes {t2 / t1:.2f}x the time of -j 1")
    print(f"no-op rerun (nothing changed): {noop:.1f} s, {noop / t1:.3f}x of -j 1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m study.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--models", nargs="*", default=["model_01", "model_04", "model_06"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--only", choices=("parallel", "overhead", "throughput"), default=None)
    args = parser.parse_args(argv)
    from study.execute import kernel_env

    kernel_env()
    if args.only in (None, "parallel"):
        parallel_and_noop()
    if args.only in (None, "overhead"):
        notebook_overhead("model_06", args.dataset)
    if args.only in (None, "throughput"):
        throughput(args.models, args.dataset, args.epochs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
