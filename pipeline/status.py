"""The book's status page (`book/status.md`): every page of the table of contents with its dataset, backend,
devices, seeds, its runs' training time, the page's own time and when it was computed, read from the result records
and the executed notebooks."""

from __future__ import annotations

from pathlib import Path

import nbformat

from pipeline.pages import Book
from pipeline.runner import title_cell
from study import results
from study.data import DATASETS, LABELS
from study.files import write_atomic

HEADER = ("| page | dataset | backend | devices | seeds | training | page time | computed |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- |")


def _metadata(notebook: Path) -> tuple[str, dict]:
    """A notebook's title (the heading of its title cell) and the pipeline's stamp in its metadata."""
    nb = nbformat.read(notebook, as_version=4)
    return title_cell(nb).source.splitlines()[0].lstrip("# ").strip(), nb.metadata.get("study", {})


def row(book: Book, document: str) -> str:
    """The status line of one toc document (`book/<name>`)."""
    name = document.removeprefix("book/")
    notebook = book.book_dir / f"{name}.ipynb"
    if not notebook.is_file():
        return ""
    title, stamp = _metadata(notebook)
    dataset = next((LABELS[d] for d in DATASETS if name.startswith(f"{d}/")), "all in the book")
    backend, devices, seeds, training = "—", "—", "—", "—"
    record_file = notebook.with_suffix(".json")
    if "/models/" in name and record_file.is_file():
        record = results.read_model(record_file)
        backend = f"{record.hardware.backend} {record.hardware.backend_version}"
        devices = ", ".join(record.hardware.devices)
        seeds = f"{len(record.seeds)} ({', '.join(map(str, record.seeds))})"
        training = f"{record.seconds.train:.0f} s"
    wall = f"{stamp['seconds']:.0f} s" if "seconds" in stamp else "—"
    link = f"[{title.replace('|', '/')}]({name}.ipynb)"
    return (f"| {link} | {dataset} | {backend} | {devices} | {seeds} | {training} | {wall} | "
            f"{stamp.get('computed', '—')} |")


def write_status(book: Book) -> list[Path]:
    """Write each generated status page of the book from what `book/` holds (before the toc is written, which
    lists it)."""
    written = []
    for decl in book.generated_pages():
        lines = [row(book, document) for document in book.pages() if not document.endswith(f"/{decl.name}")]
        text = (f"# Status of this book\n\nEvery page of the book: the data it was computed on, the Keras backend and "
                f"devices that trained its models, their seeds, how long their runs trained (each run is trained once, "
                f"by a job of its own, and kept), how long the page itself took and when it was computed (from "
                f"its result records and the executed notebook; `nox -s execute` recomputes a page only when "
                f"something that determines it changed). Each page's notebook can be downloaded from the top of "
                f"the page.\n\n{HEADER}\n" + "\n".join(line for line in lines if line) + "\n")
        written.append(write_atomic(book.book_dir / f"{decl.name}.md", text))
    return written
