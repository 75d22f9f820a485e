"""What determines an executed notebook, as one hash, so that a rerun executes only what changed.

A page's hash covers exactly what can change its figures: its template, its parameter file(s), the science
sources (`study/*.py`), the pinned requirements, the data it uses, its seeds, precision, thread count, device
kind and Keras backend (with its version), and, for a summary page, the result files it reads. The machinery
(`pipeline/`) is not part of it: editing how pages are run reruns nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pipeline.kernel import REPO
from study.files import combined_hash, file_hashes

STUDY = REPO / "study"
REQUIREMENTS = REPO / "requirements.txt"


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def science_hash(study: Path | None = None, requirements: Path | None = None) -> str:
    """The science package's sources and the pinned requirements (`requirements` beside the `study` folder)."""
    study, requirements = study or STUDY, requirements or REQUIREMENTS
    return combined_hash(file_hashes([*sorted(study.glob("*.py")), requirements], study.parent))


def model_hash(template: bytes, spec_file: bytes, *, science: str, data_identity: str, seeds: list[int], smoke: bool,
               precision: str, threads: int, device: str, backend: str) -> str:
    """A model page's template, parameter file (their contents), science sources, data (name and arrays' hash) and
    run options, the Keras backend and its version among them."""
    options = json.dumps({"dataset": data_identity, "seeds": seeds, "smoke": smoke, "precision": precision,
                          "threads": threads, "device": device, "backend": backend}, sort_keys=True)
    return _digest(template, spec_file, science, options)


def page_hash(template: bytes, files: list[tuple[str, bytes]], *, science: str, options: dict) -> str:
    """A summary page's template, science sources, options and the files it reads: its parameter files (named by
    file) and result files (named by dataset folder and file, not by absolute path, so a moved checkout stays up to
    date), with their contents."""
    return _digest(template, science, json.dumps(options, sort_keys=True),
                   *(f"{name}:{content.hex()}" for name, content in files))


def stamp(notebook: Path) -> dict:
    """What `pipeline.jobs` stamped on an executed notebook (`inputs_hash`, `seconds`, `computed`), or {} if the
    notebook is missing, unreadable or unstamped."""
    if not notebook.is_file():
        return {}
    try:
        return json.loads(notebook.read_text())["metadata"].get("study", {})
    except (ValueError, KeyError):
        return {}


def recorded_hash(notebook: Path) -> str | None:
    """The inputs hash an executed notebook was made from, or None if it is missing or has none."""
    return stamp(notebook).get("inputs_hash")
