"""The book's pages, declared once in `notebooks/pages.yml`: which template runs over which datasets and
parameter files, and what each summary page reads. Jobs, the table of contents and the site test derive from it."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from pipeline.kernel import REPO
from study.data import DATASETS, LABELS, STAND_INS, STUDY_DATASETS
from study.typed import Strict

NOTEBOOKS = REPO / "notebooks"
MANIFEST = NOTEBOOKS / "pages.yml"


class PageDecl(Strict):
    """A summary page: its output name, its template in notebooks/, the results it reads, its title, and the
    per-dataset page it links to for each dataset's evidence (given to it as `evidence_pages`). A page that
    is `generated` (the status page) is written by the pipeline from the other pages instead of executed."""

    name: str
    template: str | None = None
    reads: Literal["dataset", "all", "compared"] | None = None
    title: str | None = None
    links: str | None = None
    generated: Literal["status"] | None = None

    @model_validator(mode="after")
    def _template_or_generated(self) -> PageDecl:
        if (self.template is None) == (self.generated is None):
            raise ValueError("give a page either a template or `generated: status`")
        if self.template and self.reads is None:
            raise ValueError("a page with a template needs `reads`: dataset, all or compared")
        return self


class ModelPages(Strict):
    """The template run once per parameter file on each dataset, and the seed trainer (`module:function`, importable
    on the workers) that trains each of a page's runs into the run store before the page is executed."""

    template: str
    runs: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class PerDataset(Strict):
    """Each dataset's part: a model page per parameter file, then its summary pages."""

    models: ModelPages
    pages: list[PageDecl]


class Part(Strict):
    """A closing part of the book."""

    caption: str
    pages: list[PageDecl]


class Manifest(Strict):
    """The whole declaration: the front page, each dataset's part, the closing parts."""

    root: PageDecl
    per_dataset: PerDataset
    closing: list[Part]


class ManifestError(ValueError):
    """A pages file that is not a valid declaration; the message names the file and the fields."""


def load_manifest(path: Path = MANIFEST) -> Manifest:
    """Read and validate a pages file, checking that every template it names exists beside it."""
    try:
        manifest = Manifest.model_validate(yaml.safe_load(path.read_text()))
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(f"{path}: cannot be read: {exc}") from None
    except ValidationError as exc:
        fields = "; ".join(f"field '{'.'.join(map(str, e['loc']))}': {e['msg']}" for e in exc.errors())
        raise ManifestError(f"{path}: invalid pages file: {fields}") from None
    templates = [manifest.root.template, manifest.per_dataset.models.template,
                 *(p.template for p in manifest.per_dataset.pages), *(p.template for part in manifest.closing
                                                                      for p in part.pages)]
    missing = [t for t in templates if t and not (path.parent / t).is_file()]
    if missing:
        raise ManifestError(f"{path}: no such template(s) in {path.parent}: {', '.join(missing)}")
    trainer = manifest.per_dataset.models.runs.split(":")[0]
    try:
        found = importlib.util.find_spec(trainer)
    except ImportError:
        found = None
    if found is None:
        raise ManifestError(f"{path}: per_dataset.models.runs: no module {trainer} can be imported (give "
                            "module:function, the module importable from the repository's root)")
    return manifest


def compared_datasets(datasets: list[str]) -> list[str]:
    """What a page that reads "compared" gets, of the datasets with results: each of the study's datasets, or
    its stand-in where the dataset itself has none."""
    picked = [d if d in datasets else STAND_INS.get(d) for d in STUDY_DATASETS]
    return [d for d in picked if d in datasets]


@dataclass(frozen=True)
class SummaryPage:
    """One summary page to execute: its name under book/, template, title, papermill parameters and the model
    result folders it reads."""

    name: str
    template: Path
    title: str | None
    parameters: dict = field(hash=False)
    reads: tuple[Path, ...]


@dataclass(frozen=True)
class Book:
    """The declared pages applied to a book project: `root/book/<dataset>/...` for the parameter files `ids`, with
    the templates in `notebooks` (the pages file's folder)."""

    manifest: Manifest
    root: Path
    params_dir: Path
    ids: tuple[str, ...]
    notebooks: Path = NOTEBOOKS

    @property
    def book_dir(self) -> Path:
        return self.root / "book"

    @property
    def model_template(self) -> Path:
        return self.notebooks / self.manifest.per_dataset.models.template

    def models_dir(self, dataset: str) -> Path:
        """Where a dataset's model pages and result files go."""
        return self.book_dir / dataset / "models"

    def runs_dir(self, dataset: str, spec_id: str) -> Path:
        """Where a model's training runs on a dataset are stored, by content address (`study.runs`)."""
        return self.book_dir / dataset / "runs" / spec_id

    def datasets_with_results(self) -> list[str]:
        """The datasets, in the study's order, with at least one current model's result file."""
        return [d for d in DATASETS if any((self.models_dir(d) / f"{i}.json").is_file() for i in self.ids)]

    def summary_pages(self) -> list[SummaryPage]:
        """Every summary page of the book as it stands: each dataset's pages, the front page, the closing parts."""
        datasets = self.datasets_with_results()
        pages = [self._page(decl, [d], f"{d}/{decl.name}", LABELS[d])
                 for d in datasets for decl in self.manifest.per_dataset.pages]
        pages.append(self._page(self.manifest.root, datasets, self.manifest.root.name, None))
        pages += [self._page(decl, datasets, decl.name, None) for part in self.manifest.closing for decl in part.pages
                  if decl.template]
        return pages

    def generated_pages(self) -> list[PageDecl]:
        """The pages the pipeline writes itself (the status page)."""
        return [decl for part in self.manifest.closing for decl in part.pages if decl.generated]

    def _page(self, decl: PageDecl, datasets: list[str], name: str, label: str | None) -> SummaryPage:
        """A page's parameters name its inputs relative to its working folder: `params/`, `results/<dataset>/models`."""
        parameters: dict = {"params_dir": "params"}
        if decl.reads == "dataset":
            read = datasets
            parameters["results_dir"] = f"results/{read[0]}/models"
        elif decl.reads == "all":
            read = datasets
            parameters["results_dirs"] = [f"results/{d}/models" for d in read]
        else:
            read = compared_datasets(datasets)
            parameters["results_dirs"] = [f"results/{d}/models" for d in read]
            parameters["not_compared"] = [LABELS[d] for d in datasets if d not in read]
        if decl.links:
            parameters["evidence_pages"] = {d: f"{d}/{decl.links}.ipynb" for d in read}
        title = decl.title.format(label=label) if decl.title and label else decl.title
        return SummaryPage(name, self.notebooks / decl.template, title, parameters,
                           tuple(self.models_dir(d) for d in read))

    def toc(self) -> dict:
        """The table of contents of what `book/` holds, which the build uses (`pipeline.toc` writes it to
        `<root>/_toc.yml`): the front page; per dataset with results its model pages (in parameter-file order) and
        summary pages; then the closing parts. Failed runs appear as their `.failed` pages; pages of deleted
        parameter files do not appear."""
        return self._toc(self.datasets_with_results(), self._present)

    def declared_toc(self) -> dict:
        """The table of contents the declaration gives the whole study (its datasets, every parameter file), as if
        every page had been executed: what `toc()` is after a full build, and the committed `_toc.yml`."""
        return self._toc(list(STUDY_DATASETS), lambda names: [{"file": f"book/{name}"} for name in names])

    def _toc(self, datasets: list[str], chapters_of) -> dict:
        """A toc of `datasets`' parts, then the closing parts, each part with the entries `chapters_of` gives its
        page names (a part with none is left out)."""
        parts = []
        for d in datasets:
            names = [f"{d}/models/{i}" for i in self.ids] + [f"{d}/{p.name}" for p in self.manifest.per_dataset.pages]
            if chapters := chapters_of(names):
                parts.append({"caption": LABELS[d], "chapters": chapters})
        for part in self.manifest.closing:
            if chapters := chapters_of([p.name for p in part.pages]):
                parts.append({"caption": part.caption, "chapters": chapters})
        return {"format": "jb-book", "root": f"book/{self.manifest.root.name}", "parts": parts}

    def _present(self, names: list[str]) -> list[dict]:
        """The executed (or failed) notebooks, and the generated pages, among `names`, as toc entries."""
        return [{"file": f"book/{name}{suffix}"} for name in names for suffix in ("", ".failed")
                if (self.book_dir / f"{name}{suffix}.ipynb").is_file()
                or (not suffix and (self.book_dir / f"{name}.md").is_file())]

    def pages(self) -> list[str]:
        """Every document of the table of contents, root first: what the built site must hold."""
        toc = self.toc()
        return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
