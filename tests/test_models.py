import ast

import pytest

from conftest import SEED_TOTALS
from study.models import build, layer_table
from study.spec import load_specs

# (output shape, parameters) per layer, as printed in the seed report (Models 7, 8, 10 reuse Model 6's layers)
ONE_CONV = {
    "model_01": [((26, 26, 32), 320), ((13, 13, 32), 0), ((5408,), 0), ((64,), 346176), ((10,), 650)],
    "model_02": [((27, 27, 32), 160), ((13, 13, 32), 0), ((5408,), 0), ((64,), 346176), ((10,), 650)],
    "model_03": [((26, 26, 16), 160), ((13, 13, 16), 0), ((2704,), 0), ((64,), 173120), ((10,), 650)],
    "model_04": [((26, 26, 64), 640), ((13, 13, 64), 0), ((10816,), 0), ((64,), 692288), ((10,), 650)],
}
MODEL_5 = [((26, 26, 32), 320), ((13, 13, 32), 0), ((11, 11, 16), 4624), ((5, 5, 16), 0), ((400,), 0),
           ((64,), 25664), ((10,), 650)]
MODEL_6 = [((26, 26, 16), 160), ((13, 13, 16), 0), ((11, 11, 32), 4640), ((5, 5, 32), 0), ((800,), 0),
           ((64,), 51264), ((10,), 650)]
SEED_LAYERS = {**ONE_CONV, "model_05": MODEL_5, **{m: MODEL_6 for m in ("model_06", "model_07", "model_08",
                                                                         "model_09", "model_10")}}


@pytest.mark.parametrize("model_id", sorted(SEED_LAYERS))
def test_layers_match_the_seed_report(model_id):
    model = build(load_specs()[model_id], seed=0)
    table = layer_table(model)
    got = [(ast.literal_eval(shape)[1:], params) for shape, params in zip(table["output shape"], table["params"])]
    assert got == SEED_LAYERS[model_id]
    assert model.count_params() == SEED_TOTALS[model_id]


def test_seed_reported_totals_agree_where_printed():
    for spec in load_specs().values():
        if spec.seed_report.params is not None:
            assert spec.seed_report.params == SEED_TOTALS[spec.id]
