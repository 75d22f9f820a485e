"""TensorFlow and Keras, imported once with TensorFlow's start-up log lines silenced.

TensorFlow writes INFO lines (oneDNN, CUDA probing) to file descriptor 2 before its logging is configured,
ignoring TF_CPP_MIN_LOG_LEVEL; in a notebook they would land in every page. Import errors still raise.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _import_quietly():
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras
        import tensorflow as tf
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tf, keras


tf, keras = _import_quietly()
