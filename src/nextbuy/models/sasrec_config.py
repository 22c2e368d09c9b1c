"""Hyper-parameters of the SASRec sequence model (shared by the model and its torch trainer)."""

from __future__ import annotations

from typing import Literal

from nextbuy.models.params import Hyperparameters, param


class SASRecConfig(Hyperparameters):
    """Hyper-parameters of :class:`SASRec`."""

    factors: int = param(64, "embedding size", ge=1)
    blocks: int = param(2, "self-attention blocks", ge=1)
    heads: int = param(1, "attention heads (must divide factors)", ge=1)
    max_len: int = param(
        0, "items of history the model reads; 0 = the 90th percentile, 10-50", ge=0
    )
    dropout: float = param(0.2, "dropout on embeddings, attention and feed-forward", ge=0, lt=1)
    epochs: int = param(200, "maximum passes over the users", ge=1)
    batch_size: int = param(128, "users per Adam step", ge=1)
    lr: float = param(0.005, "Adam learning rate", gt=0)
    l2: float = param(0.0, "Adam weight decay", ge=0)
    loss: Literal["auto", "full", "sampled"] = param(
        "auto", "full softmax over the catalog, sampled softmax, or auto (by catalog size)"
    )
    full_softmax_items: int = param(
        50_000, "auto uses the full softmax up to this many items", ge=1
    )
    negatives: int = param(1000, "shared negatives per batch of the sampled softmax", ge=1)
    early_stopping: int = param(
        10, "stop after this many epochs without a better validation NDCG@10; 0 = never", ge=0
    )
    device: Literal["auto", "cpu", "cuda"] = param(
        "auto", "auto (cuda when available) | cpu | cuda"
    )
    num_threads: int = param(
        1, "torch CPU threads while fitting (1: robust when busy, reproducible); 0 = all", ge=0
    )
    seed: int = param(42, "seeds initialisation, batches and sampled negatives")
