"""The one model interface (DESIGN section 3): fit, recommend, similar_items, predict, save."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from typing_extensions import Self

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ArtifactError, ConfigError, UnsupportedOperation
from nextbuy.models.common import as_csr, jsonable, row_pairs, rows_of
from nextbuy.models.defaults import DataShape, auto_names, resolve
from nextbuy.models.params import Hyperparameters, untyped
from nextbuy.parallel import cache_rows, map_chunks
from nextbuy.retrieval import cosine_neighbours, topk

#: Learned state a model hands to :meth:`Recommender.save`: dense arrays and CSR matrices only.
State = dict[str, np.ndarray | sp.csr_matrix]
#: Per-epoch hook of iterative models: ``callback(epoch, metrics)``, see ``Recommender.callback``.
EpochCallback = Callable[[int, dict[str, float]], None]


class Recommender:
    """Base class: typed hyper-parameters in :attr:`config`, learned state in ``*_`` attributes.

    Everything is index-based (arrays in, arrays out); string IDs live in the artifact's IdMaps.
    Scoring needs only numpy/scipy, so a loaded model serves without torch. Subclasses
    declare :attr:`config_class` and implement :meth:`_fit`, :meth:`_score_users` (scores from
    the trained state) and :meth:`_score_histories` (from history rows, ``recalculate_user``).
    """

    #: Registry name, e.g. ``"als"``.
    name: ClassVar[str] = ""
    #: True when ``predict`` returns ratings on the training data's scale.
    predicts_ratings: ClassVar[bool] = False
    #: Learned arrays saved as ``<name>.npy``/``.npz`` from attributes ``<name>_`` (see state()).
    state_attributes: ClassVar[tuple[str, ...]] = ()
    #: The model's typed hyper-parameters (a pydantic class, see :mod:`nextbuy.models.params`).
    config_class: ClassVar[type[Hyperparameters]] = Hyperparameters
    #: Every hyper-parameter's default, derived from :attr:`config_class`. A subclass may
    #: declare only this dict instead; its values are then accepted untyped.
    defaults: ClassVar[dict[str, Any]] = {}
    #: Optional hook that iterative models (mf, als, ials, bpmf) call after each epoch (0-based)
    #: with what they measured, e.g. ``{"train_rmse": .., "valid_rmse": ..}``; ranking models add
    #: ``valid_ndcg@10`` and friends when ``fit`` was given ``valid``. It may raise to stop
    #: training (the tuner raises ``optuna.TrialPruned``). Set it on the instance; it is not a
    #: hyper-parameter and is never saved.
    callback: EpochCallback | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "config_class" in cls.__dict__:
            cls.defaults = cls.config_class.default_values()
        elif "defaults" in cls.__dict__:
            cls.config_class = untyped(cls.__name__, cls.defaults)

    def __init__(self, config: Hyperparameters | None = None, **params: Any) -> None:
        """``ALS(factors=8)`` or ``ALS(ALSConfig(factors=8))``; bad values raise ConfigError."""
        if config is None:
            config = self.config_class.build(self.name, params)
        elif not isinstance(config, self.config_class):
            raise ConfigError(
                f"model {self.name!r}: config must be {self.config_class.__name__}, "
                f"not {type(config).__name__}"
            )
        elif params:
            config = config.replace(self.name, params)
        #: Validated hyper-parameters (immutable; :meth:`set_params` replaces them). ``auto``
        #: values are replaced by their density rule at :meth:`fit` (models/defaults.py).
        self.config = config
        #: The parameters as asked for, ``auto`` kept: each fit resolves them for its data.
        self.requested_config: Hyperparameters = config
        #: What each ``auto`` parameter became at the last fit, and the data shape behind it.
        self.auto_params_: dict[str, Any] = {}
        self.n_users_: int = 0
        self.n_items_: int = 0
        #: Training interactions (users x items CSR): the seen items, and histories to score.
        self.user_items_: sp.csr_matrix | None = None
        #: Per-epoch/iteration training history (e.g. losses), stored in the manifest.
        self.history_: dict[str, list[float]] = {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    @property
    def params(self) -> dict[str, Any]:
        """Hyper-parameters as a plain dict (a fresh copy: changing it changes nothing)."""
        return self.config.values()

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyper-parameters (scikit-learn style; ``deep`` is accepted for compatibility)."""
        return self.params

    def set_params(self, **params: Any) -> Self:
        """Change hyper-parameters (validated; takes effect at the next :meth:`fit`)."""
        self.config = self.config.replace(self.name, params)
        self.requested_config = self.requested_config.replace(self.name, params)
        return self

    # ------------------------------------------------------------------ training
    def fit(
        self,
        train: Interactions,
        valid: Interactions | None = None,
        show_progress: bool = False,
    ) -> Self:
        """Learn from ``train`` and return self (``valid``: early stopping and :attr:`callback`)."""
        self._resolve_auto(train)
        self._fit(train, valid, show_progress)
        self._remember(train)
        return self

    def _resolve_auto(self, train: Interactions) -> None:
        """Replace ``auto`` parameters by their density rule for ``train`` (user values win)."""
        requested = self.requested_config.values()
        names = auto_names(self.name, requested)
        if not names:
            return
        shape = DataShape.of(train)
        resolved = resolve(self.name, requested, shape)
        self.config = self.config_class.build(self.name, resolved)
        self.auto_params_ = {"values": {n: resolved[n] for n in names}, "data": shape.as_dict()}

    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Learn the model's state from ``train`` (``fit`` then records the training matrix)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither fit nor _fit")

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
    def score(
        self,
        users: np.ndarray | list[int],
        user_items: sp.spmatrix | None = None,
        *,
        recalculate_user: bool = False,
    ) -> np.ndarray:
        """Dense scores (len(users) x n_items, float32) where higher is better.

        By default from the trained state (unknown users get the model's fallback). With
        ``recalculate_user=True`` each user is scored from their row of ``user_items`` (one
        CSR row per user, same order, e.g. new events): factor models fold the user in
        against the fixed item factors, history models score the row.
        """
        users = np.asarray(users, dtype=np.int64).ravel()
        self._check_fitted()
        if not recalculate_user:
            if user_items is not None:
                raise ValueError(
                    "score: user_items is read only with recalculate_user=True "
                    "(scoring from the trained state needs just the users)"
                )
            return self._score_users(users)
        return self._score_histories(users, self._history_rows(user_items, len(users)))

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        """Scores of ``users`` from the trained state (int64 indices, -1 = unknown)."""
        raise NotImplementedError(
            f"{type(self).__name__} implements neither score nor _score_users"
        )

    def _score_histories(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        """Scores of ``users`` from their history ``rows`` (``recalculate_user=True``)."""
        raise UnsupportedOperation(f"{self.name} cannot score users from history rows")

    def _history_rows(self, user_items: sp.spmatrix | None, n_users: int) -> sp.csr_matrix:
        """``user_items`` as CSR, checked to hold one row per user over the trained items."""
        if user_items is None:
            raise ValueError("recalculate_user=True needs user_items (one history row per user)")
        rows = as_csr(user_items)
        if rows.shape != (n_users, self.n_items_):
            raise ValueError(
                f"user_items has shape {rows.shape}; expected ({n_users}, {self.n_items_}): "
                "one row per user over the trained items"
            )
        return rows

    def _training_rows(self, users: np.ndarray) -> sp.csr_matrix:
        """The training rows of ``users`` (empty rows for unknown users)."""
        self._check_fitted()
        assert self.user_items_ is not None
        return rows_of(self.user_items_, users)

    def _seen_pairs(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position, item) of every training interaction of ``users`` (unknown: none)."""
        self._check_fitted()
        assert self.user_items_ is not None
        return row_pairs(self.user_items_, users)

    def recommend(
        self,
        users: np.ndarray | list[int],
        k: int = 10,
        *,
        exclude_seen: bool = True,
        user_items: sp.spmatrix | None = None,
        recalculate_user: bool = False,
        items: np.ndarray | list[int] | None = None,
        exclude: np.ndarray | list[int] | sp.spmatrix | None = None,
        batch_size: int = 2048,
        workers: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items per user, best first: ``(ids int32 [n, k], scores float32 [n, k])``.

        ``exclude_seen`` leaves out each user's seen items: their training row, or their row of
        ``user_items`` when given (one CSR row per user, same order). ``recalculate_user``
        scores from those rows instead of the trained state (see :meth:`score`). ``items``
        restricts the answer to these candidates; ``exclude`` leaves out items for everyone
        (an index array) or per user (a CSR whose row ``u`` belongs to user index ``u``).
        Slots with nothing left to recommend hold id -1 and score -inf. Batches of
        ``batch_size`` users run on ``workers`` threads (default: every core).
        """
        users = np.asarray(users, dtype=np.int64).ravel()
        k = int(k)
        if k < 1:
            raise ValueError("k must be >= 1")
        rows = None if user_items is None else self._history_rows(user_items, len(users))
        if recalculate_user and rows is None:
            raise ValueError("recalculate_user=True needs user_items (one history row per user)")
        n_items = self.n_items_
        blocked = self._blocked_items(items, exclude)
        per_user = sp.csr_matrix(exclude) if sp.issparse(exclude) else None
        k_eff = min(k, n_items)
        out_ids = np.full((len(users), k), -1, dtype=np.int32)
        out_scores = np.full((len(users), k), -np.inf, dtype=np.float32)

        def chunk(start: int, stop: int) -> None:
            batch = users[start:stop]
            part = None if rows is None else rows[start : start + len(batch)]
            raw = self.score(batch, part, recalculate_user=True) if recalculate_user else None
            scores = np.asarray(self.score(batch) if raw is None else raw, dtype=np.float32)
            if not (scores.flags.writeable and scores.flags.owndata):
                scores = scores.copy()  # masking below writes in place
            if blocked is not None:
                scores[:, blocked] = -np.inf
            if exclude_seen:
                r, c = self._seen_pairs(batch) if part is None else part.nonzero()
                scores[r, c] = -np.inf
            if per_user is not None:
                r, c = row_pairs(per_user, batch)
                scores[r, c] = -np.inf
            ids, vals = topk(scores, k_eff)
            out_ids[start : start + len(batch), :k_eff] = ids
            out_scores[start : start + len(batch), :k_eff] = vals

        # chunks small enough for their scores to stay in cache (at most batch_size users)
        map_chunks(chunk, len(users), cache_rows(n_items, batch_size), workers)
        out_ids[~np.isfinite(out_scores)] = -1
        out_scores[out_ids < 0] = -np.inf
        return out_ids, out_scores

    def _blocked_items(
        self,
        items: np.ndarray | list[int] | None,
        exclude: np.ndarray | list[int] | sp.spmatrix | None,
    ) -> np.ndarray | None:
        """Mask of items no user may get: outside the candidates, or excluded for everyone."""
        if items is None and (exclude is None or sp.issparse(exclude)):
            return None
        n = self.n_items_
        blocked = np.zeros(n, dtype=bool)
        if items is not None:
            cand = np.asarray(items, dtype=np.int64).ravel()
            blocked[:] = True
            blocked[cand[(cand >= 0) & (cand < n)]] = False
        if exclude is not None and not sp.issparse(exclude):
            out = np.asarray(exclude, dtype=np.int64).ravel()
            blocked[out[(out >= 0) & (out < n)]] = True
        return blocked

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
        state: dict[str, Any] = {**self.state(), "seen": self.user_items_}
        arrays: dict[str, str] = {}
        for key, value in state.items():
            if sp.issparse(value):
                sp.save_npz(path / f"{key}.npz", sp.csr_matrix(value), compressed=False)
                arrays[key] = "csr"
            else:
                np.save(path / f"{key}.npy", np.ascontiguousarray(value), allow_pickle=False)
                arrays[key] = "npy"
        meta = {
            "model": self.name,
            "params": self.params,
            "n_users": self.n_users_,
            "n_items": self.n_items_,
            "history": self.history_,
            "arrays": arrays,
            **({"auto": self.auto_params_} if self.auto_params_ else {}),
        }
        (path / "params.json").write_text(json.dumps(meta, indent=2, default=jsonable))

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
