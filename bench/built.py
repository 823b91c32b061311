"""Where `python -m bench build` puts a dataset's shifted query sets (see bench/build.py)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.data.dataset import RetrievalDataset


def built_root(ds: RetrievalDataset) -> Path | None:
    """The folder where a dataset's built query sets live (None if it has no annotation file)."""
    anno = ds.meta.get("annotation")
    if not anno:
        return None
    return Path(anno).parent / "built" / f"{ds.name}-{ds.meta.get('split', 'test')}"


def built_image(root: Path, shift: str, severity: int, source: Path) -> Path:
    """The built copy of `source`, mirroring its path below the dataset folder."""
    source = Path(source)
    try:
        rel = source.relative_to(root.parent.parent)
    except ValueError:
        rel = Path(source.name)
    return root / "images" / shift / str(severity) / rel.with_suffix(".png")


def built_captions(root: Path, shift: str, level: int) -> Path:
    return root / "captions" / shift / f"{level}.json"


def load_built_captions(ds: RetrievalDataset, shift: str, level: int) -> dict[str, str] | None:
    """{caption sample id: shifted caption} from a build, or None when not built."""
    root = built_root(ds)
    path = built_captions(root, shift, level) if root else None
    if path is None or not path.exists():
        return None
    return json.loads(path.read_text())
