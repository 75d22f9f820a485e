"""A battery of malformed parameter files: each error names the file and the exact field, and nothing trains."""

import shutil

import pytest

from pipeline import execute, schedule
from study.spec import PARAMS_DIR, SpecError, load_specs

BASE = (PARAMS_DIR / "model_06.yaml").read_text()


def edit(old: str, new: str):
    assert old in BASE, old
    return lambda text: text.replace(old, new, 1)


CASES = {
    "unknown top-level key": (lambda t: t + "lerning_rate: 0.01\n", "lerning_rate", "unknown field"),
    "misspelled nested key": (edit("batch_size: 128", "batchsize: 128"), "training.batchsize", "did you mean 'batch_size'"),
    "missing title": (edit('title: "Model 6: two conv layers, 16 then 32 filters"\n', ""), "title", "required"),
    "missing training": (lambda t: t[: t.index("training:")] + t[t.index("seed_report:"):], "training", "required"),
    "missing epochs": (edit("  epochs: 10\n", ""), "training.epochs", "required"),
    "batch size not a number": (edit("batch_size: 128", "batch_size: big"), "training.batch_size", "'big'"),
    "batch size zero": (edit("batch_size: 128", "batch_size: 0"), "training.batch_size", "greater than 0"),
    "negative epochs": (edit("epochs: 10", "epochs: -1"), "training.epochs", "greater than 0"),
    "learning rate zero": (edit("learning_rate: 0.001", "learning_rate: 0"), "training.learning_rate", "greater than 0"),
    "learning rate above one": (edit("learning_rate: 0.001", "learning_rate: 1.5"), "training.learning_rate",
                                "less than or equal to 1"),
    "unknown optimizer": (edit("optimizer: adam", "optimizer: sgd"), "training.optimizer", "'adam'"),
    "unknown conv activation": (edit("activation: relu}", "activation: swishy}"), "conv.0.activation", "'relu'"),
    "unknown dense activation": (edit("dense_activation: relu", "dense_activation: softmaxx"), "dense_activation",
                                 "'softmaxx'"),
    "zero filters": (edit("filters: 16", "filters: 0"), "conv.0.filters", "greater than 0"),
    "kernel larger than the image": (edit("filters: 16, kernel: 3", "filters: 16, kernel: 29"), "conv.0.kernel",
                                     "does not fit the 28×28 feature map at conv layer 1"),
    "second kernel larger than its feature map": (edit("filters: 32, kernel: 3", "filters: 32, kernel: 14"),
                                                  "conv.1.kernel", "does not fit the 13×13 feature map at conv layer 2"),
    "pooling larger than the feature map": (edit("pool: 2", "pool: 27"), "pool",
                                            "does not fit the 26×26 feature map after conv layer 1"),
    "zero pooling": (edit("pool: 2", "pool: 0"), "pool", "greater than 0"),
    "no conv layers": (lambda t: t[: t.index("conv:")] + "conv: []\n" + t[t.index("pool:"):], "conv", "at least 1"),
    "comparison with a missing model": (edit("compare_with: model_05", "compare_with: model_99"), "compare_with",
                                        "'model_99' is not a model id"),
    "id written in the file": (lambda t: "id: model_06\n" + t, "id", "id is its file name"),
    "validation split of one": (edit("validation_split: 0.1", "validation_split: 1"), "training.validation_split",
                                "less than 1"),
    "claim direction": (lambda t: t.replace("direction: better", "direction: sideways"), "seed_claim.direction",
                        "'better', 'worse', 'not worse' or 'not better'"),
    "fractional dense units": (edit("dense_units: 64", "dense_units: 2.5"), "dense_units", "2.5"),
    "a list instead of fields": (lambda t: "- 1\n- 2\n", None, "expected a mapping of fields, got list"),
    "invalid YAML": (edit("  batch_size: 128", "  batch_size: [128"), None, "not valid YAML"),
}


@pytest.fixture
def params(tmp_path):
    folder = tmp_path / "params"
    shutil.copytree(PARAMS_DIR, folder)
    return folder


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_file_names_file_and_field(params, case):
    change, field, detail = CASES[case]
    path = params / "model_06.yaml"
    path.write_text(change(BASE))
    with pytest.raises(SpecError) as err:
        load_specs(params)
    message = str(err.value)
    assert str(path) in message
    if field:
        assert f"field '{field}'" in message
    assert detail in message


def test_invalid_yaml_gives_the_line(params):
    (params / "model_06.yaml").write_text(CASES["invalid YAML"][0](BASE))
    with pytest.raises(SpecError, match=r"model_06.yaml, line \d+, column \d+: not valid YAML"):
        load_specs(params)


def test_file_name_that_is_not_an_id(params):
    shutil.copy(params / "model_06.yaml", params / "Model-X.yaml")
    with pytest.raises(SpecError, match=r"Model-X.yaml: field 'id': the file name 'Model-X' is not a valid id"):
        load_specs(params)


def test_every_invalid_file_is_reported_at_once(params):
    (params / "model_02.yaml").write_text((params / "model_02.yaml").read_text().replace("epochs: 10", "epochs: 0"))
    (params / "model_09.yaml").write_text("title: [\n")
    with pytest.raises(SpecError) as err:
        load_specs(params)
    assert "model_02.yaml" in str(err.value) and "model_09.yaml" in str(err.value)


@pytest.mark.parametrize("case", ["misspelled nested key", "kernel larger than the image", "invalid YAML"])
def test_execute_trains_nothing_when_a_file_is_invalid(params, tmp_path, monkeypatch, capsys, case):
    def must_not_run(*args, **kwargs):
        raise AssertionError("training started despite an invalid parameter file")

    monkeypatch.setattr(schedule, "client", must_not_run)
    (params / "model_06.yaml").write_text(CASES[case][0](BASE))
    status = execute.main(["--params", str(params), "--root", str(tmp_path / "out"), "--smoke"])
    assert status == 2
    err = capsys.readouterr().err
    assert "model_06.yaml" in err and "Nothing was run." in err
    assert not (tmp_path / "out").exists()
