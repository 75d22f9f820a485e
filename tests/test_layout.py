"""The two rooms: `study` (the science) never imports the machinery, and neither room has an import cycle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MACHINERY = {"pipeline", "papermill", "dask", "distributed", "nbformat", "nbclient", "jupytext", "nox", "jupyter_book"}


def imports(path: Path) -> set[str]:
    """The top-level names a module imports, and for `study`/`pipeline` modules their module names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_the_science_imports_none_of_the_machinery():
    found = {f"{p.name}: {name}" for p in (REPO / "study").glob("*.py") for name in imports(p)
             if name.split(".")[0] in MACHINERY}
    assert not found, found


def test_the_check_above_would_see_an_import_of_the_machinery(tmp_path):
    module = tmp_path / "leaky.py"
    module.write_text("from pipeline.jobs import ModelJob\nimport papermill\n")
    assert {"pipeline.jobs", "papermill"} <= {n for n in imports(module) if n.split(".")[0] in MACHINERY}


@pytest.mark.parametrize("room", ["study", "pipeline"])
def test_a_room_has_no_import_cycle(room):
    modules = {p.stem: p for p in (REPO / room).glob("*.py") if p.stem != "__init__"}
    graph = {m: {n.split(".")[1] for n in imports(p) if n.startswith(f"{room}.") and n.split(".")[1] in modules}
             for m, p in modules.items()}
    order, seen = [], set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in seen:
            return
        for dependency in sorted(graph[module]):
            visit(dependency, (*path, module))
        seen.add(module)
        order.append(module)

    for module in sorted(graph):
        visit(module, ())
    assert set(order) == set(modules)


def test_the_readme_layout_matches_the_folders_one_to_one():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## How it fits together"):]
    section = section[:section.index("\n## ", 3)]
    for folder in ("study", "pipeline"):
        listed = set(re.findall(rf"`{folder}/(\w+)\.py`", section))
        present = {p.stem for p in (REPO / folder).glob("*.py") if p.stem != "__init__"}
        assert listed == present, (folder, listed ^ present)
