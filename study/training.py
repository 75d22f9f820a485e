"""Training with Keras' own `fit`, as the seed report did, with one log line and one timing per epoch."""

from __future__ import annotations

import time

import numpy as np

from study.backend import keras

# Keras runs this many training steps per call into the backend: one step per call spends most of a small
# model's time in Python. Chosen by measurement (`nox -s bench -- --only steps`); it changes no figure.
STEPS_PER_EXECUTION = 64


def set_precision(policy: str) -> None:
    """Keras' global dtype policy for models built afterwards: `float32` (default) or `mixed_bfloat16`."""
    keras.mixed_precision.set_global_policy(policy)


def as_inputs(images: np.ndarray) -> np.ndarray:
    """uint8 images (n, 28, 28) as float32 in [0, 1] with a channel axis (n, 28, 28, 1)."""
    return (images.astype("float32") / 255.0)[..., None]


def epoch_line(epoch: int, epochs: int | str, logs: dict, seconds: float) -> str:
    """The log line of epoch `epoch` (from 0) of `epochs`: its metrics and its seconds."""
    metrics = "  ".join(f"{k} {float(v):.4f}" for k, v in logs.items() if k != "learning_rate")
    return f"epoch {epoch + 1}/{epochs}  {metrics}  ({seconds:.1f} s)"


class EpochLog(keras.callbacks.Callback):
    """Prints one line per epoch (instead of Keras' progress bar) so stored outputs stay short, and times
    each epoch and the whole of `fit`."""

    def __init__(self, log: bool = True):
        super().__init__()
        self.log = log
        self.epoch_seconds: list[float] = []
        self.seconds = 0.0

    def on_train_begin(self, logs=None):
        self._fit_start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_seconds.append(time.perf_counter() - self._start)
        if self.log:
            print(epoch_line(epoch, self.params.get("epochs", "?"), logs or {}, self.epoch_seconds[-1]), flush=True)

    def on_train_end(self, logs=None):
        self.seconds = time.perf_counter() - self._fit_start


def predict(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Predicted class of each image."""
    return model.predict(as_inputs(images), batch_size=1024, verbose=0).argmax(axis=1)
