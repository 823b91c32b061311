"""Identify model weights for cache keys: a file's content hash, or the tag name."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from bench.paths import cache_home


def file_sha256(path: Path) -> str:
    """sha256 of a file, memoised on (path, size, mtime) in the cache folder."""
    path = Path(path).resolve()
    st = path.stat()
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    index_path = cache_home() / "weights_index.json"
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError):
        index = {}
    if key in index:
        return index[key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    index[key] = digest
    try:
        index_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = index_path.with_name(f".{index_path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(index))
        os.replace(tmp, index_path)
    except OSError:
        pass  # a read-only cache only costs a re-hash next time
    return digest


def tag_missing(name: str, tag: str) -> str | None:
    """Why open_clip's pretrained `tag` for `name` cannot be had now, or None: it is in the
    local Hugging Face cache, or the hub can be reached (unknown tags are left to the loader)."""
    import open_clip

    from bench.models.openclip import _add_bench_configs, _hub_reachable

    _add_bench_configs()
    cfg = open_clip.get_pretrained_cfg(name, tag) or {}
    if not cfg or cfg.get("file"):
        return None
    hub = cfg.get("hf_hub", "")
    if hub:
        from huggingface_hub import try_to_load_from_cache

        repo, filename = os.path.split(hub)
        names = [filename] if filename else ["open_clip_model.safetensors",
                                             "open_clip_pytorch_model.bin"]
        for fname in names:
            if isinstance(try_to_load_from_cache(repo, fname), str):
                return None
    if _hub_reachable():
        return None
    return (f"weights {name}/{tag} are not in the local Hugging Face cache and the model hub "
            "cannot be reached: pass --pretrained PATH (a local checkpoint)")
