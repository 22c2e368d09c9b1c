"""SASRec's network and training loop in PyTorch (imported only while fitting or exporting).

Kang and McAuley 2018, trained with full softmax cross-entropy over the catalog (Klenitskiy
and Vasilev 2023) or, for big catalogs, a sampled softmax with many shared negatives.
Attention is written with plain matrix products so the ONNX export is exact and portable.
"""

from __future__ import annotations

import copy
import io
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from nextbuy.progress import progress_bar

if TYPE_CHECKING:
    from nextbuy.models.sasrec_config import SASRecConfig

#: Additive attention mask for disallowed positions (finite, so no NaN from empty rows).
BLOCKED = -1e9


class SelfAttention(nn.Module):
    """Multi-head causal self-attention over a left-padded window."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, length, dim = x.shape
        head_dim = dim // self.heads
        q, k, v = self.qkv(x).view(b, length, 3, self.heads, head_dim).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(head_dim) + mask
        att = self.drop(torch.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).reshape(b, length, dim)
        return self.out(y)  # type: ignore[no-any-return]


class Block(nn.Module):
    """Pre-norm transformer block: attention then a position-wise feed-forward layer."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(
            nn.Linear(dim, dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim, dim)
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.norm1(x), mask))
        return x + self.drop(self.ff(self.norm2(x)))  # type: ignore[no-any-return]


class SASRecNet(nn.Module):
    """Item + learned position embeddings, causal blocks, a final norm; item 0 is padding."""

    def __init__(
        self, n_items: int, dim: int, length: int, blocks: int, heads: int, dropout: float
    ) -> None:
        super().__init__()
        self.dim = dim
        self.items = nn.Embedding(n_items + 1, dim, padding_idx=0)
        self.positions = nn.Embedding(length, dim)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(dim, heads, dropout) for _ in range(blocks))
        self.norm = nn.LayerNorm(dim)
        nn.init.normal_(self.items.weight, std=dim**-0.5)
        with torch.no_grad():
            self.items.weight[0].zero_()

    def forward(self, seq: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """Hidden states ``[B, l, dim]`` of windows ``seq`` ``[B, l]`` (int64, 0 = padding).

        ``offset``: left padding columns cut off a full window (``l = L - offset``); padding
        never reaches a real position, so a trimmed window gives the same real states.
        """
        length = seq.shape[1]
        pos = torch.arange(length, device=seq.device)
        x = self.items(seq) * math.sqrt(self.dim) + self.positions(pos + offset)[None]
        x = self.drop(x)
        valid = seq > 0
        causal = pos[:, None] >= pos[None, :]  # comparisons export to every ONNX runtime
        eye = pos[:, None] == pos[None, :]
        allowed = causal[None] & (valid[:, None, :] | eye[None])  # a row always sees itself
        mask = (~allowed).to(x.dtype)[:, None] * BLOCKED
        for block in self.blocks:
            x = block(x, mask)
        return self.norm(x)  # type: ignore[no-any-return]

    def item_table(self) -> torch.Tensor:
        """Output item embeddings ``[n_items, dim]`` (tied with the input ones)."""
        return self.items.weight[1:]


class LastState(nn.Module):
    """What serving runs: the hidden state at the latest position, the user's vector."""

    def __init__(self, net: SASRecNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        return self.net(seq)[:, -1, :]


@dataclass
class Trained:
    """A fitted network and what the fit measured."""

    net: SASRecNet
    history: dict[str, list[float]]


def train(
    cfg: SASRecConfig,
    n_items: int,
    windows: Callable[[np.random.Generator], np.ndarray],
    valid_inputs: np.ndarray,
    valid_targets: np.ndarray,
    valid_seen: Any,
    show_progress: bool,
) -> Trained:
    """Fit on ``windows(rng)`` ``[n, L + 1]`` (next-item targets; drawn again each epoch, so
    data without time can be read in a new random order every pass), early-stop on validation.

    ``valid_inputs`` ``[m, L]`` are validation users' windows without their held-out last
    item ``valid_targets``; ``valid_seen`` (CSR ``m x n_items``) is excluded from the ranking.
    """
    device = torch.device(_device(cfg.device))
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    length = valid_inputs.shape[1]
    net = SASRecNet(n_items, cfg.factors, length, cfg.blocks, cfg.heads, cfg.dropout).to(device)
    optim = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.l2)
    full = cfg.loss == "full" or (cfg.loss == "auto" and n_items <= cfg.full_softmax_items)
    history: dict[str, list[float]] = {"train_loss": [], "valid_ndcg@10": []}
    best, best_state, stale = -1.0, copy.deepcopy(net.state_dict()), 0
    started = time.perf_counter()
    with progress_bar(cfg.epochs, "sasrec", show_progress) as advance:
        for _ in range(cfg.epochs):
            net.train()
            data = windows(rng)
            batches = length_batches(data, cfg.batch_size, rng)
            per_batch = max(int((data[:, 1:] > 0).sum()) / max(len(batches), 1), 1.0)
            total, count = 0.0, 0
            for rows, cut in batches:
                batch = torch.as_tensor(data[rows, cut:], device=device)
                inputs, targets = batch[:, :-1], batch[:, 1:] - 1
                hidden = net(inputs, cut)[targets >= 0]
                target = targets[targets >= 0]
                # summed over targets / the epoch's mean per batch: every target weighs the
                # same whatever its batch's length, as in batches drawn at random
                loss = _loss(net, hidden, target, full, cfg.negatives, n_items) / per_batch
                optim.zero_grad()
                loss.backward()
                optim.step()
                total += float(loss.detach()) * per_batch
                count += len(target)
            history["train_loss"].append(total / max(count, 1))
            ndcg = _valid_ndcg(net, valid_inputs, valid_targets, valid_seen, device)
            history["valid_ndcg@10"].append(ndcg)
            advance(info=f"loss {total / max(count, 1):.3f} valid ndcg@10 {ndcg:.4f}")
            if ndcg > best + 1e-5:
                best, best_state, stale = ndcg, copy.deepcopy(net.state_dict()), 0
            else:
                stale += 1
                if cfg.early_stopping and stale >= cfg.early_stopping:
                    break
    net.load_state_dict(best_state)
    net.eval()
    history["best_epoch"] = [float(int(np.argmax(history["valid_ndcg@10"])))]
    history["fit_seconds"] = [time.perf_counter() - started]
    return Trained(net.cpu(), history)


def length_batches(
    data: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[tuple[np.ndarray, int]]:
    """Batches of windows of similar length, in random order: (rows, left columns to cut).

    Rows are sorted by their number of items (random among equals) and cut into batches,
    each trimmed to its longest row, so short histories do not pay for a full window's
    attention and feed-forward work. The targets are those of the full windows.
    """
    lengths = (data > 0).sum(1)
    order = np.lexsort((rng.random(len(data)), lengths))
    batches = []
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        # one padding column stays where it was there: the first item is a target too
        batches.append((rows, max(int(data.shape[1] - lengths[rows].max()) - 1, 0)))
    return [batches[i] for i in rng.permutation(len(batches))]


def _loss(
    net: SASRecNet,
    hidden: torch.Tensor,
    target: torch.Tensor,
    full: bool,
    negatives: int,
    n_items: int,
) -> torch.Tensor:
    """Summed cross-entropy of the next items: over every item, or against shared sampled
    negatives."""
    table = net.item_table()
    if full:
        return nn.functional.cross_entropy(hidden @ table.T, target, reduction="sum")
    neg = torch.randint(0, n_items, (negatives,), device=hidden.device)
    positive = (hidden * table[target]).sum(-1, keepdim=True)
    negative = hidden @ table[neg].T
    negative = negative.masked_fill(neg[None, :] == target[:, None], BLOCKED)
    logits = torch.cat([positive, negative], dim=1)
    zeros = torch.zeros(len(target), dtype=torch.long, device=hidden.device)
    return nn.functional.cross_entropy(logits, zeros, reduction="sum")


@torch.no_grad()
def _valid_ndcg(
    net: SASRecNet,
    inputs: np.ndarray,
    targets: np.ndarray,
    seen: Any,
    device: torch.device,
    batch: int = 1024,
) -> float:
    """NDCG@10 of each validation user's held-out item, full ranking, seen items excluded."""
    if len(targets) == 0:
        return 0.0
    net.eval()
    table = net.item_table()
    gains = []
    for rows, cut in _by_length(inputs, batch):
        seq = torch.as_tensor(inputs[rows, cut:], device=device)
        scores = net(seq, cut)[:, -1, :] @ table.T
        part = seen[rows].tocoo()
        scores[
            torch.as_tensor(part.row, device=device), torch.as_tensor(part.col, device=device)
        ] = -torch.inf
        tgt = torch.as_tensor(targets[rows], device=device)
        mine = scores.gather(1, tgt[:, None])
        rank = (scores > mine).sum(1)
        gains.append(torch.where(rank < 10, 1.0 / torch.log2(rank + 2.0), 0.0))
    return float(torch.cat(gains).mean())


@torch.no_grad()
def user_vectors(net: SASRecNet, windows: np.ndarray, batch: int = 1024) -> np.ndarray:
    """The latest hidden state of each window ``[n, L]``: the users' vectors (float32)."""
    net.eval()
    out = np.zeros((len(windows), net.dim), np.float32)
    for rows, cut in _by_length(windows, batch):
        out[rows] = net(torch.as_tensor(windows[rows, cut:]), cut)[:, -1, :].numpy()
    return out


def _by_length(windows: np.ndarray, batch: int) -> list[tuple[np.ndarray, int]]:
    """Rows of ``windows`` in batches of similar length, with the left padding they share
    (cut off: the latest state does not depend on it; at least one column stays)."""
    lengths = (windows > 0).sum(1)
    order = np.argsort(lengths, kind="stable")
    out = []
    for start in range(0, len(order), batch):
        rows = order[start : start + batch]
        out.append((rows, min(int(windows.shape[1] - lengths[rows].max()), windows.shape[1] - 1)))
    return out


def export_onnx(net: SASRecNet, length: int) -> bytes:
    """The network from windows ``[B, L]`` to user vectors ``[B, dim]`` as ONNX bytes."""
    wrapper = LastState(net).eval()  # export restores the wrapper's mode on every submodule
    example = torch.zeros((2, length), dtype=torch.int64)
    example[:, -1] = 1
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the tracer's notes on shapes, which stay dynamic
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            (example,),
            buffer,  # type: ignore[arg-type]
            input_names=["sequence"],
            output_names=["user_vector"],
            dynamic_axes={"sequence": {0: "batch"}, "user_vector": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    net.eval()
    return buffer.getvalue()


def _device(name: str) -> str:
    """``auto`` is CUDA when present, else CPU."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name
