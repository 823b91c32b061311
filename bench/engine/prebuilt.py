"""Where `python -m bench build` puts a dataset's shifted query sets (see bench/engine/prebuild.py)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.data.dataset import RetrievalDataset


def built_root(ds: RetrievalDataset, out: Path | None = None) -> Path | None:
    """The folder where a dataset's built query sets live: under `out` (`build --out DIR`,
    for read-only data folders), else beside the annotation file (None if it has none)."""
    name = f"{ds.name}-{ds.meta.get('split', 'test')}"
    if out is not None:
        return Path(out) / name
    anno = ds.meta.get("annotation")
    if not anno:
        return None
    return Path(anno).parent / "built" / name


def built_image(root: Path, shift: str, severity: int, source: Path,
                sample_id: str | None = None) -> Path:
    """The built copy of `source`, mirroring its path below the dataset folder (or, given,
    its sample id: the path below the image root)."""
    source = Path(source)
    if sample_id is not None:
        rel = Path(sample_id)
    else:
        try:
            rel = source.relative_to(root.parent.parent)
        except ValueError:
            rel = Path(source.name)
    return root / "images" / shift / str(severity) / rel.with_suffix(".png")


def built_captions(root: Path, shift: str, level: int) -> Path:
    return root / "captions" / shift / f"{level}.json"


def load_built_captions(ds: RetrievalDataset, shift: str, level: int,
                        out: Path | None = None) -> dict[str, str] | None:
    """{caption sample id: shifted caption} from a build, or None when not built."""
    root = built_root(ds, out)
    path = built_captions(root, shift, level) if root else None
    if path is None or not path.exists():
        return None
    return json.loads(path.read_text())
