"""The recordings a QA user may open: the data directory's recordings and the bundled samples.

The page only ever sends back a key from this catalog, never a path; a key that is not in
the catalog (``../../etc/passwd``, an absolute path, a name from another folder) is
refused. Listing reads only each file's first and last lines, so it stays quick however
large the recordings are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


class CatalogError(Exception):
    """A recording that is not in the catalog, or no longer there."""


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    key: str  # "<folder label>/<file name>"
    path: Path
    folder: str
    name: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    rows: int

    @property
    def duration_h(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return (self.end - self.start).total_seconds() / 3600.0

    @property
    def source(self) -> str:
        stem = self.name.removesuffix(".csv")
        return stem.split("_", 1)[1] if self.folder == "recordings" and "_" in stem else stem


def _edge_times(path: Path) -> tuple[pd.Timestamp | None, pd.Timestamp | None, int]:
    """First and last timestamps and an approximate row count, reading little of the file."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(64 * 1024)
        handle.seek(max(0, size - 64 * 1024))
        tail = handle.read()
    lines = [line for line in head.splitlines() if line.strip()]
    if len(lines) < 2:
        return None, None, 0
    if size <= 64 * 1024:
        rows = len(lines) - 1
    else:
        with open(path, "rb") as handle:
            rows = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1
    last = [line for line in tail.splitlines() if line.strip()][-1]

    def stamp(line: bytes) -> pd.Timestamp | None:
        text = line.split(b",", 1)[0].decode("utf-8", errors="replace").strip()
        value = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        return None if pd.isna(value) else value

    return stamp(lines[1]), stamp(last), rows


class Catalog:
    """Named folders of recordings; entries looked up by key only."""

    def __init__(self, folders: dict[str, Path]) -> None:
        self.folders = {label: Path(folder).resolve() for label, folder in folders.items()}

    def entries(self) -> list[CatalogEntry]:
        out = []
        for label, folder in self.folders.items():
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.csv")):
                if not path.is_file() or path.is_symlink():
                    continue
                try:
                    start, end, rows = _edge_times(path)
                except OSError:
                    continue
                out.append(
                    CatalogEntry(
                        key=f"{label}/{path.name}",
                        path=path,
                        folder=label,
                        name=path.name,
                        start=start,
                        end=end,
                        rows=rows,
                    )
                )
        return out

    def resolve(self, key: object) -> Path:
        """The file for a catalog key; CatalogError for anything else."""
        if not isinstance(key, str) or key.count("/") != 1 or len(key) > 300:
            raise CatalogError("That recording is not in the list; choose one from the list.")
        label, name = key.split("/")
        folder = self.folders.get(label)
        if (
            folder is None
            or name in ("", ".", "..")
            or os.sep in name
            or "\\" in name
            or "\x00" in name
        ):
            raise CatalogError("That recording is not in the list; choose one from the list.")
        path = (folder / name).resolve()
        if path.parent != folder or path.suffix != ".csv" or not path.is_file():
            raise CatalogError("That recording is not in the list; choose one from the list.")
        return path
