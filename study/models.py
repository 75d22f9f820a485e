"""Keras models built from a spec, and their layer tables."""

from __future__ import annotations

import random

import pandas as pd

from study.backend import keras
from study.spec import ModelSpec
from study.training import STEPS_PER_EXECUTION

INPUT_SHAPE = (28, 28, 1)
N_CLASSES = 10


def build(spec: ModelSpec, seed: int) -> keras.Sequential:
    """Conv2D + max pooling per conv layer, Flatten, Dense, Dense softmax; compiled with the spec's optimizer
    (Adam), the seed's loss and accuracy, and STEPS_PER_EXECUTION steps per call into the backend.

    Each layer's kernel initialiser gets its own seed from a private `random.Random(seed)`: the seeds Keras would
    draw from Python's global `random` right after `random.seed(seed)`, but out of reach of other threads of the
    process that draw from it meanwhile (a Dask worker's heartbeat does, in `dask.sizeof`)."""
    rng = random.Random(seed)

    def kernel() -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(seed=rng.randint(1, int(1e9)))

    layers: list[keras.layers.Layer] = [keras.Input(INPUT_SHAPE)]
    for conv in spec.conv:
        layers.append(keras.layers.Conv2D(conv.filters, conv.kernel, activation=conv.activation,
                                          kernel_initializer=kernel()))
        layers.append(keras.layers.MaxPooling2D(spec.pool))
    layers += [
        keras.layers.Flatten(),
        keras.layers.Dense(spec.dense_units, activation=spec.dense_activation, kernel_initializer=kernel()),
        keras.layers.Dense(N_CLASSES, activation="softmax", dtype="float32", kernel_initializer=kernel()),
    ]
    model = keras.Sequential(layers, name=spec.id)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=spec.training.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    return model


def layer_table(model: keras.Model) -> pd.DataFrame:
    """One row per layer: name, type, output shape and parameter count, as Keras' summary shows them."""
    return pd.DataFrame(
        [
            {
                "layer": layer.name,
                "type": type(layer).__name__,
                "output shape": str((None, *layer.output.shape[1:])),
                "params": layer.count_params(),
            }
            for layer in model.layers
        ]
    ).set_index("layer")
