"""Executes one Jupytext template with papermill in a scratch folder and returns the executed notebook as data:
nothing is written anywhere else, so the caller decides what lands in the book."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import jupytext
import nbformat
from traitlets.config import Config

from pipeline.interrupt import NOTEBOOKS
from pipeline.kernel import NoInterruptOnShutdown, ensure_kernel


# a Unix socket's path holds at most 107 bytes; the kernel's five sockets end in "-<port>" after this folder
SOCKET_FOLDER_MAX = 80


class NotebookFailed(RuntimeError):
    """A notebook raised; `page` is the partly executed notebook, marked as failed, with its traceback."""

    def __init__(self, message: str, page: nbformat.NotebookNode | None):
        super().__init__(message)
        self.page = page


def title_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The first markdown cell, whose heading is the page title in the book."""
    return next(c for c in nb.cells if c.cell_type == "markdown")


def with_title(nb: nbformat.NotebookNode, title: str) -> nbformat.NotebookNode:
    """The notebook with its first heading replaced by `title` (the model's, or a summary page's)."""
    first = title_cell(nb)
    first.source = "\n".join([f"# {title}", *first.source.splitlines()[1:]])
    return nb


def _injected_like_parameters(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Give papermill's injected cell the display tags (remove-cell, hide-cell...) of the template's parameters cell."""
    parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    shown = [t for t in parameters.metadata["tags"] if t != "parameters"]
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.metadata["tags"] = ["injected-parameters", *shown]
    return nb


def _failure_page(partial: nbformat.NotebookNode, exc: Exception) -> nbformat.NotebookNode:
    """The partly executed notebook as a page marked as failed, its traceback where the cell raised."""
    failed = _injected_like_parameters(partial)
    failed.cells = [c for c in failed.cells if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
    heading = title_cell(failed)
    heading.source = heading.source.replace("# ", "# Failed: ", 1)
    failed.cells.insert(failed.cells.index(heading) + 1, nbformat.v4.new_markdown_cell(
        f"```{{error}}\nThis run failed and its results are not in the study: "
        f"{getattr(exc, 'ename', type(exc).__name__)}: {getattr(exc, 'evalue', exc)}. The cell that "
        f"raised shows the traceback below.\n```"))
    return failed


def template_parameters(template: Path) -> dict:
    """The parameters a Jupytext template takes, as papermill's `inspect_notebook` tells them (name: details)."""
    import papermill

    with tempfile.TemporaryDirectory() as tmp:
        notebook = Path(tmp) / f"{template.stem}.ipynb"
        nbformat.write(jupytext.read(template), notebook)
        return papermill.inspect_notebook(str(notebook))


@contextlib.contextmanager
def socket_folder(scratch: Path) -> Iterator[Path]:
    """A folder for the kernel's Unix sockets: in `scratch` when its path is short enough for a socket's, otherwise
    a short-lived folder of its own under the system's temporary folder (a long $TMPDIR, as on macOS or in
    pytest, would make the kernel fail to start); removed afterwards."""
    if len(str(scratch / "kernel")) <= SOCKET_FOLDER_MAX:
        yield scratch
        return
    folder = Path(tempfile.mkdtemp(prefix="cnn-kernel-", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_notebook(template: Path, parameters: dict, scratch: Path, *, title: str | None = None) -> nbformat.NotebookNode:
    """Execute `template` with papermill (kernel `cnn-study`), with `scratch` as its working folder and the only
    place it writes.

    Returns the executed notebook; if a cell raises, NotebookFailed carries the page marked as failed.
    """
    import papermill

    nb = jupytext.read(template)
    if title:
        nb = with_title(nb, title)
    scratch.mkdir(parents=True, exist_ok=True)
    source, output = scratch / f"{template.stem}.ipynb", scratch / f"{template.stem}.out.ipynb"
    nbformat.write(nb, source)
    try:
        with NOTEBOOKS.entered(), socket_folder(scratch) as sockets:
            papermill.execute_notebook(
                str(source), str(output), parameters=parameters, kernel_name=ensure_kernel(),
                # the kernel's working folder; papermill's own `cwd` would chdir this whole process, and workers
                # may be threads of it
                resources={"metadata": {"path": str(scratch)}},
                progress_bar=False, log_output=False, language="python", kernel_manager_class=NoInterruptOnShutdown,
                # the kernel talks to papermill over local sockets, not unencrypted TCP
                config=Config({"KernelManager": {"transport": "ipc", "ip": str(sockets / "kernel")}}),
            )
    except Exception as exc:
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
        page = _failure_page(nbformat.read(output, as_version=4), exc) if output.is_file() else None
        raise NotebookFailed(message, page) from exc
    return _injected_like_parameters(nbformat.read(output, as_version=4))
