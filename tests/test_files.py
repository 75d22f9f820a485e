import json

import pytest

from study.files import replacing, write_atomic


def test_an_interrupted_write_leaves_the_old_file_and_no_partial_one(tmp_path):
    target = tmp_path / "model_01.json"
    write_atomic(target, json.dumps({"good": 1}))
    with pytest.raises(TypeError):
        write_atomic(target, json.dumps({"good": 2, "unserialisable": object()}))
    with pytest.raises(KeyboardInterrupt), replacing(target) as tmp:
        tmp.write_text('{"half": ')
        raise KeyboardInterrupt
    assert json.loads(target.read_text()) == {"good": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["model_01.json"]
