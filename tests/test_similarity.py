"""`bench similarity`: clean-vs-shifted embedding similarity falls with severity (mini CLIP)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from helpers_run import cli

from bench.engine.settings import RunSettings
from bench.studies.similarity import markdown, monotone, similarity_table


def _options(suite: str, severity, limit: int) -> RunSettings:  # the suite's shipped model
    return RunSettings.of(methods=["source"], suites=[suite], severity=severity, limit=limit,
                      workers=2, quiet=True, log=lambda msg: None)


def test_monotone_is_strict():
    assert monotone([0.99, 0.95, 0.9])
    assert not monotone([0.99, 0.99, 0.9])
    assert not monotone([0.99, 0.9, 0.95])
    assert monotone([0.5])


def test_markdown_marks_a_rise():
    df = pd.DataFrame([
        {"suite": "s", "dataset": "d", "model": "m", "shift": shift, "severity": sev,
         "n_images": 10, "paired": True, "cosine": value}
        for shift, values in (("fog", (0.9, 0.8, 0.7)), ("frost", (0.9, 0.7, 0.8)))
        for sev, value in zip((1, 2, 3), values, strict=True)])
    text = markdown(df)
    assert "| fog | 0.9000 | 0.8000 | 0.7000 | yes |" in text
    assert "| frost | 0.9000 | 0.7000 | 0.8000 | **no** |" in text
    assert "1 of 2 shifts fall at every severity step" in text
    assert "shared by all severities" in text


def test_every_image_shift_moves_embeddings_more_at_severity_5():
    # the shipped mini CLIP, 16 images, paired draws: severity 5 is further from clean than 1
    df = similarity_table(_options("mini-c", [1, 5], 16), torch.device("cpu"), paired=True)
    assert len(df) == 32 and set(df["n_images"]) == {16}
    wide = df.pivot(index="shift", columns="severity", values="cosine")
    assert (wide[5] < wide[1]).all(), wide
    assert ((wide > 0.3) & (wide < 1.0 + 1e-5)).all().all(), wide


@pytest.mark.parametrize("paired", [False, True])
def test_contrast_falls_at_every_step(paired):
    df = similarity_table(_options("mini-c", "all", 64), torch.device("cpu"), paired=paired,
                          shifts=["contrast"])
    assert list(df["shift"]) == ["contrast"] * 5 and list(df["severity"]) == [1, 2, 3, 4, 5]
    assert monotone(list(df["cosine"])), df


def test_paired_draws_differ_from_the_benchmark_images():
    opts = _options("mini-c", [3], 8)
    two = ["gaussian_noise", "brightness"]
    own = similarity_table(opts, torch.device("cpu"), shifts=two).set_index("shift")["cosine"]
    paired = similarity_table(opts, torch.device("cpu"), paired=True,
                              shifts=two).set_index("shift")["cosine"]
    assert own["gaussian_noise"] != paired["gaussian_noise"]  # a different noise draw
    assert own["brightness"] == pytest.approx(paired["brightness"], abs=1e-6)  # no randomness


def test_cli_writes_table_and_rows(tmp_path):
    code, out, _ = cli("similarity", "--suite", "mini-c", "--shift", "contrast,fog",
                       "--severity", "1,5", "--limit", "16", "--quiet",
                       "--out", tmp_path / "sim.md", "--csv", tmp_path / "sim.csv")
    assert code == 0
    assert "| contrast |" in out and "| fog |" in out
    assert (tmp_path / "sim.md").read_text().startswith("## mini-c")
    rows = pd.read_csv(tmp_path / "sim.csv")
    assert sorted(zip(rows["shift"], rows["severity"], strict=True)) == [
        ("contrast", 1), ("contrast", 5), ("fog", 1), ("fog", 5)]


@pytest.mark.parametrize("argv, expected", [
    (("--suite", "mini-clean"), "no image-shift cell"),
    (("--suite", "mini-c", "--shift", "fogg"), "unknown shift 'fogg'"),
    (("--suite", "mini-c", "--shift", "ocr"), "no image-shift cell to measure among ocr"),
])
def test_cli_bad_input_is_one_line_error(argv, expected):
    code, _, err = cli("similarity", *argv, "--quiet")
    assert code == 2 and expected in err and len(err.strip().splitlines()) == 1
