"""Where model weights come from: open_clip configs of the embedded models, whether a tag can
be had offline, and the identity of weights for cache keys (a file's hash, or the tag name)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path

from bench.files import atomic_write, cache_home, package_assets


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: Path, memo: bool = True) -> str:
    """sha256 of a file, memoised in the cache folder unless ``memo=False`` (``--no-cache``).

    The memo key is (path, size, mtime, inode, ctime): rewriting a file changes
    its ctime (which no tool can set back), and replacing it changes the inode,
    so a checkpoint rewritten with the same size and mtime is hashed again.
    """
    path = Path(path).resolve()
    if not memo:
        return _hash_file(path)
    st = path.stat()
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}|{st.st_ctime_ns}"
    index_path = cache_home() / "weights_index.json"
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError):
        index = {}
    if key in index:
        return index[key]
    digest = _hash_file(path)
    index[key] = digest
    try:
        atomic_write(index_path, lambda p: p.write_text(json.dumps(index)))
    except OSError:
        pass  # a read-only cache only costs a re-hash next time
    return digest


def tag_missing(name: str, tag: str) -> str | None:
    """Why open_clip's pretrained `tag` for `name` cannot be had now, or None: it is in the
    local Hugging Face cache, or the hub can be reached (unknown tags are left to the loader)."""
    import open_clip

    add_bench_configs()
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
    if hub_reachable():
        return None
    return (f"weights {name}/{tag} are not in the local Hugging Face cache and the model hub "
            "cannot be reached: pass --pretrained PATH (a local checkpoint)")


_configs_added = False


def add_bench_configs() -> None:
    """Make the embedded model configs (JSON, as data) known to open_clip."""
    global _configs_added
    if not _configs_added:
        import open_clip

        open_clip.add_model_config(package_assets() / "models")
        _configs_added = True


def hub_reachable(timeout: float = 3.0) -> bool:
    if os.environ.get("BENCH_OFFLINE") or os.environ.get("HF_HUB_OFFLINE") in ("1", "true", "ON"):
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
        return True
    except OSError:
        return False
