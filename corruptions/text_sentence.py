"""Sentence-level text shifts: Styleformer style transfer and WMT19 back-translation.

Both need seq2seq models that bench cannot ship or download: they are found locally, or the
shift reports itself unavailable with the reason. Nothing here imports ``transformers``
until a model is actually loaded, and every load is ``local_files_only``.

Where the models are looked up, in order:
- ``$BENCH_STYLEFORMER_DIR/<name>/`` for the Styleformer T5 models and the adequacy ranker
  (``informal_to_formal_styletransfer``, ``formal_to_informal_styletransfer``,
  ``active_to_passive_styletransfer``, ``passive_to_active_styletransfer``,
  ``parrot_adequacy_on_BART``), ``$BENCH_BACKTRANS_DIR/<name>/`` for ``wmt19-en-de`` and
  ``wmt19-de-en``;
- otherwise the Hugging Face cache (``prithivida/<name>``, ``facebook/<name>``), read
  offline.
Generation follows Styleformer (sampling, top-k 50, top-p 0.95, max length 32; formal and
casual draw 5 candidates and keep the best one whose adequacy score is >= 0.95, else the
caption is kept, as MM_Robustness did) and nlpaug's BackTranslationAug (the models' own
generation settings, max length 300). Models run on ``$BENCH_TEXT_DEVICE`` (default cpu,
so that a seed gives the same sample on every machine).
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from typing import Any, NamedTuple

from .errors import ShiftUnavailable


class _Model(NamedTuple):
    env: str  # folder variable
    owner: str  # Hugging Face owner
    name: str  # folder / repository name


_STYLE_DIR, _BT_DIR = "BENCH_STYLEFORMER_DIR", "BENCH_BACKTRANS_DIR"
ADEQUACY = _Model(_STYLE_DIR, "prithivida", "parrot_adequacy_on_BART")
# name -> (model, task prefix, rank 5 samples by adequacy)
STYLES = {
    "formal": (
        _Model(_STYLE_DIR, "prithivida", "informal_to_formal_styletransfer"),
        "transfer Casual to Formal: ",
        True,
    ),
    "casual": (
        _Model(_STYLE_DIR, "prithivida", "formal_to_informal_styletransfer"),
        "transfer Formal to Casual: ",
        True,
    ),
    "passive": (
        _Model(_STYLE_DIR, "prithivida", "active_to_passive_styletransfer"),
        "transfer Active to Passive: ",
        False,
    ),
    "active": (
        _Model(_STYLE_DIR, "prithivida", "passive_to_active_styletransfer"),
        "transfer Passive to Active: ",
        False,
    ),
}
BACKTRANS = (_Model(_BT_DIR, "facebook", "wmt19-en-de"), _Model(_BT_DIR, "facebook", "wmt19-de-en"))
SENTENCE_SHIFTS = (*STYLES, "backtrans")
ADEQUACY_THRESHOLD = 0.95
STYLE_CANDIDATES = 5


def required(name: str) -> tuple[_Model, ...]:
    if name == "backtrans":
        return BACKTRANS
    model, _prefix, ranked = STYLES[name]
    return (model, ADEQUACY) if ranked else (model,)


def needs(name: str) -> str:
    if name == "backtrans":
        return "transformers + FSMT wmt19-en-de and wmt19-de-en models ($BENCH_BACKTRANS_DIR)"
    return "transformers + Styleformer T5 model ($BENCH_STYLEFORMER_DIR)"


def _hub_cached(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(repo_id, "config.json")
    return isinstance(found, str)


def locate(model: _Model) -> str | None:
    """A local folder or a cached hub id for ``model``, or None."""
    folder = os.environ.get(model.env)
    if folder:
        path = Path(folder).expanduser() / model.name
        if (path / "config.json").is_file():
            return str(path)
    repo_id = f"{model.owner}/{model.name}"
    return repo_id if _hub_cached(repo_id) else None


def _missing_library() -> str | None:
    for module in ("torch", "transformers"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install 'bench-tta[sentence]')"
    return None


def available(name: str) -> tuple[bool, str]:
    missing = _missing_library()
    if missing:
        return False, missing
    for model in required(name):
        if locate(model) is None:
            return False, _missing_model(model)
    return True, ""


def _missing_model(model: _Model) -> str:
    return (
        f"no {model.owner}/{model.name} model: set {model.env}=path to a folder "
        f"holding {model.name}/ (or have it in the Hugging Face cache)"
    )


def _device() -> str:
    return os.environ.get("BENCH_TEXT_DEVICE", "cpu")


@functools.cache
def _load_seq2seq(source: str) -> tuple[Any, Any]:
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    model = AutoModelForSeq2SeqLM.from_pretrained(source, local_files_only=True)
    return tokenizer, model.eval().to(_device())


@functools.cache
def _load_classifier(source: str) -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(source, local_files_only=True)
    return tokenizer, model.eval().to(_device())


def _source(model: _Model) -> str:
    found = locate(model)
    if found is None:
        raise ShiftUnavailable(_missing_model(model))
    return found


def _generate(pair: tuple[Any, Any], text: str, seed: int | None, **kwargs: Any) -> list[str]:
    import torch

    tokenizer, model = pair
    enc = tokenizer(text, return_tensors="pt")
    inputs = {k: v.to(_device()) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        ids = model.generate(**inputs, **kwargs)
    decoded = (tokenizer.decode(row, skip_special_tokens=True).strip() for row in ids)
    return list(dict.fromkeys(decoded))  # unique, in generation order


def adequacy(source: str, candidates: list[str]) -> list[float]:
    """Styleformer's adequacy: P(entailment) against contradiction, neutral dropped."""
    import torch

    tokenizer, model = _load_classifier(_source(ADEQUACY))
    scores = []
    for candidate in candidates:
        enc = tokenizer(source, candidate, return_tensors="pt", truncation="only_first")
        with torch.no_grad():
            logits = model(input_ids=enc["input_ids"].to(_device())).logits
        scores.append(float(logits[:, [0, 2]].softmax(dim=1)[0, 1]))
    return scores


def _style(name: str, text: str, seed: int) -> str:
    model, prefix, ranked = STYLES[name]
    count = STYLE_CANDIDATES if ranked else 1
    candidates = _generate(
        _load_seq2seq(_source(model)), prefix + text, seed,
        do_sample=True, max_length=32, top_k=50, top_p=0.95, num_return_sequences=count,
    )  # fmt: skip
    if not ranked:
        return candidates[0] if candidates else text
    scored = [(s, c) for s, c in zip(adequacy(text, candidates), candidates, strict=True)]
    passing = [sc for sc in scored if sc[0] >= ADEQUACY_THRESHOLD]
    # Styleformer returns None when nothing passes; MM_Robustness then kept the caption.
    return max(passing, key=lambda sc: sc[0])[1] if passing else text


def _backtranslate(text: str) -> str:
    forward, backward = (_load_seq2seq(_source(m)) for m in BACKTRANS)
    german = _generate(forward, text, None, max_length=300)
    english = _generate(backward, german[0], None, max_length=300) if german else []
    return english[0] if english else text


def apply_sentence(name: str, text: str, seed: int) -> str:
    """One draw of a sentence shift; ShiftUnavailable when its models are not here."""
    ok, reason = available(name)
    if not ok:
        raise ShiftUnavailable(f"{name}: {reason}")
    if name == "backtrans":
        return _backtranslate(text)
    return _style(name, text, seed)
