"""The interfaces a backbone or a suite plugin implements, as protocols: a plugin needs no
bench class to subclass, only these members (checked structurally).

* `Backbone`: what ``register_model`` registers under a ``--model`` name (subclassed,
  it gives the defaults of its optional members);
  `RetrievalTowers`: what its ``load`` returns, the two towers the runner drives.
* `SuiteDefinition`: what ``register_suite`` registers. Most suites need no Python at
  all: a TOML suite file (docs/suites.md) becomes one.

Types of bench's own data (datasets, cell specs, the suite context) appear as ``Any``:
a plugin receives them from bench and hands them back.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from bench.api.contract import QueryModel


@runtime_checkable
class RetrievalTowers(Protocol):
    """A contrastive model as two towers, one of which adapts (bench.models.openclip's
    `RetrievalModel` is bench's own). Images arrive as uint8 arrays at full resolution."""

    name: str
    device: torch.device
    weights_id: str
    activation: str  # the MLP activation the weights were built with (recorded in rows)

    @property
    def input_size(self) -> tuple[int, int]: ...

    @property
    def preprocess_id(self) -> str:
        """Describes the spatial preprocessing: part of the query caches' keys."""

    def resize_image(self, image: np.ndarray) -> np.ndarray:
        """A full-resolution HxWx3 uint8 image at the model's input size (uint8)."""

    def image_tensor(self, resized: np.ndarray) -> torch.Tensor:
        """Resized uint8 images (N x H x W x 3) -> the normalised model input."""

    def tokenize(self, texts: list[str]) -> torch.Tensor: ...

    def encode(self, direction: str, batch: torch.Tensor) -> torch.Tensor:
        """L2-normalised embeddings of a batch of queries of `direction`."""

    def encode_gallery(self, direction: str, batch: torch.Tensor) -> torch.Tensor:
        """L2-normalised embeddings of a batch of gallery items of `direction`."""

    def query_model(self, direction: str) -> QueryModel:
        """The tower a method adapts (only its LayerNorm affine parameters trainable)."""

    def restore_source(self) -> None:
        """Put the source weights back and freeze everything (the start of every cell)."""


@runtime_checkable
class Backbone(Protocol):
    """A registered model: a name bench resolves to weights and `RetrievalTowers`.

    A backbone subclasses it to inherit the defaults of `found_label` and `input_size`
    (bench's own do), or declares them."""

    name: str
    description: str
    # what `bench list models` and `bench doctor` say when `missing()` finds nothing
    found_label: str = "weights shipped"

    @property
    def input_size(self) -> tuple[int, int] | None:
        """(H, W) of the image input the weights expect, known without loading them
        (BLIP: 384 px); None: the input size of the architecture's open_clip config."""
        return None

    def missing(self, pretrained: str | None = None) -> str | None:
        """Why the weights cannot be had (one line with a hint), or None."""

    def load(self, pretrained: str | None, device: str | torch.device, seed: int = 0,
             prep: Any = None, activation: str | None = None) -> RetrievalTowers:
        """The towers on `device`; `prep` and `activation` are the real-data input recipe."""

    def weights_identity(self, pretrained: str | None, seed: int = 0,
                         memo: bool = True) -> str:
        """Identify the weights without loading them: part of every cell id."""


@runtime_checkable
class SuiteDefinition(Protocol):
    """A named, versioned family of cells (bench.suites.base.Suite is bench's own)."""

    name: str
    version: str  # part of every cell id
    description: str
    default_model: str
    default_pretrained: str | None
    embedded: bool  # generated data only: runs offline, cell ids carry no input recipe
    in_all: bool  # False: `--suite all` leaves it out
    data_needs: tuple[str, ...]  # what it needs under --data-root (`list suites`)

    def cells(self, severities: Any = None) -> list[Any]:
        """Its cell specs at the chosen severities (None: each shift's maximum)."""

    def missing(self, ctx: Any) -> str | None:
        """None when the suite's data can be had, else what is missing and how to get it."""

    def load(self, key: str, ctx: Any) -> Any:
        """Dataset `key` (a bench.data RetrievalDataset)."""

    def dataset_kind(self, key: str) -> str:
        """captions | reid | fashion: the preprocessing recipe and softmax temperature."""
