"""Runs model jobs on Dask distributed: a local cluster by default, or an existing one by address."""

from __future__ import annotations

import contextlib
import logging
import sys
import time

import pandas as pd
from tqdm import tqdm

from study.execute import ModelJob, PageJob, run_job, run_page


@contextlib.contextmanager
def client(workers: int, scheduler: str | None = None):
    """A Dask client: on `scheduler` if given, else on a local cluster of `workers` single-threaded processes."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as c:
            yield c
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as c:
        yield c


def run_all(client, jobs: list[ModelJob]) -> list[dict]:
    """Run every model job on `client`'s workers, one per worker; a failing job does not stop the others.
    One outcome per job, in the jobs' order."""
    from dask.distributed import as_completed

    outcomes = []
    start = time.perf_counter()
    futures = [client.submit(run_job, job, key=f"{job.name}-{job.inputs_hash[:12]}", pure=False) for job in jobs]
    # the bar redraws in a terminal; in a log (CI, nox piped) each finished run's line carries the progress
    with tqdm(total=len(jobs), desc="models", unit="model", file=sys.stdout, mininterval=1,
              disable=not sys.stdout.isatty(),
              bar_format="{desc}: {n}/{total} |{bar:30}| {elapsed} elapsed, ~{remaining} left") as bar:
        for future in as_completed(futures):
            outcome = future.result()
            outcomes.append(outcome)
            progress = _progress(len(outcomes), len(jobs), time.perf_counter() - start) if bar.disable else ""
            bar.write(_line(outcome) + progress, file=sys.stdout)
            bar.update()
    order = {job.name: i for i, job in enumerate(jobs)}
    return sorted(outcomes, key=lambda o: order[o["id"]])


def run_pages(client, pages: list[PageJob]) -> list[dict]:
    """Run the summary pages side by side on `client`'s workers, a line each as it finishes; one outcome per page."""
    from dask.distributed import as_completed

    futures = [client.submit(run_page, page, key=f"page-{page.name}-{page.inputs_hash[:12]}", pure=False)
               for page in pages]
    outcomes = []
    for future in as_completed(futures):
        outcome = future.result()
        outcomes.append(outcome)
        status = "ok" if outcome["ok"] else f"FAILED: {outcome['error']}"
        print(f"  page {outcome['id']}: {status}, {outcome['seconds']:.0f} s", flush=True)
    return outcomes


def _progress(done: int, total: int, elapsed: float) -> str:
    left = elapsed / done * (total - done)
    return f"   [{done}/{total} done, {elapsed:.0f} s elapsed, ~{left:.0f} s left]"


def _line(outcome: dict) -> str:
    if not outcome["ok"]:
        return f"  {outcome['id']}: FAILED after {outcome['seconds']:.0f} s: {outcome['error']}"
    record = outcome["record"]
    acc, d = record["summary"]["accuracy"], record["dataset"]
    spread = f" ± {acc['sd']:.4f}" if acc["n"] > 1 else ""
    fallback = f" INSTEAD OF {d['requested']}" if d["name"] != d["requested"] else ""
    return (f"  {outcome['id']}: test accuracy {acc['mean']:.4f}{spread} over {acc['n']} seed(s) on {d['name']}"
            f"{fallback} ({d['n_train']:,}/{d['n_test']:,}), {outcome['seconds']:.0f} s")


def summary_table(outcomes: list[dict]) -> str:
    """The finished runs as a table: status, accuracy, seeds and time."""
    rows = []
    for o in outcomes:
        acc = o["record"]["summary"]["accuracy"] if o["ok"] else {}
        rows.append({"model": o["id"], "status": "ok" if o["ok"] else "FAILED", "accuracy": acc.get("mean"),
                     "sd": acc.get("sd"), "seeds": acc.get("n"), "seconds": round(o["seconds"], 1)})
    return pd.DataFrame(rows).set_index("model").to_string(float_format=lambda v: f"{v:.4f}", na_rep="—")
