"""Fitting a model from a fresh, seeded initialisation, one log line per epoch."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from study.backend import keras, tf
from study.data import Dataset
from study.spec import ModelSpec


def set_threads(threads: int) -> None:
    """Limit TensorFlow to `threads` threads per op and between ops (0 keeps its default: every core).

    Must run before TensorFlow executes its first op; parallel workers use it so that workers x threads
    does not exceed the cores.
    """
    if threads > 0:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def set_precision(policy: str) -> None:
    """Keras' global dtype policy for models built afterwards: `float32` (default) or `mixed_bfloat16`."""
    keras.mixed_precision.set_global_policy(policy)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's ops deterministic."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def as_inputs(images: np.ndarray) -> np.ndarray:
    """uint8 images (n, 28, 28) as float32 in [0, 1] with a channel axis (n, 28, 28, 1)."""
    return (images.astype("float32") / 255.0)[..., None]


class EpochLog(keras.callbacks.Callback):
    """Prints one line per epoch (instead of Keras' progress bar) so stored outputs stay short."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        metrics = "  ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items() if k != "learning_rate")
        total = self.params.get("epochs", "?")
        print(f"epoch {epoch + 1}/{total}  {metrics}  ({time.perf_counter() - self._start:.1f} s)", flush=True)


@dataclass(frozen=True)
class Fit:
    """What training produced: per-epoch history and the wall time of `fit`."""

    history: dict[str, list[float]]
    seconds: float


def train(model: keras.Model, spec: ModelSpec, data: Dataset, epochs: int | None = None,
          callbacks: list[keras.callbacks.Callback] = (), log: bool = True) -> Fit:
    """Fit `model` on the training set with the spec's batch size, epochs and validation split."""
    start = time.perf_counter()
    history = model.fit(
        as_inputs(data.x_train),
        data.y_train,
        batch_size=spec.training.batch_size,
        epochs=epochs or spec.training.epochs,
        validation_split=spec.training.validation_split,
        verbose=0,
        callbacks=[*([EpochLog()] if log else []), *callbacks],
    )
    seconds = time.perf_counter() - start
    return Fit({k: [float(v) for v in vs] for k, vs in history.history.items()}, seconds)


def predict(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Predicted class of each image."""
    return model.predict(as_inputs(images), batch_size=1024, verbose=0).argmax(axis=1)
