from pathlib import Path

import pytest

from study.spec import SpecError, load_spec, load_specs

GOOD = """\
title: "A model"
question: "Does it work?"
factor: baseline
compare_with: null
conv:
  - {filters: 8, kernel: 3, activation: relu}
training: {learning_rate: 0.001, batch_size: 32, epochs: 1}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def test_the_ten_seed_models_load_in_order():
    specs = load_specs()
    assert list(specs) == [f"model_{i:02d}" for i in range(1, 11)]
    assert all(s.training.optimizer == "adam" for s in specs.values())


def test_configurations_follow_the_seed_table():
    s = load_specs()
    assert [c.kernel for c in s["model_02"].conv] == [2]
    assert [c.filters for c in s["model_05"].conv] == [32, 16]
    assert [c.filters for c in s["model_06"].conv] == [16, 32]
    assert (s["model_07"].training.batch_size, s["model_07"].training.epochs) == (256, 10)
    # table says batch 256 for Model 8, text says "as Model 6": the table wins and the page says so
    assert (s["model_08"].training.batch_size, s["model_08"].training.epochs) == (256, 5)
    assert "table" in s["model_08"].notes
    assert {c.activation for c in s["model_09"].conv} == {"sigmoid"}
    assert s["model_10"].training.learning_rate == 0.01
    assert s["model_10"].training.batch_size == 256


def test_seed_recall_is_that_of_digit_one():
    # 1,135 test images of digit 1: the seed's recall times 1135 is a whole number for every model
    for spec in load_specs().values():
        ones_found = spec.seed_report.recall * 1135
        assert abs(ones_found - round(ones_found)) < 1e-6, spec.id


def test_id_is_the_file_name(tmp_path):
    assert load_spec(write(tmp_path, "my_model", GOOD)).id == "my_model"


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda t: t + "learning_rate: 0.1\n", "learning_rate"),
        (lambda t: t.replace("batch_size: 32", "batch_size: 0"), "training.batch_size"),
        (lambda t: t.replace("learning_rate: 0.001", "learning_rate: 2"), "training.learning_rate"),
        (lambda t: t.replace("activation: relu", "activation: swishy"), "conv.0.activation"),
        (lambda t: t.replace("filters: 8", "filters: eight"), "conv.0.filters"),
        (lambda t: t.replace('question: "Does it work?"\n', ""), "question"),
        (lambda t: "id: other\n" + t, "id"),
    ],
)
def test_invalid_files_name_the_file_and_field(tmp_path, edit, field):
    path = write(tmp_path, "bad", edit(GOOD))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert str(path) in str(err.value)
    assert f"field '{field}'" in str(err.value)


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "bad", GOOD + "conv: [\n")
    with pytest.raises(SpecError, match=r"bad.yaml, line 9, column 1: not valid YAML: expected the node content"):
        load_spec(path)


def test_comparison_target_must_exist(tmp_path):
    write(tmp_path, "a", GOOD.replace("compare_with: null", "compare_with: nope"))
    with pytest.raises(SpecError, match=r"a.yaml: field 'compare_with': 'nope' is not a model id"):
        load_specs(tmp_path)
