"""Executes the notebooks with papermill: the model template once per parameter file, then the summary pages.

Usage: python -m study.execute [ID ...] [--dataset NAME] [--seeds N] [--smoke] [--missing] [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from traitlets.config import Config

from study.data import DATASETS
from study.spec import PARAMS_DIR, ModelSpec, SpecError, load_specs

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
MODEL_TEMPLATE = NOTEBOOKS / "model.py"
PAGES = ("intro", "comparison")
KERNEL = "cnn-study"
DEFAULT_SEEDS = 3


def ensure_kernel() -> str:
    """Install this environment's Python as the Jupyter kernel `cnn-study` (once) and return its name."""
    from ipykernel.kernelspec import install
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if KERNEL not in specs or not Path(specs[KERNEL]).is_relative_to(sys.prefix):
        install(kernel_name=KERNEL, display_name="Python (cnn-study)", prefix=sys.prefix)
    return KERNEL


def _kernel_env() -> None:
    """Kernels inherit this process's environment: make `study` importable and TensorFlow quiet."""
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _with_title(nb: nbformat.NotebookNode, title: str) -> nbformat.NotebookNode:
    """The template with its first heading replaced by the model's title (the page title in the book)."""
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    lines = first.source.splitlines()
    first.source = "\n".join([f"# {title}", *lines[1:]])
    return nb


def run_notebook(template: Path, output: Path, parameters: dict, title: str | None = None) -> Path:
    """Execute a Jupytext template with papermill into `output`, which appears only once the run succeeded.

    While it runs, the notebook is written to `<id>.part.ipynb`; a failed run leaves that file for inspection.
    """
    import papermill

    nb = jupytext.read(template)
    if title:
        nb = _with_title(nb, title)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".part.ipynb")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / (template.stem + ".ipynb")
        nbformat.write(nb, source)
        papermill.execute_notebook(
            str(source), str(partial), parameters=parameters, kernel_name=ensure_kernel(),
            cwd=str(NOTEBOOKS), progress_bar=False, log_output=False, language="python",
            # the kernel talks to papermill over local sockets in tmp, not unencrypted TCP
            config=Config({"KernelManager": {"transport": "ipc", "ip": str(Path(tmp) / "kernel")}}),
        )
    nbformat.write(_injected_like_parameters(nbformat.read(partial, as_version=4)), partial)
    os.replace(partial, output)
    return output


def _injected_like_parameters(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Give papermill's injected cell the template's display tags (remove-cell, hide-cell...) of its parameters cell."""
    parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    shown = [t for t in parameters.metadata["tags"] if t != "parameters"]
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.metadata["tags"] = ["injected-parameters", *shown]
    return nb


def run_model(spec: ModelSpec, models_dir: Path, *, dataset: str, smoke: bool, seeds: list[int],
              params_dir: Path = PARAMS_DIR) -> dict:
    """Execute the model template for one spec over `seeds`; returns the model record the notebook wrote."""
    run_notebook(
        MODEL_TEMPLATE, models_dir / f"{spec.id}.ipynb",
        {"spec_path": str(params_dir / f"{spec.id}.yaml"), "dataset": dataset, "smoke": smoke,
         "seeds": seeds, "results_dir": str(models_dir)},
        title=spec.title,
    )
    return json.loads((models_dir / f"{spec.id}.json").read_text())


def run_pages(book_dir: Path, params_dir: Path = PARAMS_DIR) -> None:
    """Execute the intro and comparison notebooks over the parameter files and all results."""
    for page in PAGES:
        run_notebook(NOTEBOOKS / f"{page}.py", book_dir / f"{page}.ipynb",
                     {"params_dir": str(params_dir), "results_dir": str(book_dir / "models")})


def _report(result: dict, seconds: float) -> str:
    d = result["dataset"]
    fallback = f" INSTEAD OF {d['requested']}" if d["name"] != d["requested"] else ""
    acc = result["summary"]["accuracy"]
    spread = f" ± {acc['sd']:.4f}" if acc["n"] > 1 else ""
    return (f"  {result['id']}: test accuracy {acc['mean']:.4f}{spread} over {acc['n']} seed(s) on "
            f"{d['name']}{fallback} ({d['n_train']:,}/{d['n_test']:,}), {seconds:.0f} s")


def _fallback_warning(results: list[dict]) -> str:
    """A loud note naming the runs that used other data than was asked for, and why."""
    fell_back = [r for r in results if r["dataset"]["name"] != r["dataset"]["requested"]]
    if not fell_back:
        return ""
    d = fell_back[0]["dataset"]
    bar = "!" * 100
    return (f"{bar}\nWARNING: {d['requested']} could not be loaded, so {len(fell_back)} model(s) ran on "
            f"{d['name']} instead: {', '.join(r['id'] for r in fell_back)}.\nReason: {d['fallback_reason']}\n"
            f"Every page of the report carries a banner saying so. Put mnist.npz in $STUDY_DATA_DIR or "
            f"~/.keras/datasets/ (or allow the download) and rerun.\n{bar}")


def main(argv: list[str] | None = None) -> int:
    """Command line: validate every parameter file, then execute the chosen models and the summary pages."""
    parser = argparse.ArgumentParser(prog="python -m study.execute", description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="model ids to run (default: all parameter files)")
    parser.add_argument("--dataset", default="mnist", choices=DATASETS)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny subset, one epoch, one seed: checks the pipeline only")
    parser.add_argument("--seeds", type=int, default=None,
                        help="training runs per model, seeded 0..N-1 (default 3; 1 with --smoke)")
    parser.add_argument("--missing", action="store_true", help="run only models without a notebook and result")
    parser.add_argument("--root", type=Path, default=REPO, help="book project root; outputs go to ROOT/book")
    parser.add_argument("--params", type=Path, default=PARAMS_DIR, help="folder of parameter files")
    args = parser.parse_args(argv)

    try:
        specs = load_specs(args.params)
    except SpecError as exc:
        print(f"error: {exc}\nNothing was run.", file=sys.stderr)
        return 2
    unknown = sorted(set(args.ids) - set(specs))
    if unknown:
        print(f"error: unknown model id(s) {', '.join(unknown)}; known: {', '.join(specs)}\nNothing was run.",
              file=sys.stderr)
        return 2

    n_seeds = args.seeds if args.seeds is not None else (1 if args.smoke else DEFAULT_SEEDS)
    if n_seeds < 1:
        print(f"error: --seeds must be at least 1, got {n_seeds}\nNothing was run.", file=sys.stderr)
        return 2
    seeds = list(range(n_seeds))
    _kernel_env()
    book_dir = args.root / "book"
    models_dir = book_dir / "models"
    chosen = [specs[i] for i in (args.ids or specs)]
    if args.missing:
        chosen = [s for s in chosen
                  if not ((models_dir / f"{s.id}.ipynb").exists() and (models_dir / f"{s.id}.json").exists())]
        print(f"{len(specs) - len(chosen)} model page(s) already executed; {len(chosen)} to run.")
    start = time.perf_counter()
    results = []
    for n, spec in enumerate(chosen, 1):
        print(f"[{n}/{len(chosen)}] {spec.id}: {spec.title}", flush=True)
        t0 = time.perf_counter()
        results.append(run_model(spec, models_dir, dataset=args.dataset, smoke=args.smoke, seeds=seeds,
                                 params_dir=args.params))
        print(_report(results[-1], time.perf_counter() - t0), flush=True)
    print("summary pages: intro, comparison", flush=True)
    run_pages(book_dir, args.params)
    print(f"executed {len(chosen)} model(s) and {len(PAGES)} pages in {time.perf_counter() - start:.0f} s "
          f"into {book_dir}")
    warning = _fallback_warning(results)
    if warning:
        print(warning, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
