"""The book's table of contents (`<root>/_toc.yml`, the one the build uses) and its status page, from `book/`.

Both derive from the declared pages and what `book/` holds. The toc lists the pages `book/` holds: the datasets
run (after a run limited with `--datasets`, those alone), failed pages as their `.failed` pages, no page of a
deleted parameter file. A full build (the whole study, nothing failed) writes it as the declaration gives the
study: the committed `_toc.yml`, which a test checks against the declaration. `--declared` writes that from the
declaration alone (a new parameter file's pages, before they are executed).

Usage: python -m pipeline.toc [--root DIR] [--params DIR] [--pages FILE] [--declared]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from pipeline.pages import MANIFEST, REPO, Book, load_manifest
from pipeline.status import write_status
from study.files import write_atomic
from study.spec import PARAMS_DIR, load_specs

HEADER = ("# The book's table of contents, the one `jupyter-book build` uses. Written by pipeline.toc from\n"
          "# notebooks/pages.yml, notebooks/params/ and the pages book/ holds; do not edit. Committed as a full\n"
          "# build writes it (the whole study: `python -m pipeline.toc --declared`); a test checks it.\n")


def toc_path(book: Book) -> Path:
    """Where the table of contents is written, and read by the build: `<root>/_toc.yml`."""
    return book.root / "_toc.yml"


def _write(book: Book, toc: dict) -> Path:
    """Write `toc` to `<root>/_toc.yml` atomically, under the header that says what it is."""
    return write_atomic(toc_path(book), HEADER + yaml.safe_dump(toc, sort_keys=False))


def write_toc(book: Book) -> Path:
    """Write `<root>/_toc.yml` atomically from `book.toc()`: the pages `book/` holds."""
    return _write(book, book.toc())


def write_declared_toc(book: Book) -> Path:
    """Write `<root>/_toc.yml` from `book.declared_toc()`: the whole study, as a full build writes it."""
    return _write(book, book.declared_toc())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.toc", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO)
    parser.add_argument("--params", type=Path, default=PARAMS_DIR)
    parser.add_argument("--pages", type=Path, default=MANIFEST)
    parser.add_argument("--declared", action="store_true",
                        help="write the whole study's toc, as a full build does, from the declaration alone")
    args = parser.parse_args(argv)
    book = Book(load_manifest(args.pages), args.root, args.params, tuple(load_specs(args.params)), args.pages.parent)
    if args.declared:
        print(f"wrote {write_declared_toc(book)}")
        return 0
    for path in write_status(book):
        print(f"wrote {path}")
    print(f"wrote {write_toc(book)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
