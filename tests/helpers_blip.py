"""A tiny random BLIP (same architecture, small sizes) and its WordPiece vocabulary."""

from __future__ import annotations

from pathlib import Path

import pytest

transformers = pytest.importorskip("transformers")

WORDS = ("a an the of on in with and is are to at dog dogs cat cats man woman person red blue "
         "green black white shirt dress bag shoe shoes sitting standing street table plate food "
         "bus car train water grass field photo picture near next two three small large "
         "brown young old holding riding walking").split()


def write_vocab(folder: Path) -> Path:
    """A BERT-style vocab.txt: specials, the words above, letters and ##letters."""
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789")
    tokens = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + letters
              + [f"##{c}" for c in letters] + list(".,!?'-#:;\"()*~&/"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(dict.fromkeys(tokens)) + "\n")
    return folder


def tiny_config(image_size: int = 32, vocab: int = 160):
    """BlipConfig of the retrieval model at toy sizes (patch 8: a 4x4 grid at 32 px)."""
    from transformers import BlipConfig

    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=4, image_size=image_size, patch_size=8,
                  layer_norm_eps=1e-6)
    text = dict(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=4, max_position_embeddings=64, encoder_hidden_size=32,
                is_decoder=True, bos_token_id=2, sep_token_id=3, pad_token_id=0)
    return BlipConfig(vision_config=vision, text_config=text, image_text_hidden_size=16)


def tiny_spec(vocab_dir: Path, name: str = "blip-tiny", image_size: int = 32):
    from bench.models.blip_weights import BlipModel

    return BlipModel(name=name, vit="base", checkpoint="model_tiny.pth", hub=None,
                     description="tiny random BLIP (tests)",
                     config=lambda: tiny_config(image_size), tokenizer_source=str(vocab_dir))
