import numpy as np

from study import data, metrics, models, training
from study.spec import load_specs


def run_once(seed: int, subset: data.Dataset) -> tuple[dict, dict]:
    spec = load_specs()["model_06"]
    training.seed_everything(seed)
    model = models.build(spec)
    fit = training.train(model, spec, subset, epochs=2)
    test = metrics.evaluate(subset.y_test, training.predict(model, subset.x_test), subset.class_names)
    return fit.history, test


def test_same_seed_gives_identical_metrics_twice():
    subset = data.load("mnist-sample", smoke=True)
    first, second, other = run_once(7, subset), run_once(7, subset), run_once(8, subset)
    assert first == second
    # a different seed changes the run, so the equality above is not vacuous
    assert first[0]["loss"] != other[0]["loss"]


def test_epoch_log_prints_one_line_per_epoch(capsys):
    subset = data.load("mnist-sample", smoke=True)
    spec = load_specs()["model_01"]
    training.seed_everything(0)
    training.train(models.build(spec), spec, subset, epochs=3)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert all("val_accuracy" in line for line in lines)
    assert np.isfinite([float(line.split("loss ")[1].split()[0]) for line in lines]).all()


def test_an_epoch_takes_the_steps_keras_takes_on_the_same_batches():
    """Same start, same batch order: our epoch function and Keras' own train_on_batch give the same weights,
    and the held-out last 10 % scores as Keras' evaluate scores it."""
    subset = data.load("mnist-sample", smoke=True)
    spec = load_specs()["model_06"]
    batch, split = spec.training.batch_size, int(len(subset.y_train) * (1 - spec.training.validation_split))
    training.seed_everything(3)
    ours = models.build(spec)
    fit = training.train(ours, spec, subset, epochs=1, log=False)

    training.seed_everything(3)
    keras_model = models.build(spec)
    order = np.random.permutation(split)
    x, y = training.as_inputs(subset.x_train), subset.y_train
    for start in range(0, split, batch):
        keras_model.train_on_batch(x[order[start:start + batch]], y[order[start:start + batch]])

    assert split < len(y) and (split % batch) != 0  # a partial last batch and a held-out part are both exercised
    for a, b in zip(ours.weights, keras_model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)
    assert not np.allclose(ours.weights[0].numpy(), models.build(spec).weights[0].numpy())
    held_out = keras_model.evaluate(x[split:], y[split:], batch_size=batch, verbose=0, return_dict=True)
    assert fit.history["val_accuracy"] == [held_out["accuracy"]]
    np.testing.assert_allclose(fit.history["val_loss"], [held_out["loss"]], rtol=1e-5)
