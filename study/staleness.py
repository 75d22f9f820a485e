"""What determines an executed notebook, as one hash, so that a rerun executes only what changed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

STUDY = Path(__file__).resolve().parent
REQUIREMENTS = STUDY.parent / "requirements.txt"


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def code_hash() -> str:
    """The `study` package's sources and the pinned requirements."""
    files = sorted(STUDY.glob("*.py")) + [REQUIREMENTS]
    return _digest(*(f"{p.name}:{p.read_bytes().hex()}" for p in files if p.is_file()))


def model_hash(template: Path, spec_file: Path, *, data_identity: str, seeds: list[int], smoke: bool, code: str,
               precision: str = "float32") -> str:
    """Template, parameter file, code, data identity (`study.data.identity`) and run options of one model page."""
    options = json.dumps({"dataset": data_identity, "seeds": seeds, "smoke": smoke, "precision": precision},
                         sort_keys=True)
    return _digest(template.read_bytes(), spec_file.read_bytes(), code, options)


def page_hash(template: Path, params_dir: Path, models_dirs: list[Path], code: str, options: dict | None = None) -> str:
    """A summary page's template, code, options, every parameter file and every model result it reads (named by
    file and dataset folder, not by absolute path, so a moved checkout stays up to date)."""
    inputs = [(p.name, p) for p in sorted(params_dir.glob("*.yaml"))]
    inputs += [(f"{d.parent.name}/{p.name}", p) for d in models_dirs for p in sorted(d.glob("*.json"))]
    return _digest(template.read_bytes(), code, json.dumps(options or {}, sort_keys=True),
                   *(f"{name}:{p.read_bytes().hex()}" for name, p in inputs))


def recorded_hash(notebook: Path) -> str | None:
    """The inputs hash an executed notebook was made from, or None if it is missing or has none."""
    if not notebook.is_file():
        return None
    try:
        return json.loads(notebook.read_text())["metadata"].get("study", {}).get("inputs_hash")
    except (ValueError, KeyError):
        return None
