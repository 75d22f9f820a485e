"""Tables and notices that the report's pages display (display labels live here, never in the data)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from study.data import LABELS, Provenance
from study.results import SUMMARY_COLUMNS, ModelRecord, RunRecord
from study.spec import ModelSpec
from study.stats import UNIT, Summary, interval, mean_ci


def configurations(specs: dict[str, ModelSpec]) -> pd.DataFrame:
    """The study's design: one row per parameter file."""
    rows = []
    for spec in specs.values():
        t = spec.training
        rows.append({
            "model": spec.id,
            "title": spec.title.split(": ", 1)[-1],
            "conv layers": " → ".join(f"{c.filters}@{c.kernel}×{c.kernel} {c.activation}" for c in spec.conv),
            "pooling": f"{spec.pool}×{spec.pool} max",
            "dense": f"{spec.dense_units} {spec.dense_activation}",
            "batch": t.batch_size,
            "epochs": t.epochs,
            "learning rate": t.learning_rate,
            "varies": spec.factor,
            "compared with": spec.compare_with or "—",
        })
    return pd.DataFrame(rows).set_index("model")


def layer_totals(table: pd.DataFrame) -> str:
    """The line under a layer table, as Keras prints it."""
    total = int(table["params"].sum())
    return f"Total params: {total:,} (all trainable)"


def mean_sd(summary: Summary) -> str:
    """`mean ± sd` with four decimals (the mean alone for one value)."""
    return f"{summary.mean:.4f}" if summary.n < 2 else f"{summary.mean:.4f} ± {summary.sd:.4f}"


def figure(value) -> str:
    """A value as every table prints it: integers as integers, fractions with four decimals, "—" for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{value:.4f}"
    return str(value)


def seed_vs_reproduced(record: ModelRecord, runs: list[RunRecord]) -> pd.DataFrame:
    """The seed's figures beside this study's (mean ± sd over seeds); precision/recall/F1 as the seed computed
    them (class 1 as the positive class) and macro-averaged."""
    seed, summ, positive = record.spec.seed_report, record.summary, record.positive_class
    first = mean_ci([r.history["accuracy"][0] for r in runs])
    last = mean_ci([r.history["accuracy"][-1] for r in runs])
    macro = {k: mean_ci([getattr(r.test.macro, k) for r in runs]) for k in ("precision", "recall", "f1")}
    rows = [
        ("test accuracy", seed.accuracy, mean_sd(summ.accuracy)),
        (f"precision, {positive} as positive class", seed.precision, mean_sd(summ.positive_precision)),
        (f"recall, {positive} as positive class", seed.recall, mean_sd(summ.positive_recall)),
        (f"F1, {positive} as positive class", seed.f1, mean_sd(summ.positive_f1)),
        ("precision, macro average", None, mean_sd(macro["precision"])),
        ("recall, macro average", None, mean_sd(macro["recall"])),
        ("F1, macro average", None, mean_sd(macro["f1"])),
        ("training accuracy, first epoch", seed.train_accuracy_first, mean_sd(first)),
        ("training accuracy, last epoch", seed.train_accuracy_last, mean_sd(last)),
        ("parameters", seed.params, record.param_count),
    ]
    seed_column = "seed reported (MNIST)" if positive == "digit 1" else "seed reported (MNIST, digit 1)"
    frame = pd.DataFrame([(name, figure(seed_value), figure(ours)) for name, seed_value, ours in rows],
                         columns=["figure", seed_column, f"reproduced on {record.dataset.label} ({len(runs)} seeds)"])
    return frame.set_index("figure")


def seed_runs(runs: list[RunRecord]) -> pd.DataFrame:
    """Each seed's test figures and training time, then their mean ± sd and 95 % confidence interval."""
    positive = runs[0].test.positive_class.name
    frame = pd.DataFrame([{"seed": r.seed, "accuracy": r.test.accuracy, "macro F1": r.test.macro.f1,
                           f"F1, {positive}": r.test.positive_class.f1, "train s": r.seconds.train}
                          for r in runs]).set_index("seed")
    summaries = {col: mean_ci(frame[col], bounds=None if col == "train s" else UNIT) for col in frame.columns}
    extra = pd.DataFrame({
        "mean ± sd": {c: mean_sd(v) for c, v in summaries.items()},
        "95 % CI": {c: interval(v) for c, v in summaries.items()},
    }).T
    return pd.concat([frame.map(figure), extra])


def per_class(run: RunRecord) -> pd.DataFrame:
    """scikit-learn's per-class precision, recall, F1 and support of one run."""
    return pd.DataFrame([c.model_dump() for c in run.test.per_class]).set_index("name").drop(columns="label").map(figure)


def summary_table(table: pd.DataFrame, positive_class: str) -> pd.DataFrame:
    """`study.results.summary` for display: labelled columns, dashes for what is missing."""
    labels = {k: v.format(positive=positive_class) for k, v in SUMMARY_COLUMNS.items()}
    return table.rename(columns=labels).map(figure)


def how_computed(record: ModelRecord, *, epochs: int, threads: int, inputs_hash: str | None) -> str:
    """What a model page was computed with and on, and how long it took (parameters, data, software, hardware), as
    a MyST table."""
    hardware, seconds, data = record.hardware, record.seconds, record.dataset
    speed = (f"{seconds.images_per_second:,.0f} (after the first epoch, median over seeds)"
             if seconds.images_per_second else "— (one epoch only: the first includes compiling)")
    rows = {
        "parameter file": f"notebooks/params/{record.id}.yaml",
        "seeds": ", ".join(map(str, record.seeds)),
        "epochs": str(epochs) + (" (smoke run)" if record.smoke else ""),
        "data": f"{data.label}: {data.n_train:,} training and {data.n_test:,} test images from {data.source}",
        "data SHA-256 (arrays)": f"`{data.sha256}`",
        "training": f"Keras' fit on {hardware.backend} {hardware.backend_version}, {record.steps_per_execution} "
                    f"steps per execution, {record.precision}",
        "threads per op": str(hardware.threads or "all cores") + ("" if threads else " (the backend's default)"),
        "devices": ", ".join(hardware.devices),
        "processor": f"{hardware.processor} ({hardware.machine}), {hardware.cpu_count} cores",
        "training time": f"{seconds.train:.1f} s over {len(record.seeds)} seed(s)",
        "training images per second": speed,
        "whole page": f"{seconds.total:.1f} s",
        "versions": ", ".join(f"{k} {v}" for k, v in record.versions.items()),
        "inputs hash": f"`{inputs_hash}`" if inputs_hash else "— (run by hand)",
    }
    return "| what | this page used |\n| --- | --- |\n" + "\n".join(f"| {k} | {v.replace('|', '/')} |" for k, v in rows.items())


def data_notice(dataset: Provenance) -> str:
    """A MyST admonition naming the data a page was computed on, its source and the arrays' hash; a warning when
    it is not what was asked for."""
    text = (f"Computed on **{dataset.label}**: {dataset.n_train:,} training and {dataset.n_test:,} "
            f"test images, from {dataset.source}; SHA-256 of the arrays `{dataset.sha256}`.")
    if dataset.fell_back:
        return (f"```{{warning}}\nThis page was asked to use **{LABELS[dataset.requested]}**, which could not be "
                f"had ({dataset.fallback_reason}). {text} Figures on small data are noisier and are not "
                f"comparable with the seed report's.\n```")
    return f"```{{note}}\n{text}\n```"
