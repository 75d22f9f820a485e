"""What a worker of a Dask cluster must share with the client: the same code (`study/`, `pipeline/`) and the same
installed versions of the pinned requirements. Checked when the client connects, before anything runs."""

from __future__ import annotations

import platform
import re
from importlib.metadata import PackageNotFoundError, version
from pydantic import BaseModel

from pipeline.kernel import REPO
from pipeline.staleness import REQUIREMENTS
from study.files import file_hashes

CODE = ("study", "pipeline")
PIN = re.compile(r"^\s*([A-Za-z0-9_.\-\[\]]+)\s*==\s*([^\s;#]+)")


class Fingerprint(BaseModel):
    """A process's code, file by file (SHA-256), the installed version of each pinned requirement, and Python's."""

    code: dict[str, str]
    packages: dict[str, str]
    python: str


def fingerprint() -> Fingerprint:
    """This process's fingerprint: what it runs as `study` and `pipeline`, and what it has installed."""
    code = file_hashes([p for folder in CODE for p in sorted((REPO / folder).glob("*.py"))], REPO)
    packages = {}
    for line in REQUIREMENTS.read_text().splitlines():
        if match := PIN.match(line):
            name = match.group(1).split("[")[0]
            try:
                packages[name] = version(name)
            except PackageNotFoundError:
                packages[name] = "not installed"
    return Fingerprint(code=code, packages=packages, python=platform.python_version())


def differences(mine: Fingerprint, theirs: Fingerprint) -> list[str]:
    """What differs between the client's fingerprint and a worker's, in words."""
    out = []
    files = sorted(set(mine.code) | set(theirs.code))
    changed = [f for f in files if mine.code.get(f) != theirs.code.get(f)]
    if changed:
        shown = ", ".join(f + ("" if f in theirs.code else " (missing there)") + ("" if f in mine.code else
                                                                                  " (not here)") for f in changed[:5])
        out.append(f"other code: {shown}" + (f" and {len(changed) - 5} more" if len(changed) > 5 else ""))
    packages = sorted(set(mine.packages) | set(theirs.packages))
    changed = [f"{p} {theirs.packages.get(p, 'not pinned')} there, {mine.packages.get(p, 'not pinned')} here"
               for p in packages if mine.packages.get(p) != theirs.packages.get(p)]
    if changed:
        out.append("other packages: " + "; ".join(changed))
    if mine.python != theirs.python:
        out.append(f"Python {theirs.python} there, {mine.python} here")
    return out


def mismatches(client) -> list[str]:
    """A line for each worker of `client`'s cluster that runs other code or packages than this process, naming the
    worker and what differs; a line saying so when the cluster has no worker."""
    workers = client.scheduler_info().get("workers", {})
    if not workers:
        return [f"the scheduler at {client.scheduler.address} has no workers: start some (README, Scale-out) and "
                "run again"]
    mine = fingerprint()
    out = []
    for address, theirs in client.run(_fingerprint_json, on_error="return").items():
        name = workers.get(address, {}).get("name", address)
        where = f"worker {name} ({address})" if str(name) != address else f"worker {address}"
        if isinstance(theirs, Exception):
            out.append(f"{where} cannot run this study's code ({type(theirs).__name__}: {theirs}): start it from a "
                       "checkout of the same commit, with that checkout on PYTHONPATH")
        elif problems := differences(mine, Fingerprint.model_validate_json(theirs)):
            out.append(f"{where} differs from this checkout: {'; '.join(problems)}")
    return out


def _fingerprint_json() -> str:
    """What a worker sends back: its fingerprint as JSON (plain data, whatever its pydantic)."""
    return fingerprint().model_dump_json()
