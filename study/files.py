"""Files: atomic writes (a temporary file beside the target, renamed over it, so no reader sees half a file) and
the SHA-256 of source files, one way for run keys, page hashes and the cluster's code check."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` (its folder created) to write to; renamed over `path` when the block ends
    without an error, removed otherwise: `path` is never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, text: str) -> Path:
    """Write `text` to `path` through a temporary file and a rename: never half-written."""
    with replacing(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def file_hashes(paths: Iterable[Path], root: Path) -> dict[str, str]:
    """The SHA-256 of each file's bytes, by its path relative to `root` (POSIX form)."""
    return {Path(p).relative_to(root).as_posix(): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


def combined_hash(hashes: dict[str, str]) -> str:
    """One SHA-256 over named hashes, in name order."""
    return hashlib.sha256("".join(f"{name}:{h}\n" for name, h in sorted(hashes.items())).encode()).hexdigest()
