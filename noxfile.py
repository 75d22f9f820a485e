"""Sessions: build (default), execute, worker, book, tests, bench, lab. All share one environment, .nox/study.

The study needs TensorFlow (about 2 GB installed), so every session uses the same virtual environment,
created on first use and reinstalled only when requirements.txt changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["build"]

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".nox" / "study"
BIN = VENV / "bin"
REQUIREMENTS = ROOT / "requirements.txt"
INDEX = ROOT / "_build" / "html" / "index.html"

sys.path.insert(0, str(ROOT))  # study.sources imports the standard library alone
from study.sources import FASHION_DEBIAN_DIR, FASHION_DEBIAN_PACKAGE, FASHION_FILES  # noqa: E402

FASHION = {FASHION_DEBIAN_PACKAGE: str(FASHION_DEBIAN_DIR / FASHION_FILES[-1])}


def study_env(session: nox.Session) -> dict[str, str]:
    """Create .nox/study once and install requirements.txt whenever it changed; return the env to run in."""
    python = BIN / "python"
    if not python.exists():
        session.run(sys.executable, "-m", "venv", str(VENV), external=True)
    stamp = VENV / "requirements.sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != wanted:
        session.run(str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS), external=True)
        stamp.write_text(wanted)
    else:
        session.log(f"reusing {VENV.relative_to(ROOT)}: requirements.txt unchanged")
    return {
        "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
        "VIRTUAL_ENV": str(VENV),
        "PYTHONPATH": str(ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }


def debian_packages(session: nox.Session, packages: dict[str, str]) -> None:
    """apt-get install the Debian packages (name: a file it provides) that are missing, when running as root."""
    missing = [name for name, probe in packages.items() if not Path(probe).exists()]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        session.warn(f"not installed: {', '.join(missing)} (as root: apt-get install {' '.join(missing)}); "
                     "Fashion-MNIST is then downloaded the Keras way, and the browser tests are skipped")
        return
    session.run("apt-get", "update", "-qq", external=True)
    session.run("apt-get", "install", "-y", "-qq", *missing, external=True)


def run(session: nox.Session, env: dict[str, str], program: str, *args: str) -> None:
    """Run one of .nox/study's programs (python, jupyter-book...) in its environment."""
    session.run(str(BIN / program), *args, env=env, external=True)


def execute_notebooks(session: nox.Session, env: dict[str, str]) -> None:
    """`python -m pipeline.execute` with the session's arguments; on Ctrl-C it is given time to stop cleanly."""
    session.run(str(BIN / "python"), "-m", "pipeline.execute", *session.posargs, env=env, external=True,
                interrupt_timeout=30, terminate_timeout=5)


def build_site(session: nox.Session, env: dict[str, str]) -> None:
    """Write the status page and `_toc.yml` from what book/ holds (pipeline.toc), then build the site from them."""
    if not (ROOT / "book" / "intro.ipynb").exists():
        session.error("no executed notebooks in book/: run `nox -s execute` (or `nox -s build`) first")
    run(session, env, "python", "-m", "pipeline.toc")
    run(session, env, "jupyter-book", "build", str(ROOT), "--toc", str(ROOT / "_toc.yml"), "-W", "-n", "--keep-going")
    session.log(f"the report: {INDEX}")


@nox.session
def build(session: nox.Session) -> None:
    """Build the report: set up, execute the notebooks that are missing or out of date, build the site."""
    env = study_env(session)
    debian_packages(session, FASHION)
    execute_notebooks(session, env)
    build_site(session, env)


@nox.session
def execute(session: nox.Session) -> None:
    """Execute out-of-date notebooks with papermill on Dask (`nox -s execute -- model_03 --force -j 2`)."""
    env = study_env(session)
    debian_packages(session, FASHION)
    execute_notebooks(session, env)


@nox.session
def worker(session: nox.Session) -> None:
    """A Dask worker for a cluster run, on a checkout of the same commit (`nox -s worker -- tcp://host:8786`)."""
    if not session.posargs:
        session.error("give the scheduler's address: nox -s worker -- tcp://host:8786 [dask worker options]")
    env = study_env(session)
    debian_packages(session, FASHION)
    run(session, env, "python", "-c", "import pipeline.kernel as k; k.ensure_kernel()")
    run(session, env, "dask", "worker", *session.posargs, "--nthreads", "1")


@nox.session
def book(session: nox.Session) -> None:
    """Build the Jupyter Book site from the executed notebooks into _build/html."""
    build_site(session, study_env(session))


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite: a smoke execution of every notebook, a -W book build, the site in headless Chromium."""
    env = study_env(session)
    debian_packages(session, {"chromium": "/usr/bin/chromium", **FASHION})
    run(session, env, "python", "-m", "pytest", "tests", *(session.posargs or ["-q"]))


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks, each a ratio against a baseline measured in the same run (`nox -s bench -- --only parallel`);
    `-- --only error-control` runs the long simulations of the verdicts' error rates, coverage and power."""
    env = study_env(session)
    if session.posargs[:2] == ["--only", "error-control"]:
        run(session, env, "python", "-m", "pytest", "tests/test_stats.py", "-m", "slow", "-s", "-q")
        return
    run(session, env, "python", "-m", "pipeline.bench", *session.posargs)


@nox.session
def lab(session: nox.Session) -> None:
    """Start JupyterLab with notebooks/*.py opening as notebooks (Jupytext)."""
    env = study_env(session)
    settings = VENV / "etc" / "jupyter" / "labconfig" / "default_setting_overrides.json"
    run(session, env, "jupytext-config", "--settings-file", str(settings), "set-default-viewer", "python")
    run(session, env, "python", "-c", "import pipeline.kernel as k; k.ensure_kernel()")
    run(session, env, "jupyter", "lab", f"--notebook-dir={ROOT}", *session.posargs)
