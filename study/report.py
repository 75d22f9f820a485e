"""Tables and notices that the report's pages display."""

from __future__ import annotations

import pandas as pd

from study.data import LABELS
from study.spec import ModelSpec
from study.stats import mean_ci


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


def _mean_sd(summary: dict) -> str:
    return f"{summary['mean']:.4f}" if summary["n"] < 2 else f"{summary['mean']:.4f} ± {summary['sd']:.4f}"


def seed_vs_reproduced(record: dict, runs: list[dict]) -> pd.DataFrame:
    """The seed's figures beside this study's (mean ± sd over seeds); precision/recall/F1 as the seed computed them and macro."""
    seed, summ = record["spec"]["seed_report"], record["summary"]
    first = mean_ci([r["history"]["accuracy"][0] for r in runs])
    last = mean_ci([r["history"]["accuracy"][-1] for r in runs])
    macro = {k: mean_ci([r["test"]["macro"][k] for r in runs]) for k in ("precision", "recall", "f1")}
    positive = record["positive_class"]
    rows = [
        ("test accuracy", seed.get("accuracy"), _mean_sd(summ["accuracy"])),
        (f"precision, {positive} as positive class", seed.get("precision"), _mean_sd(summ["positive_precision"])),
        (f"recall, {positive} as positive class", seed.get("recall"), _mean_sd(summ["positive_recall"])),
        (f"F1, {positive} as positive class", seed.get("f1"), _mean_sd(summ["positive_f1"])),
        ("precision, macro average", None, _mean_sd(macro["precision"])),
        ("recall, macro average", None, _mean_sd(macro["recall"])),
        ("F1, macro average", None, _mean_sd(macro["f1"])),
        ("training accuracy, first epoch", seed.get("train_accuracy_first"), _mean_sd(first)),
        ("training accuracy, last epoch", seed.get("train_accuracy_last"), _mean_sd(last)),
        ("parameters", seed.get("params"), record["param_count"]),
    ]
    dataset = LABELS[record["dataset"]["name"]]
    seed_column = "seed reported (MNIST)" if positive == "digit 1" else "seed reported (MNIST, digit 1)"
    frame = pd.DataFrame(rows, columns=["figure", seed_column, f"reproduced on {dataset} ({len(runs)} seeds)"])
    return frame.set_index("figure").astype(object).fillna("—")


def seed_runs(runs: list[dict]) -> pd.DataFrame:
    """Each seed's test figures and training time, then their mean ± sd and 95 % confidence interval."""
    frame = pd.DataFrame([{"seed": r["seed"], "accuracy": r["test"]["accuracy"], "macro F1": r["test"]["macro"]["f1"],
                           f"F1, {r['test']['positive_class']['name']}": r["test"]["positive_class"]["f1"],
                           "train s": r["seconds"]["train"]}
                          for r in runs]).set_index("seed")
    summaries = {col: mean_ci(frame[col]) for col in frame.columns}
    extra = pd.DataFrame({
        "mean ± sd": {c: _mean_sd(v) for c, v in summaries.items()},
        "95 % CI": {c: "—" if v["n"] < 2 else f"[{v['low']:.4f}, {v['high']:.4f}]" for c, v in summaries.items()},
    }).T
    return pd.concat([frame.round(4).astype(object), extra])


def per_class(test: dict) -> pd.DataFrame:
    """scikit-learn's per-class precision, recall, F1 and support, from `metrics.evaluate`."""
    return pd.DataFrame(test["per_class"]).set_index("name").drop(columns="class").round(4)


def data_notice(dataset: dict) -> str:
    """A MyST admonition naming the data a page was computed on, its source and the arrays' hash; a warning when
    it is not what was asked for."""
    text = (f"Computed on **{LABELS[dataset['name']]}**: {dataset['n_train']:,} training and {dataset['n_test']:,} "
            f"test images, from {dataset['source']}; SHA-256 of the arrays `{dataset['sha256']}`.")
    if dataset["name"] != dataset["requested"]:
        return (f"```{{warning}}\nThis page was asked to use **{LABELS[dataset['requested']]}**, which could not be "
                f"had ({dataset['fallback_reason']}). {text} Figures on small data are noisier and are not "
                f"comparable with the seed report's.\n```")
    return f"```{{note}}\n{text}\n```"
