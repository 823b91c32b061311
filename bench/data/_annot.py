"""Shared checks for annotation files: read JSON and validate records with one-line errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from bench.api.errors import DataError, first_line


def require_file(path: Path, layout: str) -> Path:
    """``path`` if it is a file, else a DataError naming it and the expected layout."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"annotation file not found: {path}", f"expected {layout}")
    return path


def require_dir(path: Path, layout: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"folder not found: {path}", f"expected {layout}")
    return path


def read_json(path: Path) -> Any:
    """Parse a JSON file; a syntax error names the file, line and column."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: not valid JSON ({err.msg} at line {err.lineno} "
                        f"column {err.colno})") from err
    except (ValueError, RecursionError) as err:  # e.g. an integer of thousands of digits
        raise DataError(f"{path}: not valid JSON ({first_line(str(err))[:120]})") from err
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read annotation file {path}: {err}") from err


def field(record: Any, key: str, kind: type | tuple[type, ...], path: Path, index: int) -> Any:
    """``record[key]`` checked for type; errors name the file and the record index."""
    if not isinstance(record, dict):
        raise DataError(f"{path}: record {index} is not an object")
    if key not in record:
        raise DataError(f"{path}: record {index} has no '{key}' field")
    value = record[key]
    # bool is an int subclass; an id of `true` is a malformed file, not person 1
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DataError(f"{path}: record {index} field '{key}' is not {_kind_name(kind)}")
    return value


def caption_list(value: Any, path: Path, index: int, where: str = "captions") -> list[str]:
    """A list of caption strings, whitespace-trimmed; anything else is a malformed record."""
    if not isinstance(value, list):
        raise DataError(f"{path}: record {index} field '{where}' is not a list")
    out = []
    for k, cap in enumerate(value):
        if not isinstance(cap, str):
            raise DataError(f"{path}: record {index} caption {k} is not a string")
        out.append(cap.strip())
    return out


def inside(root: Path, rel: str, path: Path, index: int | None) -> Path:
    """``root / rel``, refused when `rel` leads outside `root` (``..``, an absolute path, a
    link out): an annotation must not make bench read or write elsewhere. Every loader
    joins an annotation's path to its folder through here. `index`: the record's position
    in `path` (None: `path` holds one record)."""
    target = Path(root) / rel
    base = Path(root).resolve()
    try:
        resolved = target.resolve()
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL byte
        resolved = None
    if Path(rel).is_absolute() or resolved is None or not resolved.is_relative_to(base):
        record = f"record {index} " if index is not None else ""
        raise DataError(f"{path}: {record}image path '{rel}' leads outside the image "
                        f"folder {root}", "annotation paths must stay inside their data folder")
    return target


def pick_image_root(candidates: Path | Sequence[Path], rel: str, json_path: Path,
                    layout: str) -> Path:
    """The first candidate image folder holding the first record's image `rel`."""
    roots = [Path(candidates)] if isinstance(candidates, (str, Path)) else list(candidates)
    for root in roots:
        if (root / rel).is_file():
            return root
    where = ", ".join(f"{r}/" for r in roots)
    hint = (f"expected {layout}" if len(roots) == 1 else
            f"move the images so that {roots[0] / rel} exists")
    raise DataError(f"image not found: {rel} (first record of {json_path}) under {where}", hint)


def split_names(split: str) -> set[str]:
    """``"train+restval"`` -> ``{"train", "restval"}``: Karpathy training often merges the two."""
    names = {s.strip() for s in str(split).split("+") if s.strip()}
    if not names:
        raise DataError(f"empty split name '{split}'")
    return names


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    words = {str: "a string", int: "an integer", list: "a list", dict: "an object"}
    return " or ".join(words.get(k, k.__name__) for k in kinds)


def captions_dataset(records: Iterable[tuple[int, str, list[str]]],
                     captions_per_image: int | None, image_root: Path | Sequence[Path],
                     json_path: Path, layout: str, name: str, fmt: str, split: str,
                     empty: Callable[[], tuple[str, str]], extra_meta: dict | None = None):
    """A ``captions`` dataset from (record index, image path under the root, captions) in
    file order, keeping the first `captions_per_image` captions (None: all). The image root
    is the first candidate that holds the first image; `empty()` gives the DataError's line and
    hint when no record is given (computed only then). Shared by the Karpathy and BLIP loaders."""
    import numpy as np

    from bench.data.dataset import RetrievalDataset

    rels: list[tuple[int, str]] = []
    captions: list[str] = []
    caption_image: list[int] = []
    for index, rel, caps in records:
        if captions_per_image is not None:
            caps = caps[:captions_per_image]
        captions.extend(caps)
        caption_image.extend([len(rels)] * len(caps))
        rels.append((index, rel))
    if not rels:
        raise DataError(*empty())
    # One stat catches a wrong image root at load time without reading every image.
    root = pick_image_root(image_root, rels[0][1], json_path, layout)
    image_paths = [inside(root, rel, json_path, index) for index, rel in rels]
    meta = {"format": fmt, "split": split, "annotation": str(json_path),
            "captions_per_image": captions_per_image, "image_root": str(root), **(extra_meta or {})}
    return RetrievalDataset(name=name, kind="captions", image_paths=image_paths,
                            captions=captions, caption_image=np.asarray(caption_image), meta=meta)
