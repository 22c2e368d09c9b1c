"""The one model interface (DESIGN section 3): fit, recommend, similar_items, predict, save."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ArtifactError, ConfigError, UnsupportedOperation
from nextbuy.retrieval import cosine_neighbours, topk

#: Learned state a model hands to :meth:`Recommender.save`: dense arrays and CSR matrices only.
State = dict[str, np.ndarray | sp.csr_matrix]
#: Per-epoch hook of iterative models: ``callback(epoch, metrics)``, see ``Recommender.callback``.
EpochCallback = Callable[[int, dict[str, float]], None]


class Recommender(ABC):
    """Base class: hyper-parameters in the constructor, learned state in attributes ending in ``_``.

    Everything is index-based (arrays in, arrays out); string IDs live in the artifact's IdMaps.
    Scoring needs only numpy/scipy, so a loaded model serves without torch.
    """

    #: Registry name, e.g. ``"als"``.
    name: ClassVar[str] = ""
    #: True when ``predict`` returns ratings on the training data's scale.
    predicts_ratings: ClassVar[bool] = False
    #: Learned arrays saved as ``<name>.npy``/``.npz`` from attributes ``<name>_`` (see state()).
    state_attributes: ClassVar[tuple[str, ...]] = ()
    #: Hyper-parameters and their defaults; the constructor accepts exactly these.
    defaults: ClassVar[dict[str, Any]] = {}
    #: Optional hook that iterative models (mf, als, ials, bpmf) call after each epoch (0-based)
    #: with what they measured, e.g. ``{"train_rmse": .., "valid_rmse": ..}``; ranking models add
    #: ``valid_ndcg@10`` and friends when ``fit`` was given ``valid``. It may raise to stop
    #: training (the tuner raises ``optuna.TrialPruned``). Set it on the instance; it is not a
    #: hyper-parameter and is never saved.
    callback: EpochCallback | None = None

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ConfigError(
                f"model {self.name!r}: unknown parameter(s) {', '.join(unknown)}; "
                f"expected some of {', '.join(sorted(self.defaults))}"
            )
        self.params: dict[str, Any] = {**self.defaults, **params}
        self.n_users_: int = 0
        self.n_items_: int = 0
        #: Training interactions (users x items CSR); used for history-based scoring.
        self.user_items_: sp.csr_matrix | None = None
        #: Per-epoch/iteration training history (e.g. losses), stored in the manifest.
        self.history_: dict[str, list[float]] = {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    def get_params(self) -> dict[str, Any]:
        """Hyper-parameters as given (merged with defaults)."""
        return dict(self.params)

    # ------------------------------------------------------------------ training
    @abstractmethod
    def fit(
        self,
        train: Interactions,
        valid: Interactions | None = None,
        show_progress: bool = False,
    ) -> Recommender:
        """Learn from ``train`` (``valid`` only for early stopping); returns self."""

    def _epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        """Hand one epoch's measurements to :attr:`callback`, when one is set."""
        if self.callback is not None:
            self.callback(epoch, metrics)

    def _remember(self, train: Interactions) -> None:
        """Store the shape and training matrix every model needs at scoring time."""
        self.n_users_, self.n_items_ = train.shape
        self.user_items_ = train.csr

    def _check_fitted(self) -> None:
        if self.user_items_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() first")

    # ------------------------------------------------------------------ scoring
    @abstractmethod
    def score(self, users: np.ndarray, user_items: sp.csr_matrix | None = None) -> np.ndarray:
        """Dense scores (len(users) x n_items, float32) where higher is better.

        ``user_items`` gives the histories of ``users`` (one CSR row each, same order) for
        models that score from history; by default the training rows are used.
        """

    def _history(self, users: np.ndarray, user_items: sp.csr_matrix | None) -> sp.csr_matrix:
        """CSR rows of ``users``' histories: given rows, or training rows (empty for new users)."""
        if user_items is not None:
            return user_items
        self._check_fitted()
        assert self.user_items_ is not None
        known = (users >= 0) & (users < self.n_users_)
        rows = self.user_items_[np.where(known, users, 0)]
        if not known.all():
            rows = sp.diags(known.astype(np.float32)) @ rows
            rows = sp.csr_matrix(rows)
        return rows

    def recommend(
        self,
        users: np.ndarray | list[int],
        k: int = 10,
        exclude: sp.csr_matrix | None = None,
        candidates: np.ndarray | None = None,
        user_items: sp.csr_matrix | None = None,
        batch_size: int = 2048,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items per user, best first: ``(ids int32 [n, k], scores float32 [n, k])``.

        ``exclude``: a CSR whose row ``u`` lists items never to return for user ``u`` (usually
        the training matrix; rows indexed by user id, or by position when it has len(users)
        rows and ``user_items`` is given). ``candidates``: item indices to restrict to.
        Slots with nothing left to recommend hold id -1 and score -inf.
        """
        users = np.asarray(users, dtype=np.int64).ravel()
        k = int(k)
        if k < 1:
            raise ValueError("k must be >= 1")
        n_items = self.n_items_
        k_eff = min(k, n_items)
        out_ids = np.full((len(users), k), -1, dtype=np.int32)
        out_scores = np.full((len(users), k), -np.inf, dtype=np.float32)
        cand_mask = None
        if candidates is not None:
            cand_mask = np.zeros(n_items, dtype=bool)
            cand = np.asarray(candidates, dtype=np.int64)
            cand_mask[cand[(cand >= 0) & (cand < n_items)]] = True
        positional = (
            exclude is not None and user_items is not None and exclude.shape[0] == len(users)
        )
        for start in range(0, len(users), batch_size):
            batch = users[start : start + batch_size]
            hist = None if user_items is None else user_items[start : start + len(batch)]
            scores = np.asarray(self.score(batch, hist), dtype=np.float32)
            if not (scores.flags.writeable and scores.flags.owndata):
                scores = scores.copy()  # masking below writes in place
            if cand_mask is not None:
                scores[:, ~cand_mask] = -np.inf
            if exclude is not None:
                rows = (
                    exclude[start : start + len(batch)]
                    if positional
                    else _rows(exclude, batch, n_rows=exclude.shape[0])
                )
                r, c = rows.nonzero()
                scores[r, c] = -np.inf
            ids, vals = topk(scores, k_eff)
            out_ids[start : start + len(batch), :k_eff] = ids
            out_scores[start : start + len(batch), :k_eff] = vals
        out_ids[~np.isfinite(out_scores)] = -1
        out_scores[out_ids < 0] = -np.inf
        return out_ids, out_scores

    def item_vectors(self) -> np.ndarray | None:
        """Item representation for cosine similarity, or None when the model has none."""
        return None

    def similar_items(
        self, items: np.ndarray | list[int], k: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most similar items to each item (itself excluded): cosine of item vectors."""
        items = np.asarray(items, dtype=np.int64).ravel()
        vectors = self.item_vectors()
        if vectors is None:
            raise UnsupportedOperation(f"{self.name} has no item representation")
        return cosine_neighbours(vectors, items, k)

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Score (or rating, for explicit models) per (user, item) pair; NaN for unknown IDs.

        Models with ``predicts_ratings`` return their baseline for unknown IDs instead (e.g.
        ``mu + b_i`` for a new user), so a rating request always gets a rating.
        """
        users = np.asarray(users, dtype=np.int64).ravel()
        items = np.asarray(items, dtype=np.int64).ravel()
        out = np.full(len(users), np.nan, dtype=np.float32)
        ok = (users >= 0) & (users < self.n_users_) & (items >= 0) & (items < self.n_items_)
        if ok.any():
            uniq, inverse = np.unique(users[ok], return_inverse=True)
            scores = self.score(uniq)
            out[ok] = scores[inverse, items[ok]]
        return out

    # ------------------------------------------------------------------ persistence
    def state(self) -> State:
        """Learned arrays to persist (the training matrix is saved by the base class).

        By default each name in ``state_attributes`` is saved from the attribute ``name_``;
        models with scalars or conversions override this and :meth:`set_state`.
        """
        if not self.state_attributes:
            raise TypeError(f"{type(self).__name__} declares no state_attributes")
        return {name: getattr(self, f"{name}_") for name in self.state_attributes}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore learned arrays produced by :meth:`state` (arrays may be memory-mapped)."""
        for name in self.state_attributes:
            setattr(self, f"{name}_", state[name])

    def save(self, path: str | Path) -> None:
        """Write params.json, one .npy per dense array and one .npz per CSR matrix (no pickle)."""
        self._check_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state: State = {**self.state(), "seen": self.user_items_}  # type: ignore[dict-item]
        meta = {
            "model": self.name,
            "params": self.params,
            "n_users": self.n_users_,
            "n_items": self.n_items_,
            "history": self.history_,
            "arrays": {},
        }
        for key, value in state.items():
            if sp.issparse(value):
                sp.save_npz(path / f"{key}.npz", sp.csr_matrix(value), compressed=False)
                meta["arrays"][key] = "csr"
            else:
                np.save(path / f"{key}.npy", np.ascontiguousarray(value), allow_pickle=False)
                meta["arrays"][key] = "npy"
        (path / "params.json").write_text(json.dumps(meta, indent=2, default=_jsonable))

    @classmethod
    def load(cls, path: str | Path, mmap: bool = True) -> Recommender:
        """Read a model written by :meth:`save` (dense arrays memory-mapped when ``mmap``)."""
        path = Path(path)
        try:
            meta = json.loads((path / "params.json").read_text())
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"{path}: cannot read params.json ({exc})") from exc
        if cls.name and meta.get("model") != cls.name:
            raise ArtifactError(f"{path}: holds a {meta.get('model')!r} model, not {cls.name!r}")
        model = cls(**meta["params"])
        model.n_users_, model.n_items_ = int(meta["n_users"]), int(meta["n_items"])
        model.history_ = meta.get("history", {})
        state: dict[str, Any] = {}
        for key, kind in meta["arrays"].items():
            try:
                if kind == "csr":
                    state[key] = sp.load_npz(path / f"{key}.npz").tocsr()
                else:
                    state[key] = np.load(
                        path / f"{key}.npy", mmap_mode="r" if mmap else None, allow_pickle=False
                    )
            except (OSError, ValueError) as exc:
                raise ArtifactError(f"{path}: cannot read array {key!r} ({exc})") from exc
        model.user_items_ = state.pop("seen")
        model.set_state(state)
        return model


# ---------------------------------------------------------------------- helpers
def ranking_snapshot(
    score: Callable[[np.ndarray], np.ndarray],
    seen: sp.csr_matrix,
    valid: Interactions,
    k: int = 10,
    max_users: int = 2000,
    batch_size: int = 1024,
) -> dict[str, float]:
    """``valid_<metric>@k`` of a model mid-training, for :attr:`Recommender.callback`.

    ``score(users)`` gives dense score rows; ``seen`` (the training CSR) is excluded as in the
    evaluation. At most ``max_users`` users with validation items are scored (a fixed, seeded
    sample), so a snapshot costs a bounded fraction of an epoch on large data.
    """
    from nextbuy.evaluation.metrics import pairs_in, ranking_metrics  # no import cycle at load

    users, items = valid.users.astype(np.int64), valid.items.astype(np.int64)
    keep = ~pairs_in(seen, users, items)
    truth = sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (users[keep], items[keep])),
        shape=seen.shape,
    )
    truth.sum_duplicates()
    eval_users = np.flatnonzero(np.diff(truth.indptr))
    if len(eval_users) > max_users:
        rng = np.random.default_rng(0)
        eval_users = np.sort(rng.choice(eval_users, max_users, replace=False))
    recs = np.empty((len(eval_users), k), dtype=np.int32)
    for start in range(0, len(eval_users), batch_size):
        batch = eval_users[start : start + batch_size]
        scores = np.array(score(batch), dtype=np.float32)
        r, c = seen[batch].nonzero()
        scores[r, c] = -np.inf
        recs[start : start + len(batch)] = topk(scores, k)[0]
    metrics = ranking_metrics(recs, truth[eval_users], k=k, n_items=seen.shape[1])
    return {f"valid_{name}": float(value) for name, value in metrics.items()}


def _rows(matrix: sp.csr_matrix, users: np.ndarray, n_rows: int) -> sp.csr_matrix:
    """CSR rows for ``users``; out-of-range users get empty rows."""
    known = (users >= 0) & (users < n_rows)
    if known.all():
        return matrix[users]
    rows = matrix[np.where(known, users, 0)]
    return sp.csr_matrix(sp.diags(known.astype(np.float32)) @ rows)


def pad_neighbours(
    ids: np.ndarray, scores: np.ndarray, k: int, valid: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Widen top-k lists to ``k`` columns (-1 / -inf), blanking rows where ``valid`` is False.

    Entries with non-finite scores become -1 too, so callers may mark "nothing here" by -inf.
    """
    out_ids = np.full((len(ids), k), -1, dtype=np.int32)
    out_scores = np.full((len(ids), k), -np.inf, dtype=np.float32)
    width = min(ids.shape[1], k)
    out_ids[:, :width] = ids[:, :width]
    out_scores[:, :width] = scores[:, :width]
    if valid is not None:
        out_ids[~valid] = -1
        out_scores[~valid] = -np.inf
    out_ids[~np.isfinite(out_scores)] = -1
    return out_ids, out_scores


def _jsonable(value: Any) -> Any:
    """JSON fallback for numpy scalars in params and histories."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
