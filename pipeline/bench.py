"""Benchmarks of the execution path, each printed as a ratio against a baseline measured in the same run.

Usage: python -m pipeline.bench [--dataset fashion-mnist] [--models model_01 model_04 model_06] [--epochs 3]
       [--only parallel|throughput|study]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.kernel import kernel_env

REPO = Path(__file__).resolve().parent.parent


def _seconds(command: list[str], show_output: bool = False) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO, stdout=None if show_output else subprocess.DEVNULL)
    return time.perf_counter() - start


def epoch_images_per_second(spec_id: str, dataset: str, epochs: int, how: str, precision: str = "float32",
                            threads: int = 0) -> dict:
    """Training throughput of one model: `study` (study.training.train) or `plain` (model.fit on numpy arrays).

    Training images per second over the epochs after the first (the first includes graph tracing; study's
    epochs also score the held-out tenth), and test accuracy. `threads` as in study.training.set_threads.
    """
    import numpy as np

    from study import data as data_mod
    from study import models, training
    from study.backend import keras
    from study.spec import load_specs

    training.set_threads(threads)
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
    return {"images_per_s": n / float(np.median(times[1:] or times)), "accuracy": accuracy}


def _measured(spec_id: str, dataset: str, epochs: int, how: str, precision: str, threads: int,
              side_by_side: int = 1) -> dict:
    """epoch_images_per_second in fresh processes (threads are fixed per process); `side_by_side` copies run
    at once, as the study's workers do, and their images/s are summed."""
    command = [sys.executable, "-m", "pipeline.bench", "--measure", spec_id, how, precision, str(threads),
               "--dataset", dataset, "--epochs", str(epochs)]
    runs = [subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) for _ in range(side_by_side)]
    results = []
    for run in runs:
        out, _ = run.communicate()
        if run.returncode:
            raise RuntimeError(f"benchmark process failed: {' '.join(command)}")
        results.append(json.loads(out.splitlines()[-1]))
    return {"images_per_s": sum(r["images_per_s"] for r in results), "accuracy": results[0]["accuracy"]}


def throughput(models: list[str], dataset: str, epochs: int) -> None:
    """study's training, as one process and as the study runs it (-j 2: two runs side by side, one thread each),
    and the bf16 option, against plain model.fit (one process, TensorFlow's default threads), per model."""
    cores = os.cpu_count() or 1
    print(f"\n## Training throughput on {dataset} ({epochs} epochs each; training images/s after the first epoch; "
          f"{cores} cores)")
    print("plain: model.fit on numpy arrays, one process. study: study.training.train, one process. "
          f"study -j {cores}: {cores} runs side by side with 1 thread each (the default of nox -s execute), summed.")
    columns = [("plain fit", "plain", "float32", 0, 1), ("study", "study", "float32", 0, 1),
               (f"study -j {cores}", "study", "float32", 1, cores), ("study bf16", "study", "mixed_bfloat16", 0, 1),
               (f"bf16 -j {cores}", "study", "mixed_bfloat16", 1, cores)]
    print(f"{'model':10}" + "".join(f"{name:>14} {'ratio':>6}" for name, *_ in columns) + "   test accuracy")
    for spec_id in models:
        row = [_measured(spec_id, dataset, epochs, how, precision, threads, copies)
               for _, how, precision, threads, copies in columns]
        base = row[0]["images_per_s"]
        print(f"{spec_id:10}" + "".join(f"{r['images_per_s']:14.0f} {r['images_per_s'] / base:6.2f}" for r in row)
              + "   " + "/".join(f"{r['accuracy']:.4f}" for r in row), flush=True)


PLAIN_STUDY = """
import sys, time
import study.data, study.models, study.spec, study.training
from study.backend import keras
data = study.data.load(sys.argv[1])
for spec in study.spec.load_specs().values():
    study.training.seed_everything(0)
    model = study.models.build(spec)
    start = time.perf_counter()
    model.fit(study.training.as_inputs(data.x_train), data.y_train, batch_size=spec.training.batch_size,
              epochs=spec.training.epochs, validation_split=spec.training.validation_split, verbose=0)
    accuracy = (study.training.predict(model, data.x_test) == data.y_test).mean()
    print(f"{spec.id}: {time.perf_counter() - start:.1f} s, test accuracy {accuracy:.4f}", flush=True)
"""


def ten_model_study(dataset: str) -> None:
    """The ten models, one seed each, full data and epochs: `pipeline.execute` (notebooks, -j default, its log of
    each model's time shown) against one Python process training them one after another with plain model.fit."""
    print(f"\n## The ten-model study on {dataset}, one seed, every model's own epochs")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", PLAIN_STUDY, dataset], check=True, cwd=REPO)
    t_plain = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(REPO / "_config.yml", tmp)
        t_study = _seconds([sys.executable, "-m", "pipeline.execute", "--dataset", dataset, "--seeds", "1",
                            "--force", "--root", tmp], show_output=True)
    print(f"plain model.fit, one process: {t_plain:.1f} s; nox -s execute's path (papermill, Dask, summary pages): "
          f"{t_study:.1f} s; speed-up {t_plain / t_study:.2f}x")


def parallel_and_noop() -> None:
    """-j 2 against -j 1 for the ten smoke runs, then a rerun with nothing to do."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(REPO / "_config.yml", tmp)
        base = [sys.executable, "-m", "pipeline.execute", "--smoke", "--dataset", "mnist-sample", "--root", tmp]
        t1 = _seconds([*base, "--force", "-j", "1"])
        t2 = _seconds([*base, "--force", "-j", "2"])
        noop = _seconds(base)
    print("\n## Ten smoke runs: parallel workers and incremental rerun")
    print(f"-j 1 {t1:.1f} s, -j 2 {t2:.1f} s: -j 2 takes {t2 / t1:.2f}x the time of -j 1")
    print(f"no-op rerun (nothing changed): {noop:.1f} s, {noop / t1:.3f}x of -j 1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--models", nargs="*", default=["model_01", "model_04", "model_06"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--only", choices=("parallel", "throughput", "study"), default=None)
    parser.add_argument("--measure", nargs=4, metavar=("MODEL", "HOW", "PRECISION", "THREADS"),
                        help="internal: print one epoch_images_per_second result as JSON")
    args = parser.parse_args(argv)
    kernel_env()
    if args.measure:
        spec_id, how, precision, threads = args.measure
        print(json.dumps(epoch_images_per_second(spec_id, args.dataset, args.epochs, how, precision, int(threads))))
        return 0
    if args.only in (None, "parallel"):
        parallel_and_noop()
    if args.only in (None, "throughput"):
        throughput(args.models, args.dataset, args.epochs)
    if args.only in (None, "study"):
        ten_model_study(args.dataset)
    return 0


if __name__ == "__main__":
    sys.exit(main())
