"""The project's layout: the two rooms (`study`, the science, never imports the machinery, and neither room has an
import cycle), the README's map of them, and the one table of contents, `_toc.yml`, committed as a full build writes
it."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest
import yaml

from pipeline.pages import Book, load_manifest
from pipeline.toc import toc_path, write_toc
from study.spec import load_specs

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


def _executed(book: Book, documents: list[str]) -> None:
    """Stand-ins for the pages a build executes (notebooks, the model pages' result files) and generates."""
    generated = {decl.name for decl in book.generated_pages()}
    for document in documents:
        name = document.removeprefix("book/")
        page = book.book_dir / (f"{name}.md" if name in generated else f"{name}.ipynb")
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text("{}")
        if "/models/" in name:
            page.with_suffix(".json").write_text("{}")


def test_the_toc_a_full_build_writes_is_the_committed_one_and_a_limited_run_lists_what_it_ran(tmp_path):
    book = Book(load_manifest(), tmp_path, REPO / "notebooks" / "params", tuple(load_specs()))
    declared = book.declared_toc()
    _executed(book, [declared["root"]] + [c["file"] for part in declared["parts"] for c in part["chapters"]])
    assert write_toc(book) == toc_path(book) == tmp_path / "_toc.yml"
    assert (tmp_path / "_toc.yml").read_bytes() == (REPO / "_toc.yml").read_bytes(), \
        "run `python -m pipeline.toc --declared` and commit _toc.yml"
    assert not (book.book_dir / "_toc.yml").exists()
    # a run limited to one dataset (`--datasets mnist`): the toc lists the pages it ran, not the whole study
    shutil.rmtree(book.book_dir / "fashion-mnist")
    write_toc(book)
    toc = yaml.safe_load((tmp_path / "_toc.yml").read_text())
    assert [part["caption"] for part in toc["parts"]] == ["MNIST", "Across datasets", "About this book"]
    assert toc == book.toc() != declared
