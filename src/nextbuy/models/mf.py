"""Biased matrix factorisation for explicit ratings, trained with PyTorch, served by numpy."""

from __future__ import annotations

import copy
import math
import time
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError, DataError
from nextbuy.models.factor import RatingFactorModel
from nextbuy.models.foldin import ridge_fold_in
from nextbuy.models.params import Hyperparameters, param
from nextbuy.progress import progress_bar


class MFConfig(Hyperparameters):
    """Hyper-parameters of :class:`MF`."""

    factors: int = param(64, "latent dimensions", ge=1)
    epochs: int = param(100, "maximum passes over the training ratings", ge=1)
    batch_size: int = param(8192, "ratings per Adam step; 0 = full batch", ge=0)
    lr: float = param(0.02, "Adam learning rate at the start", gt=0)
    l2: float = param(0.12, "L2 on the user and item factors in each batch, per rating", ge=0)
    bias_l2: float = param(0.01, "L2 on the user and item biases in each batch, per rating", ge=0)
    dropout: float = param(
        0.0, "dropout probability on the interaction vector p_u * q_i", ge=0, lt=1
    )
    batch_norm: bool = param(False, "BatchNorm1d on p_u * q_i before summing (the seed design)")
    init_std: float = param(0.01, "standard deviation of the initial factors", ge=0)
    rank_support: float = param(
        10.0, "ranking shrinks an item's part by n_i / (n_i + this); 0 = rank by rating", ge=0
    )
    lr_factor: float = param(
        0.5, "ReduceLROnPlateau: multiply the lr by this on a plateau", gt=0, lt=1
    )
    lr_patience: int = param(
        2, "ReduceLROnPlateau: epochs without improvement before reducing", ge=0
    )
    early_stopping: int = param(
        6, "stop after this many epochs without improvement; 0 = never", ge=0
    )
    valid_fraction: float = param(
        0.05, "share of train held out for early stopping when no valid set is given", ge=0, lt=1
    )
    refit: bool = param(True, "then retrain on all of train for the best epoch count (2x time)")
    device: Literal["auto", "cpu", "cuda"] = param(
        "auto", "auto (cuda when available) | cpu | cuda"
    )
    num_threads: int = param(
        1, "torch CPU threads while fitting (1 is as fast, and robust when busy)", ge=0
    )
    seed: int = param(42, "seeds initialisation, the validation carve and the batch order")


class MF(RatingFactorModel):
    """``r_ui = mu + b_u + b_i + sum(bn(p_u * q_i))`` fitted by mini-batch Adam on squared error.

    L2 applies to the embeddings and biases in each batch (not decoupled weight decay on every
    row), scaled per rating. Validation RMSE (``valid``, or a seeded ``valid_fraction`` of
    train) drives ReduceLROnPlateau and early stopping, and the best epoch's weights are kept.
    Optional dropout acts on the interaction vector ``p_u * q_i``; optional batch norm
    (``BatchNorm1d`` on that vector, the seed design) is folded into ``bn_scale_`` /
    ``bn_shift_`` at export, so numpy scoring equals the torch model in eval mode.

    Unknown users score as ``p_u = 0, b_u = 0`` (``mu + b_i``), unknown items likewise; with
    ``recalculate_user=True`` users are folded in from their rating rows by ridge regression.
    """

    name = "mf"
    config_class = MFConfig
    config: MFConfig
    state_attributes: ClassVar[tuple[str, ...]] = (
        *RatingFactorModel.state_attributes,
        "bn_scale",
        "bn_shift",
    )

    bn_scale_: np.ndarray  # batch norm folded into a per-dimension scale and shift
    bn_shift_: np.ndarray
    #: The trained torch module (eval mode, CPU) for inspection; None after :meth:`load`.
    torch_module_: Any = None

    # ------------------------------------------------------------------ training
    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Train with Adam; ``valid`` (or a carve of train) for lr schedule and early stopping.

        With ``refit`` and a carved validation set, a second run on all of train replays the
        first run's learning rates up to its best epoch, so no rating is wasted on validation.
        """
        import torch

        p = self.config
        if len(train) == 0:
            raise DataError("mf: no training ratings")
        if valid is not None and valid.shape != train.shape:
            raise DataError("mf: valid must use the same user and item maps as train")
        device = _device(torch, p.device)
        old_threads = torch.get_num_threads()
        if p.num_threads > 0:
            torch.set_num_threads(p.num_threads)
        started = time.perf_counter()
        try:
            fit_part, valid_part = self._split(train, valid)
            module, history = self._train(
                torch, train.shape, fit_part, valid_part, device, show_progress
            )
            if p.refit and valid is None and len(valid_part[0]) > 0:
                best = int(history["best_epoch"][0])
                plan = history["lr"][: best + 1]
                everything = (train.users, train.items, train.values)
                module, _ = self._train(
                    torch, train.shape, everything, None, device, show_progress, lr_plan=plan
                )
        finally:
            torch.set_num_threads(old_threads)
        history["fit_seconds"] = [time.perf_counter() - started]
        self.history_ = history
        self._export(module)
        self.rating_min_, self.rating_max_ = train.rating_range

    def _split(
        self, train: Interactions, valid: Interactions | None
    ) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """(users, items, ratings) for fitting and for validation."""
        u, i, r = train.users, train.items, train.values
        if valid is not None:
            return (u, i, r), (valid.users, valid.items, valid.values)
        frac = self.config.valid_fraction
        n_valid = int(round(frac * len(u)))
        order = np.random.default_rng(self.config.seed).permutation(len(u))
        fit_rows, valid_rows = order[n_valid:], order[:n_valid]
        return (u[fit_rows], i[fit_rows], r[fit_rows]), (
            u[valid_rows],
            i[valid_rows],
            r[valid_rows],
        )

    def _train(
        self,
        torch: Any,
        shape: tuple[int, int],
        fit_part: tuple[np.ndarray, ...],
        valid_part: tuple[np.ndarray, ...] | None,
        device: Any,
        show_progress: bool,
        lr_plan: list[float] | None = None,
    ) -> tuple[Any, dict[str, list[float]]]:
        """One training run; returns the best module (eval mode, CPU) and its history.

        Without ``lr_plan``: up to ``epochs`` epochs, the lr reduced on validation plateaus,
        early stopping, best weights restored. With it: exactly those epochs at those rates.
        """
        p = self.config
        torch.manual_seed(p.seed)
        gen = torch.Generator(device="cpu").manual_seed(p.seed)

        def tensors(part: tuple[np.ndarray, ...] | None) -> tuple[Any, Any, Any]:
            u, i, r = part if part is not None else (np.zeros(0),) * 3
            return (
                torch.as_tensor(np.asarray(u, dtype=np.int64), device=device),
                torch.as_tensor(np.asarray(i, dtype=np.int64), device=device),
                torch.as_tensor(np.asarray(r, dtype=np.float32), device=device),
            )

        tu, ti, tr = tensors(fit_part)
        vu, vi, vr = tensors(valid_part)
        has_valid = len(vr) > 0
        module = _build_module(
            torch,
            n_users=shape[0],
            n_items=shape[1],
            factors=p.factors,
            dropout=p.dropout,
            batch_norm=p.batch_norm,
            init_std=p.init_std,
            mean=float(tr.mean()),
        ).to(device)
        optimizer = torch.optim.Adam(module.parameters(), lr=p.lr)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=p.lr_factor, patience=p.lr_patience
        )
        n = len(tr)
        batch = n if p.batch_size <= 0 else min(p.batch_size, n)
        if batch < 2 and p.batch_norm:
            raise ConfigError("mf: batch_norm needs batch_size >= 2")
        # a last batch of one rating would break batch norm's statistics: drop it
        stop = n - 1 if (p.batch_norm and n % batch == 1) else n
        l2, bias_l2 = p.l2, p.bias_l2
        patience = 0 if lr_plan is not None else p.early_stopping
        epochs = len(lr_plan) if lr_plan is not None else p.epochs
        history: dict[str, list[float]] = {"train_loss": [], "valid_rmse": [], "lr": []}
        best = (math.inf, copy.deepcopy(module.state_dict()), epochs - 1)
        stale = 0
        label = "MF refit" if lr_plan is not None else "MF epochs"
        with progress_bar(epochs, label, enabled=show_progress) as advance:
            for epoch in range(epochs):
                if lr_plan is not None:
                    for group in optimizer.param_groups:
                        group["lr"] = lr_plan[epoch]
                module.train()
                perm = torch.randperm(n, generator=gen).to(device)
                total = torch.zeros((), device=device)
                for start in range(0, stop, batch):
                    idx = perm[start : start + batch]
                    pred, pu, qi, bu, bi = module(tu[idx], ti[idx])
                    err = torch.nn.functional.mse_loss(pred, tr[idx], reduction="sum")
                    penalty = l2 * (pu.square().sum() + qi.square().sum()) + bias_l2 * (
                        bu.square().sum() + bi.square().sum()
                    )
                    loss = (err + penalty) / len(idx)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    total += err.detach()
                train_rmse = float(torch.sqrt(total / max(stop, 1)))
                lr = optimizer.param_groups[0]["lr"]
                history["train_loss"].append(train_rmse**2)
                history["lr"].append(lr)
                module.eval()
                if not has_valid:
                    advance(train_rmse=train_rmse, lr=f"{lr:.2g}")
                    if lr_plan is None:
                        scheduler.step(train_rmse)
                        self._epoch_end(epoch, {"train_rmse": train_rmse})
                    continue
                with torch.no_grad():
                    valid_rmse = float(torch.sqrt(((module(vu, vi)[0] - vr) ** 2).mean()))
                history["valid_rmse"].append(valid_rmse)
                advance(train_rmse=train_rmse, valid_rmse=valid_rmse, lr=f"{lr:.2g}")
                if lr_plan is None:  # a refit replays epochs already reported
                    self._epoch_end(epoch, {"train_rmse": train_rmse, "valid_rmse": valid_rmse})
                scheduler.step(valid_rmse)
                if valid_rmse < best[0] - 1e-5:
                    best = (valid_rmse, copy.deepcopy(module.state_dict()), epoch)
                    stale = 0
                else:
                    stale += 1
                    if patience and stale >= patience:
                        break
        if has_valid:
            module.load_state_dict(best[1])
        module.eval()
        history["best_epoch"] = [float(best[2] if has_valid else epochs - 1)]
        if not history["valid_rmse"]:
            del history["valid_rmse"]
        return module.cpu(), history

    def _export(self, module: Any) -> None:
        """Copy the learned tensors to numpy and fold batch norm into a scale and shift."""
        import torch

        with torch.no_grad():
            self.global_mean_ = float(module.mean)
            self.user_bias_ = module.user_bias.weight[:, 0].numpy().astype(np.float32)
            self.item_bias_ = module.item_bias.weight[:, 0].numpy().astype(np.float32)
            self.user_factors_ = module.user_factors.weight.numpy().astype(np.float32)
            self.item_factors_ = module.item_factors.weight.numpy().astype(np.float32)
            f = self.user_factors_.shape[1]
            if module.bn is not None:
                bn = module.bn
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                shift = bn.bias - bn.running_mean * scale
                self.bn_scale_ = scale.numpy().astype(np.float32)
                self.bn_shift_ = shift.numpy().astype(np.float32)
            else:
                self.bn_scale_ = np.ones(f, dtype=np.float32)
                self.bn_shift_ = np.zeros(f, dtype=np.float32)
        self.torch_module_ = module

    # ------------------------------------------------------------------ scoring
    def _offset(self) -> float:
        """Constant part of every prediction: ``mu`` plus batch norm's summed shift."""
        return float(self.global_mean_) + float(np.sum(self.bn_shift_, dtype=np.float64))

    def _user_scale(self) -> np.ndarray:
        return np.asarray(self.bn_scale_)

    def recalculate_user(self, user_items: sp.spmatrix) -> np.ndarray:
        """``[b_u, p_u]`` per rating row (``[n_rows, 1 + factors]``), item side fixed.

        Ridge regression of ``r - mu - b_i`` (minus batch norm's shift) onto ``[1, scale * q_i]``
        with the training penalty for one user: ``n_u * bias_l2`` on ``b_u``, ``n_u * l2``
        on ``p_u``. Rows may be new users; empty rows give zeros (the unknown-user baseline).
        """
        self._check_fitted()
        rows = sp.csr_matrix(user_items, dtype=np.float32)
        design = self._derived(
            "design",
            (self.item_factors_, self.bn_scale_),
            lambda: self._ridge_design(
                np.asarray(self.item_factors_, dtype=np.float64) * np.asarray(self.bn_scale_)
            ),
        )
        targets = rows.data - self._offset() - np.asarray(self.item_bias_)[rows.indices]
        counts = np.diff(rows.indptr).astype(np.float64)[:, None]
        f = design.shape[1] - 1
        per_dim = np.array([self.config.bias_l2] + [self.config.l2] * f)
        reg = counts * per_dim[None, :] + 1e-6
        return ridge_fold_in(rows, design, np.ones(rows.nnz), targets, reg)

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: dimension, step size, L2s, batch size and the seed design's layers."""
        return {
            "factors": trial.suggest_categorical("factors", [16, 32, 64, 128, 256]),
            "lr": trial.suggest_float("lr", 1e-3, 0.1, log=True),
            "l2": trial.suggest_float("l2", 1e-3, 1.0, log=True),
            "bias_l2": trial.suggest_float("bias_l2", 1e-4, 0.3, log=True),
            "batch_size": trial.suggest_categorical("batch_size", [1024, 4096, 8192, 32768]),
            "dropout": trial.suggest_categorical("dropout", [0.0, 0.1, 0.3]),
            "batch_norm": trial.suggest_categorical("batch_norm", [False, True]),
        }


def _device(torch: Any, device: str) -> Any:
    """Resolve ``device`` (auto|cpu|cuda) to a torch device, failing clearly without CUDA."""
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"mf: device must be auto, cpu or cuda, not {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("mf: device='cuda' but torch sees no CUDA device; use device=cpu")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def _build_module(
    torch: Any,
    *,
    n_users: int,
    n_items: int,
    factors: int,
    dropout: float,
    batch_norm: bool,
    init_std: float,
    mean: float,
) -> Any:
    """The torch network; defined here so that importing this module never imports torch."""
    nn: Any = torch.nn

    class BiasedMF(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.user_factors = nn.Embedding(n_users, factors)
            self.item_factors = nn.Embedding(n_items, factors)
            self.user_bias = nn.Embedding(n_users, 1)
            self.item_bias = nn.Embedding(n_items, 1)
            self.mean = nn.Parameter(torch.tensor(mean, dtype=torch.float32))
            self.bn = nn.BatchNorm1d(factors) if batch_norm else None
            self.dropout = nn.Dropout(dropout) if dropout > 0 else None
            nn.init.normal_(self.user_factors.weight, std=init_std)
            nn.init.normal_(self.item_factors.weight, std=init_std)
            nn.init.zeros_(self.user_bias.weight)
            nn.init.zeros_(self.item_bias.weight)

        def forward(self, u: Any, i: Any) -> tuple[Any, ...]:
            pu, qi = self.user_factors(u), self.item_factors(i)
            bu, bi = self.user_bias(u)[:, 0], self.item_bias(i)[:, 0]
            x = pu * qi
            if self.bn is not None:
                x = self.bn(x)
            if self.dropout is not None:
                x = self.dropout(x)
            return self.mean + bu + bi + x.sum(dim=1), pu, qi, bu, bi

    return BiasedMF()
