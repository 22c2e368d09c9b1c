"""SASRec: causal self-attention over each user's time-ordered items; served by onnxruntime.

Training runs in PyTorch (:mod:`nextbuy.models.sasrec_net`); the artifact holds the network
as ONNX bytes (a checksummed uint8 array like every other array), the output item
embeddings and every trained user's vector. Serving never imports torch: trained users are a
dot product, new histories and sessions go through onnxruntime.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.errors import DataError
from nextbuy.models.common import popularity_share
from nextbuy.models.factor import FactorModel
from nextbuy.models.params import Hyperparameters
from nextbuy.models.sasrec_config import SASRecConfig
from nextbuy.models.sequences import chronological, rows_in_order, window


class SASRec(FactorModel):
    """Next-item prediction from the latest ``max_len`` items, oldest first (Kang & McAuley).

    Each user's last interaction is held out for early stopping (users with at least three);
    the saved user vectors are then computed from the whole training sequence. A history row
    given to ``score(..., recalculate_user=True)`` is read in its stored index order, oldest
    first (serving builds session rows that way; see :func:`~nextbuy.models.sequences.session_row`).
    """

    name = "sasrec"
    config_class = SASRecConfig
    config: SASRecConfig
    state_attributes: ClassVar[tuple[str, ...]] = (
        *FactorModel.state_attributes,
        "network",
        "order",
    )

    network_: np.ndarray  # the ONNX model, as uint8 bytes
    order_: sp.csr_matrix  # users x items: each training item's 1-based position, oldest first

    def __init__(self, config: Hyperparameters | None = None, **params: Any) -> None:
        super().__init__(config, **params)
        self._session: Any = None
        self._session_lock = threading.Lock()
        if self.config.factors % self.config.heads:
            from nextbuy.errors import ConfigError

            raise ConfigError(
                f"sasrec: heads ({self.config.heads}) must divide factors ({self.config.factors})"
            )

    # ------------------------------------------------------------------ training
    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Train the network on next-item targets, then export it and every user's vector."""
        import torch

        from nextbuy.models import sasrec_net

        if len(train) == 0:
            raise DataError("sasrec: no training interactions")
        cfg = self.config
        n_users, n_items = train.shape
        timeless = bool((train.timestamps == train.timestamps[0]).all())
        users, items = chronological(train)
        length = self._length(users, n_users)
        counts = np.bincount(users, minlength=n_users)
        rng = np.random.default_rng(cfg.seed)
        if timeless:  # no order to learn: hold out a random item, read a new order each epoch
            users, items = _shuffled(users, items, rng)
        ends = np.searchsorted(users, users, side="right")
        held = (np.arange(len(users)) == ends - 1) & (counts[users] >= 3)
        fit_users, fit_items = users[~held], items[~held]

        def windows(epoch_rng: np.random.Generator) -> np.ndarray:
            u, i = (
                _shuffled(fit_users, fit_items, epoch_rng) if timeless else (fit_users, fit_items)
            )
            out = window(u, i, n_users, length + 1)
            return out[(out > 0).sum(1) >= 2]  # a window needs one input and one target

        valid_users = users[held]
        valid_inputs = window(fit_users, fit_items, n_users, length)[valid_users]
        part = sp.csr_matrix(
            (np.ones(len(fit_users), np.float32), (fit_users, fit_items)), shape=train.shape
        )
        old_threads = torch.get_num_threads()
        if cfg.num_threads > 0:
            torch.set_num_threads(cfg.num_threads)
        try:
            trained = sasrec_net.train(
                cfg,
                n_items,
                windows,
                valid_inputs,
                items[held],
                part[valid_users],
                show_progress,
            )
            net = trained.net
            self.history_ = trained.history
            self.user_factors_ = sasrec_net.user_vectors(net, window(users, items, n_users, length))
            self.item_factors_ = net.item_table().detach().numpy().astype(np.float32)
            self.network_ = np.frombuffer(sasrec_net.export_onnx(net, length), dtype=np.uint8)
        finally:
            torch.set_num_threads(old_threads)
        self.order_ = sp.csr_matrix(
            (np.arange(1, len(users) + 1, dtype=np.float32), (users, items)), shape=train.shape
        )
        self.popularity_ = popularity_share(train.csr)
        self.history_["timeless"] = [float(timeless)]
        self.torch_module_ = net
        self._session = None

    def _length(self, users: np.ndarray, n_users: int) -> int:
        """The window length: ``max_len``, or the 90th percentile of history lengths, 10-50
        (MovieLens 100K: 50 items predict the next as well as 200, at a quarter of the cost)."""
        if self.config.max_len:
            return int(self.config.max_len)
        counts = np.bincount(users, minlength=n_users)
        counts = counts[counts > 0]
        return int(np.clip(np.percentile(counts, 90) if len(counts) else 10, 10, 50))

    @property
    def length(self) -> int:
        """The window length the exported network reads."""
        session = self._onnx()
        return int(session.get_inputs()[0].shape[1])

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: embedding size, dropout, learning rate and the window's length."""
        return {
            "factors": trial.suggest_categorical("factors", [32, 64, 128]),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
            "max_len": trial.suggest_categorical("max_len", [0, 20, 50, 200]),
        }

    # ------------------------------------------------------------------ scoring
    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self._session = None

    def _onnx(self) -> Any:
        """The onnxruntime session over :attr:`network_` (built once, shared by threads)."""
        with self._session_lock:
            if self._session is None:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                self._session = ort.InferenceSession(
                    np.asarray(self.network_).tobytes(),
                    sess_options=options,
                    providers=["CPUExecutionProvider"],
                )
            return self._session

    def encode(self, windows: np.ndarray) -> np.ndarray:
        """User vectors ``[n, factors]`` of padded windows ``[n, length]`` (``item + 1``)."""
        if len(windows) == 0:
            return np.zeros((0, self.config.factors), dtype=np.float32)
        session = self._onnx()
        out = session.run(None, {"sequence": np.ascontiguousarray(windows, dtype=np.int64)})
        return np.asarray(out[0], dtype=np.float32)

    def recalculate_user(self, user_items: sp.spmatrix) -> np.ndarray:
        """Vectors of history rows read oldest first in their stored order (see class doc)."""
        rows = sp.csr_matrix(user_items)
        row_ids, items = rows_in_order(rows)
        return self.encode(window(row_ids, items, rows.shape[0], self.length))

    def sequence_of(self, user: int) -> np.ndarray:
        """The trained user's items, oldest first (item indices)."""
        lo, hi = self.order_.indptr[user], self.order_.indptr[user + 1]
        items = self.order_.indices[lo:hi]
        return items[np.argsort(self.order_.data[lo:hi], kind="stable")].astype(np.int64)

    def score_sequences(self, sequences: list[np.ndarray]) -> np.ndarray:
        """Scores ``[n, n_items]`` of item-index sequences, oldest first (empty: popularity)."""
        lengths = np.array([len(s) for s in sequences], dtype=np.int64)
        row_ids = np.repeat(np.arange(len(sequences), dtype=np.int64), lengths)
        items = (
            np.concatenate([np.asarray(s, np.int64) for s in sequences])
            if len(row_ids)
            else (np.empty(0, np.int64))
        )
        vectors = self.encode(window(row_ids, items, len(sequences), self.length))
        scores = (vectors @ np.asarray(self.item_factors_).T).astype(np.float32)
        scores[lengths == 0] = np.asarray(self.popularity_, dtype=np.float32)
        return scores


def _shuffled(
    users: np.ndarray, items: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The same (sorted) users with each user's items in a random order."""
    order = np.lexsort((rng.random(len(users)), users))
    return users[order], items[order]
