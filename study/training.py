"""Fitting a model from a fresh, seeded initialisation, one log line per epoch."""

from __future__ import annotations

import math
import os
import platform
import time
from dataclasses import dataclass

import numpy as np

from study.backend import keras, tf
from study.data import Dataset
from study.results import Hardware
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


def hardware() -> Hardware:
    """The machine training runs on: processor, cores, TensorFlow's threads per op and the devices it sees.
    Results are bitwise repeatable for the same seed, devices and thread count."""
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return Hardware(machine=platform.machine(), processor=platform.processor() or platform.machine(),
                    cpu_count=os.cpu_count() or 1, threads=tf.config.threading.get_intra_op_parallelism_threads() or None,
                    devices=gpus or ["CPU"])


@dataclass(frozen=True)
class Fit:
    """What training produced: per-epoch history and the wall time of `fit`."""

    history: dict[str, list[float]]
    seconds: float


class _Epochs:
    """One TensorFlow function per epoch over tensors in memory: Keras' loss, gradients and optimizer, driven
    without `fit`'s per-step Python work and tf.data pipeline; the optimizer's update is compiled by XLA."""

    def __init__(self, model: keras.Model, batch_size: int):
        self.model, self.batch_size = model, batch_size
        variables = model.trainable_variables
        model.optimizer.build(variables)
        self.apply = tf.function(lambda grads: model.optimizer.apply(grads, variables), jit_compile=True)
        self.loss = keras.metrics.Mean()
        self.accuracy = keras.metrics.SparseCategoricalAccuracy()
        self.fit_epoch = tf.function(self._fit_epoch)
        self.evaluate = tf.function(self._evaluate)

    def _fit_epoch(self, x, y, order):
        for start in tf.range(0, tf.shape(order)[0], self.batch_size):
            rows = order[start:start + self.batch_size]
            xb, yb = tf.gather(x, rows), tf.gather(y, rows)
            with tf.GradientTape() as tape:
                y_pred = self.model(xb, training=True)
                loss = self.model.compute_loss(x=xb, y=yb, y_pred=y_pred, training=True)
            self.apply(tape.gradient(loss, self.model.trainable_variables))
            self._update(loss, yb, y_pred)
        return self._results()

    def _evaluate(self, x, y):
        for start in tf.range(0, tf.shape(y)[0], self.batch_size):
            xb, yb = x[start:start + self.batch_size], y[start:start + self.batch_size]
            y_pred = self.model(xb, training=False)
            self._update(self.model.compute_loss(x=xb, y=yb, y_pred=y_pred, training=False), yb, y_pred)
        return self._results()

    def _update(self, loss, y, y_pred):
        self.loss.update_state(loss, sample_weight=tf.shape(y)[0])
        self.accuracy.update_state(y, y_pred)

    def _results(self):
        return {"loss": self.loss.result(), "accuracy": self.accuracy.result()}

    def reset(self) -> None:
        self.loss.reset_state()
        self.accuracy.reset_state()


def train(model: keras.Model, spec: ModelSpec, data: Dataset, epochs: int | None = None,
          callbacks: list[keras.callbacks.Callback] = (), log: bool = True) -> Fit:
    """Fit `model` with the spec's batch size, epochs and validation split, as Keras' `fit` on arrays does.

    The last `validation_split` of the training images is held out and the rest reshuffled every epoch (NumPy's
    seeded generator); each epoch runs as one TensorFlow function, faster than `fit` (figures: README, Speed).
    """
    start = time.perf_counter()
    x, y = as_inputs(data.x_train), data.y_train.astype("int32")
    split = int(math.floor(len(y) * (1 - spec.training.validation_split)))
    x_fit, y_fit = tf.constant(x[:split]), tf.constant(y[:split])
    x_val, y_val = tf.constant(x[split:]), tf.constant(y[split:])
    epochs = epochs or spec.training.epochs
    runner = _Epochs(model, spec.training.batch_size)
    hooks = keras.callbacks.CallbackList([*([EpochLog()] if log else []), *callbacks], model=model,
                                         epochs=epochs, verbose=0)
    history: dict[str, list[float]] = {}
    hooks.on_train_begin()
    for epoch in range(epochs):
        hooks.on_epoch_begin(epoch)
        runner.reset()
        logs = runner.fit_epoch(x_fit, y_fit, tf.constant(np.random.permutation(split), tf.int32))
        if split < len(y):
            runner.reset()
            logs |= {f"val_{k}": v for k, v in runner.evaluate(x_val, y_val).items()}
        logs = {k: float(v) for k, v in logs.items()}
        for k, v in logs.items():
            history.setdefault(k, []).append(v)
        hooks.on_epoch_end(epoch, logs)
    hooks.on_train_end()
    return Fit(history, time.perf_counter() - start)


def predict(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Predicted class of each image."""
    return model.predict(as_inputs(images), batch_size=1024, verbose=0).argmax(axis=1)
