"""Tables and notices that the report's pages display."""

from __future__ import annotations

import pandas as pd

from study.spec import ModelSpec


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


def seed_vs_reproduced(result: dict) -> pd.DataFrame:
    """The seed's figures beside this run's, with precision/recall/F1 both as the seed computed them and macro."""
    seed = result["spec"]["seed_report"]
    test, hist = result["test"], result["history"]
    rows = [
        ("test accuracy", seed.get("accuracy"), test["accuracy"]),
        ("precision, digit 1 as positive class", seed.get("precision"), test["digit1"]["precision"]),
        ("recall, digit 1 as positive class", seed.get("recall"), test["digit1"]["recall"]),
        ("F1, digit 1 as positive class", seed.get("f1"), test["digit1"]["f1"]),
        ("precision, macro average", None, test["macro"]["precision"]),
        ("recall, macro average", None, test["macro"]["recall"]),
        ("F1, macro average", None, test["macro"]["f1"]),
        ("training accuracy, first epoch", seed.get("train_accuracy_first"), hist["accuracy"][0]),
        ("training accuracy, last epoch", seed.get("train_accuracy_last"), hist["accuracy"][-1]),
        ("parameters", seed.get("params"), result["param_count"]),
    ]
    frame = pd.DataFrame(rows, columns=["figure", "seed reported", "reproduced"]).set_index("figure")
    return frame.astype(object).where(frame.notna(), "—")


def per_class(test: dict) -> pd.DataFrame:
    """scikit-learn's per-class precision, recall, F1 and support, from `metrics.evaluate`."""
    return pd.DataFrame(test["per_class"]).set_index("name").drop(columns="class").round(4)


def data_notice(dataset: dict) -> str:
    """A MyST admonition naming the data a page was computed on; a warning when it is not what was asked for."""
    text = (f"Computed on **{dataset['name']}**: {dataset['n_train']:,} training and {dataset['n_test']:,} "
            f"test images, from {dataset['source']}.")
    if dataset["name"] != dataset["requested"]:
        return (f"```{{warning}}\nThis page was asked to use **{dataset['requested']}**, which could not be "
                f"loaded ({dataset['fallback_reason']}). {text} Figures on small data are noisier and are not "
                f"comparable with the seed report's.\n```")
    return f"```{{note}}\n{text}\n```"
