"""The replay of recorded job times on N workers (pipeline.replay): one job per page against one per seed."""

import json

import pytest

from pipeline import replay
from pipeline.replay import Recorded, Task


def test_each_free_worker_takes_the_first_ready_job_in_order():
    assert replay.replay([Task("a", 4), Task("b", 2), Task("c", 2)], workers=2) == (4, 1.0)
    assert replay.replay([Task("a", 4), Task("b", 2), Task("c", 2)], workers=1) == (8, 1.0)
    wall, busy = replay.replay([Task("a", 6), Task("b", 1), Task("c", 1, after=("b",))], workers=3)
    assert wall == 6 and busy == pytest.approx(8 / 18)


def test_a_job_waiting_on_a_job_that_never_runs_is_an_error():
    with pytest.raises(ValueError, match="never run: b"):
        replay.replay([Task("a", 1), Task("b", 1, after=("z",))], workers=2)


def test_seed_jobs_charge_each_seed_the_pages_time_outside_training():
    page = Recorded("mnist", "model_01", page=32, seeds=(10, 10, 10))
    assert replay.replay(replay.page_jobs([page]), workers=3)[0] == 32
    # three seeds side by side, each 2 s outside training + 10 s, then the page assembled in 2 s
    assert replay.replay(replay.seed_jobs([page]), workers=3)[0] == 14
    assert replay.replay(replay.seed_jobs([page]), workers=1)[0] == 3 * 12 + 2


def _write(book, dataset, model, total, seeds, page_seconds=None):
    models = book / dataset / "models"
    (models / model).mkdir(parents=True)
    runs = [f"{model}/seed_{i}.json" for i in range(len(seeds))]
    (models / f"{model}.json").write_text(json.dumps({"seconds": {"train": sum(seeds), "total": total}, "runs": runs,
                                                      "anything": "else"}))
    for run, s in zip(runs, seeds):
        (models / run).write_text(json.dumps({"seconds": {"train": s, "epochs": [s]}}))
    if page_seconds is not None:
        (models / f"{model}.ipynb").write_text(json.dumps({"metadata": {"study": {"seconds": page_seconds}}}))


def test_recorded_times_come_from_records_and_pages_and_missing_pages_are_filled_and_flagged(tmp_path):
    _write(tmp_path, "mnist", "model_01", total=30, seeds=[10, 10], page_seconds=34)
    _write(tmp_path, "mnist", "model_02", total=50, seeds=[20, 20])
    _write(tmp_path, "fashion-mnist", "model_02", total=60, seeds=[25, 25], page_seconds=62)
    pages = replay.recorded([tmp_path])
    by_name = {(p.dataset, p.model): p for p in pages}
    assert by_name[("mnist", "model_01")].page == 34
    assert by_name[("mnist", "model_02")].page == 50 + 3  # its total plus the median kernel start (4 s and 2 s)
    assert by_name[("mnist", "model_02")].other == 13
    full = replay.filled(pages)
    stand_in = next(p for p in full if (p.dataset, p.model) == ("fashion-mnist", "model_01"))
    assert stand_in.stand_in and stand_in.seeds == (10, 10) and len(full) == 4


def test_a_model_recorded_nowhere_is_replayed_as_another_with_its_training_scaled():
    pages = [Recorded("mnist", "model_01", page=32, seeds=(10, 10, 10))]
    (scaled,) = [p for p in replay.like(pages, "model_04", "model_01", 1.5) if p.model == "model_04"]
    assert scaled.seeds == (15, 15, 15) and scaled.other == 2 and scaled.page == 47 and scaled.stand_in
    with pytest.raises(ValueError, match="no page of model_09 was recorded"):
        replay.like(pages, "model_04", "model_09", 1.5)


def test_a_folder_without_records_is_a_clear_error(tmp_path, capsys):
    assert replay.main([str(tmp_path)]) == 2
    assert f"no model records (<dataset>/models/<id>.json) in {tmp_path}" in capsys.readouterr().err
