"""Datasets: the retrieval data contract and the loaders for each on-disk format."""

from __future__ import annotations

from bench.data.dataset import RetrievalDataset

__all__ = ["RetrievalDataset"]
