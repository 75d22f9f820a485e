"""Benchmarks that credit each gain to its cause: every ratio is measured in one run against a baseline that
differs in that cause alone, every cell repeated (alternating its configurations) with its median and spread.

Usage: python -m pipeline.bench [--only steps|parallel|precision|study|routes|design] [--dataset fashion-mnist]
       [--study-dataset DATASET] [--study-seeds 3] [--study-epochs N] [--models model_01 model_04 model_06]
       [--epochs 3] [--images 20000] [--repeats 3] [--book book/mnist] [--replicates 200]

- steps:     one process, same threads: Keras' `fit` against `fit` with N steps per execution (training
             images/s after the first epoch), for N in STEPS.
- parallel:  the ten-model study (three seeds, full data) through `pipeline.execute`, -j 1 against -j 2, the
             same trainer; and plain `fit` one model after another, and in two processes side by side.
- precision: one process, same threads, same trainer: float32 against mixed_bfloat16.
- study:     the whole study of one dataset as `nox -s execute` runs it (ten models, three seeds, the parameter
             files' epochs, every run trained) against the loop a reader would write: plain `fit`, one run after
             another (the same 30 runs), in one Python process; with the workers' mean busy share in each
             pipeline run. On 2 cores and the full MNIST a repeat takes about 40 minutes (--study-epochs 1: 5).
- routes:    the routes to a cheaper run, each in a fresh process with one thread (as a worker trains), three seeds
             of a model with the study's trainer (`study.runs.train`) one after another against: the three seeds in
             one Keras graph (each the study's model, its own initialisation and shuffle), the study's trainer with
             XLA (`jit_compile=True`), and the study's model fitted from a `tf.data` input pipeline; seconds for the
             three seeds, compiling and testing included, and their test accuracies.
- design:    the seed designs (`study.designs`) on simulated claims whose truths are a built dataset's own figures
             (--book, its folder): fixed seeds per model (3 to 50), the previous two looks and the sequential
             design, without a budget, with budgets of runs, and with looks to 50, over --replicates replicates;
             claims decided, rightly and falsely, runs and training hours spent, decisions per 100 runs, and each
             sequential design against fixed seeds at its runs. No training: 200 replicates took 19 minutes on a
             shared core.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.kernel import REPO, kernel_env

STEPS = (1, 16, 64, 256)


def _setup(spec_id: str, dataset: str, threads: int) -> tuple:
    """In a fresh process: Keras with `threads` threads per op (fixed for the process), then a model's spec and a
    dataset, as a worker has them."""
    from study import backend

    backend.use(threads=threads)
    from study import data as data_mod
    from study.spec import load_specs

    return load_specs()[spec_id], data_mod.load(dataset)


def measure(spec_id: str, dataset: str, epochs: int, images: int, steps: int, precision: str, threads: int) -> dict:
    """Train one model with `fit` in this process and return its training images/s after the first epoch (the
    first includes compiling) and its test accuracy. Run in a fresh process: threads are fixed per process."""
    spec, full = _setup(spec_id, dataset, threads)
    from study import backend, models, training
    from study.data import subset

    data = subset(full, images, len(full.y_test))
    training.set_precision(precision)
    backend.seed_everything(0)
    model = models.build(spec, 0)
    model.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"], steps_per_execution=steps)
    log = training.EpochLog(log=False)
    model.fit(training.as_inputs(data.x_train), data.y_train, batch_size=spec.training.batch_size, epochs=epochs,
              validation_split=spec.training.validation_split, verbose=0, callbacks=[log])
    fitted = int(len(data.y_train) * (1 - spec.training.validation_split))
    return {"images_per_s": fitted / statistics.median(log.epoch_seconds[1:] or log.epoch_seconds),
            "accuracy": _tested(model, data)}


def _fresh_process(*args: str, internal: str = "--measure") -> dict:
    """`measure` (or the `internal` option's measurement) in a fresh Python process; its JSON result."""
    out = subprocess.run([sys.executable, "-m", "pipeline.bench", internal, *args], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def _tested(model, data) -> float:
    """A trained model's test accuracy as the study's trainer computes it (`study.metrics.evaluate`)."""
    from study import metrics, training

    return metrics.evaluate(data.y_test, training.predict(model, data.x_test), data.class_names).accuracy


def _split(spec, data) -> tuple[tuple, tuple]:
    """The training images as the study's trainer splits them (Keras' `validation_split`): the first
    (1 - validation_split) fitted, the rest held out for validation; each as (inputs, labels)."""
    from study import training

    x, y = training.as_inputs(data.x_train), data.y_train
    fitted = int(len(y) * (1 - spec.training.validation_split))
    return (x[:fitted], y[:fitted]), (x[fitted:], y[fitted:])


def in_turn(spec, data, seeds: int, epochs: int) -> list[float]:
    """The baseline: the study's trainer (`study.runs.train`, as a seed job runs it), one seed after another."""
    from study import runs

    return [runs.train(spec, data, seed, epochs=epochs).test.accuracy for seed in range(seeds)]


def xla(spec, data, seeds: int, epochs: int) -> list[float]:
    """The study's trainer, one seed after another, with each model it builds compiled for XLA (`jit_compile=True`):
    the baseline with that one change."""
    from unittest import mock

    from study import models, training

    build = models.build

    def xla_build(spec, seed):
        model = build(spec, seed)
        model.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"],
                      steps_per_execution=training.STEPS_PER_EXECUTION, jit_compile=True)
        return model

    with mock.patch.object(models, "build", side_effect=xla_build) as built:
        accuracy = in_turn(spec, data, seeds, epochs)
    if built.call_count != seeds:
        raise RuntimeError("study.runs.train no longer builds its models with study.models.build: the xla route "
                           "would not compile them for XLA")
    return accuracy


def tf_data(spec, data, seeds: int, epochs: int) -> list[float]:
    """One seed after another, the study's model (`models.build`, the seed's initialisation) fitted with the study's
    epoch log from a `tf.data` pipeline (cached, shuffled every epoch with the seed, batched, prefetched) of the images
    the study's trainer fits, validated on those it holds out."""
    import tensorflow as tf

    from study import backend, models, training

    (x, y), validation = _split(spec, data)
    accuracy = []
    for seed in range(seeds):
        backend.seed_everything(seed)
        model = models.build(spec, seed)
        train = (tf.data.Dataset.from_tensor_slices((x, y)).cache()
                 .shuffle(len(y), seed=seed, reshuffle_each_iteration=True).batch(spec.training.batch_size)
                 .prefetch(tf.data.AUTOTUNE))
        model.fit(train, epochs=epochs, validation_data=validation, verbose=0, callbacks=[training.EpochLog()])
        accuracy.append(_tested(model, data))
    return accuracy


def one_graph(spec, data, seeds: int, epochs: int) -> list[float]:
    """The seeds in one Keras graph: each seed's model built by the study (`models.build`, its own initialisation),
    side by side, each fed its own shuffle of the images the study's trainer fits every epoch, validated on those it
    holds out, with the optimizer and loss the study compiles its models with (the first seed's, unused until
    now) and its steps per execution."""
    import numpy as np

    from study import backend, models, training

    keras = backend.use()
    nets = []
    for seed in range(seeds):
        backend.seed_everything(seed)
        nets.append(models.build(spec, seed))
        nets[-1].name = f"seed_{seed}"
    inputs = [keras.Input(models.INPUT_SHAPE) for _ in nets]
    graph = keras.Model(inputs, [net(i) for net, i in zip(nets, inputs)])
    graph.compile(optimizer=nets[0].optimizer, loss=[net.loss for net in nets], metrics=[["accuracy"]] * seeds,
                  steps_per_execution=training.STEPS_PER_EXECUTION)
    (x, y), (x_val, y_val) = _split(spec, data)
    shuffles = [np.random.default_rng(seed) for seed in range(seeds)]
    for _ in range(epochs):
        orders = [rng.permutation(len(y)) for rng in shuffles]
        graph.fit([x[o] for o in orders], [y[o] for o in orders], batch_size=spec.training.batch_size, shuffle=False,
                  verbose=0, validation_data=([x_val] * seeds, [y_val] * seeds))
    return [_tested(net, data) for net in nets]


# the routes to a cheaper run, the baseline (the study's trainer, seed after seed) first
ROUTE_TRAINERS = {"one after another": in_turn, "one graph": one_graph, "xla": xla, "tf.data": tf_data}
ROUTES = tuple(ROUTE_TRAINERS)


def route(spec_id: str, dataset: str, how: str, seeds: int, epochs: int) -> dict:
    """Train `seeds` seeds of a model with one thread, `how` (one of ROUTES), in this process; the seconds from the
    first seed's build to the last seed's test predictions, and each seed's test accuracy. Run in a fresh process."""
    spec, data = _setup(spec_id, dataset, threads=1)
    start = time.perf_counter()
    accuracy = ROUTE_TRAINERS[how](spec, data, seeds, epochs)
    return {"seconds": time.perf_counter() - start, "accuracy": accuracy}


def routes_cell(models: list[str], dataset: str, epochs: int, seeds: int, repeats: int) -> None:
    """(e) Each route against three seeds one after another with the study's trainer, fresh one-thread processes,
    the routes alternated within each repeat; printed as speed-ups of medians with the per-repeat range."""
    print(f"\n## (e) Routes to a cheaper run: {dataset}, all its training images, {epochs} epoch(s), {seeds} seeds, "
          f"one thread, {repeats} repeats; seconds for the seeds, compiling included, median (min–max); speed-up "
          f"against one after another, of medians (per-repeat range); mean test accuracy", flush=True)
    for spec_id in models:
        times: dict[str, list[float]] = {how: [] for how in ROUTES}
        accuracy: dict[str, list[float]] = {how: [] for how in ROUTES}
        for _ in range(repeats):
            for how in ROUTES:
                result = _fresh_process(spec_id, dataset, how, str(seeds), str(epochs), internal="--route")
                times[how].append(result["seconds"])
                accuracy[how] += result["accuracy"]
        base = times[ROUTES[0]]
        print(f"{spec_id}: " + "; ".join(
            f"{how} {_spread(v, 1)} s" + ("" if v is base else f" = {_ratios(base, v, False)}")
            + f", accuracy {statistics.mean(accuracy[how]):.4f}" for how, v in times.items()), flush=True)


def design_cell(book: Path, replicates: int) -> None:
    """(f) The seed designs on simulated claims whose truths are the built dataset `book`'s figures, with the
    seconds the simulation took; a line saying so where that dataset is not built."""
    from study import designs

    if not (book / "models").is_dir():
        print(f"\n## (f) Seed designs: {book} holds no built dataset (no models/ folder); build it first", flush=True)
        return
    print(f"\n## (f) Seed designs on simulated claims whose truths are {book}'s figures; mean ± sd over "
          f"{replicates} replicates", flush=True)
    start = time.perf_counter()
    print(designs.table(book / "models", replicates), flush=True)
    print(f"({time.perf_counter() - start:.0f} s)", flush=True)


def _spread(values: list[float], digits: int = 0) -> str:
    """median (min–max)"""
    return (f"{statistics.median(values):,.{digits}f} ({min(values):,.{digits}f}–{max(values):,.{digits}f})")


def _ratios(base: list[float], other: list[float], higher_is_better: bool = True) -> str:
    """The ratio of medians, and the range of the per-repeat ratios (repeat k of one against repeat k of the other)."""
    pairs = [o / b if higher_is_better else b / o for b, o in zip(base, other)]
    median = (statistics.median(other) / statistics.median(base) if higher_is_better
              else statistics.median(base) / statistics.median(other))
    return f"{median:.2f}x ({min(pairs):.2f}–{max(pairs):.2f})"


def per_process_cell(title: str, models: list[str], configs: dict[str, tuple[int, str]], dataset: str, epochs: int,
                     images: int, repeats: int, threads: int) -> dict[str, dict[str, list[float]]]:
    """Images/s of each model under each configuration (steps per execution, precision), in fresh processes with
    the same threads, the configurations alternated within each repeat; printed against the first."""
    print(f"\n## {title}\n{dataset}, {images:,} training images, {epochs} epochs, {threads} thread(s) per process, "
          f"{repeats} repeats; training images/s after the first epoch, median (min–max); ratio to "
          f"{next(iter(configs))}, of medians (per-repeat range)", flush=True)
    table = {}
    for spec_id in models:
        runs: dict[str, list[float]] = {name: [] for name in configs}
        accuracy = {}
        for _ in range(repeats):
            for name, (steps, precision) in configs.items():
                result = _fresh_process(spec_id, dataset, str(epochs), str(images), str(steps), precision, str(threads))
                runs[name].append(result["images_per_s"])
                accuracy[name] = result["accuracy"]
        base = next(iter(runs.values()))
        print(f"{spec_id}: " + "; ".join(f"{name} {_spread(v)}" + ("" if v is base else f" = {_ratios(base, v)}")
                                         for name, v in runs.items())
              + "; test accuracy " + "/".join(f"{a:.4f}" for a in accuracy.values()), flush=True)
        table[spec_id] = runs
    return table


def _params(folder: Path, epochs: int | None) -> Path:
    """The ten parameter files, copied into `folder`, with `epochs` epochs each if given (the study's shape in
    minutes), else as they are."""
    from study.spec import PARAMS_DIR

    folder.mkdir(parents=True, exist_ok=True)
    for path in PARAMS_DIR.glob("*.yaml"):
        text = path.read_text()
        line = next(line for line in text.splitlines() if line.strip().startswith("epochs:"))
        (folder / path.name).write_text(text.replace(line, f"  epochs: {epochs}") if epochs else text)
    return folder


def plain_loop(params: str, dataset: str, seeds: int = 1, part: int = 0, parts: int = 1) -> None:
    """The loop a reader of the seed report would write: each model built and fitted with plain `fit` (no steps
    per execution, the backend's default threads) once per seed, one after another, in this process (`part` of
    `parts`: every parts-th model from the part-th, so that several processes can share the models)."""
    from study import backend

    backend.use(threads=0 if parts == 1 else max(1, (os.cpu_count() or 1) // parts))
    from study import data as data_mod
    from study import models, training
    from study.spec import load_specs

    data = data_mod.load(dataset)
    x = training.as_inputs(data.x_train)
    for spec in list(load_specs(params).values())[part::parts]:
        for seed in range(seeds):
            backend.seed_everything(seed)
            model = models.build(spec, seed)
            model.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"])
            model.fit(x, data.y_train, batch_size=spec.training.batch_size, epochs=spec.training.epochs,
                      validation_split=spec.training.validation_split, verbose=0)


def _seconds(*commands: list[str]) -> tuple[float, str]:
    """Wall time of the commands run side by side, until the last ends, and what they printed."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        running = [subprocess.Popen(c, cwd=REPO, stdout=out, stderr=subprocess.DEVNULL) for c in commands]
        if any(p.wait() for p in running):
            raise RuntimeError(f"a benchmark command failed: {commands}")
        seconds = time.perf_counter() - start
        out.seek(0)
        return seconds, out.read()


def busy(printed: str) -> float | None:
    """The workers' mean busy share a `pipeline.execute` run printed (0-1), None if it printed none."""
    line = next((line for line in printed.splitlines() if " were busy " in line), None)
    return float(line.rsplit("(", 1)[1].split("%")[0]) / 100 if line else None


PLAIN = "plain fit, one after another"
Times = dict[str, list[float]]  # seconds of each configuration, one per repeat


def _study_configs(params: Path, root: str, dataset: str, seeds: int, only: str | None) -> dict[str, list[list[str]]]:
    """The configurations of cells (b) and (d), each as the commands it runs side by side: the reader's plain loop,
    (b only) that loop split over one process per core and the pipeline with -j 1, and the pipeline with one worker
    per core (the default -j), last."""
    cores = os.cpu_count() or 1
    study = [sys.executable, "-m", "pipeline.execute", "--params", str(params), "--root", root, "--datasets",
             dataset, "--seeds", str(seeds), "--force"]
    loop = [sys.executable, "-m", "pipeline.bench", "--plain-loop", str(params), dataset, str(seeds)]
    configs = {PLAIN: [loop]}
    if only in (None, "parallel"):
        configs[f"plain fit, {cores} processes side by side"] = [[*loop, str(k), str(cores)] for k in range(cores)]
        configs["pipeline -j 1"] = [[*study, "-j", "1"]]
    configs[f"pipeline -j {cores}"] = [[*study, "-j", str(cores)]]
    return configs


def _alternated(configs: dict[str, list[list[str]]], root: Path, repeats: int) -> tuple[Times, list[float | None]]:
    """Each configuration's seconds, `repeats` times, the configurations alternating within each repeat and each
    starting from an empty book (its run store too, so the pipeline trains every run); and the workers' busy share
    in each run of the pipeline with the default -j."""
    times: Times = {name: [] for name in configs}
    shares: list[float | None] = []
    default = f"pipeline -j {os.cpu_count() or 1}"
    for repeat in range(1, repeats + 1):
        for name, commands in configs.items():
            shutil.rmtree(root / "book", ignore_errors=True)
            seconds, printed = _seconds(*commands)
            times[name].append(seconds)
            if name == default:
                shares.append(busy(printed))
            print(f"repeat {repeat}, {name}: {seconds:.1f} s", flush=True)
    return times, shares


def _print_study(times: Times, shares: list[float | None], dataset: str, seeds: int,
                 epochs: int | None, repeats: int, only: str | None) -> None:
    """Cells (b) and (d) from the seconds `_alternated` measured."""
    cores = os.cpu_count() or 1
    plain, parallel = times[PLAIN], times[f"pipeline -j {cores}"]
    shape = f"{epochs} epoch(s) per model" if epochs else "the parameter files' epochs"
    print(f"\n## The ten-model study on {dataset}: {seeds} seed(s), {shape}, all its training images; "
          f"{repeats} repeats, seconds, median (min–max); ratios are speed-ups")
    for name, values in times.items():
        print(f"{name}: {_spread(values, 1)} s")
    print(f"workers' mean busy share in the pipeline -j {cores} runs: "
          + ", ".join("—" if s is None else f"{s:.0%}" for s in shares))
    if only in (None, "parallel"):
        one, side_by_side = times["pipeline -j 1"], times[f"plain fit, {cores} processes side by side"]
        print(f"(b) parallel: pipeline -j {cores} against -j 1 (same trainer): {_ratios(one, parallel, False)}; "
              f"plain fit, {cores} processes side by side against one after another: "
              f"{_ratios(plain, side_by_side, False)}")
    if only in (None, "study"):
        print(f"(d) the whole study (pipeline, default -j {cores}) against the reader's plain loop: "
              f"{_ratios(plain, parallel, False)}")


def study_cells(dataset: str, repeats: int, only: str | None, seeds: int = 3, epochs: int | None = None) -> None:
    """(b) -j 1 against -j 2 of `pipeline.execute`, and plain `fit` one model after another and side by side; (d)
    the whole study as `nox -s execute` runs it (default -j) against that plain loop: ten models, `seeds` seeds
    each, `epochs` epochs (None: the parameter files'). Each repeat alternates the configurations; every pipeline
    run starts from an empty book, its run store too, so it trains every run."""
    with tempfile.TemporaryDirectory() as tmp:
        params = _params(Path(tmp) / "params", epochs)
        shutil.copy(REPO / "_config.yml", tmp)
        times, shares = _alternated(_study_configs(params, tmp, dataset, seeds, only), Path(tmp), repeats)
    _print_study(times, shares, dataset, seeds, epochs, repeats, only)


def _parser() -> argparse.ArgumentParser:
    """The command line: the cells to run and their shape, and the internal measurements each runs in a fresh
    process."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("steps", "parallel", "precision", "study", "routes", "design"), default=None)
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--study-dataset", default=None,
                        help="the dataset of the ten-model cells (b) and (d), if not --dataset (mnist-sample: minutes)")
    parser.add_argument("--study-seeds", type=int, default=3, help="seeds per model in the cells (b) and (d)")
    parser.add_argument("--study-epochs", type=int, default=None,
                        help="epochs per model in the cells (b) and (d) (default: the parameter files')")
    parser.add_argument("--models", nargs="+", default=["model_01", "model_04", "model_06"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--images", type=int, default=20000, help="training images per measurement (per-process cells)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of every cell, at least 2")
    parser.add_argument("--book", default="book/mnist",
                        help="the design cell's built dataset folder (its models/ inside), relative to the repository")
    parser.add_argument("--replicates", type=int, default=200, help="simulated studies of the design cell")
    parser.add_argument("--measure", nargs=7, help="internal: one measurement, printed as JSON")
    parser.add_argument("--route", nargs=5, metavar=("MODEL", "DATASET", "ROUTE", "SEEDS", "EPOCHS"),
                        help="internal: one route's measurement, printed as JSON")
    parser.add_argument("--plain-loop", nargs="+", metavar="PARAMS DATASET [SEEDS PART PARTS]",
                        help="internal: the reader's loop")
    return parser


def _internal(args: argparse.Namespace) -> None:
    """One internal measurement (`--measure`, `--route`, `--plain-loop`), in this fresh process."""
    if args.measure:
        spec_id, dataset, epochs, images, steps, precision, threads = args.measure
        print(json.dumps(measure(spec_id, dataset, int(epochs), int(images), int(steps), precision, int(threads))))
    elif args.route:
        spec_id, dataset, how, seeds, epochs = args.route
        print(json.dumps(route(spec_id, dataset, how, int(seeds), int(epochs))))
    else:
        params, dataset, *part = args.plain_loop
        plain_loop(params, dataset, *map(int, part))


def _cells(args: argparse.Namespace) -> None:
    """The cells `--only` asks for (all by default), in the order the module's docstring lists them."""
    cores = os.cpu_count() or 1
    if args.only in (None, "steps"):
        per_process_cell("(a) Steps per execution: fit against fit(steps_per_execution=N), one process",
                         args.models, {f"steps {n}": (n, "float32") for n in STEPS}, args.dataset, args.epochs,
                         args.images, args.repeats, cores)
    if args.only in (None, "precision"):
        from study.training import STEPS_PER_EXECUTION

        per_process_cell("(c) Precision: float32 against mixed_bfloat16, the same trainer, one process", args.models,
                         {"float32": (STEPS_PER_EXECUTION, "float32"),
                          "mixed_bfloat16": (STEPS_PER_EXECUTION, "mixed_bfloat16")},
                         args.dataset, args.epochs, args.images, args.repeats, cores)
    if args.only in (None, "parallel", "study"):
        study_cells(args.study_dataset or args.dataset, args.repeats, args.only, args.study_seeds, args.study_epochs)
    if args.only in (None, "routes"):
        routes_cell(args.models, args.dataset, args.epochs, args.study_seeds, args.repeats)
    if args.only in (None, "design"):
        design_cell(REPO / args.book, args.replicates)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    internal = args.measure or args.plain_loop or args.route
    if args.repeats < 2 and not internal:
        parser.error("--repeats must be at least 2: every cell reports a median and a spread")
    kernel_env()
    if internal:
        _internal(args)
    else:
        _cells(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
