"""iALS as revisited by Rendle et al. (2021): unobserved weight, frequency-scaled L2; numpy."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from nextbuy.data.interactions import Interactions
from nextbuy.evaluation.snapshot import ranking_snapshot
from nextbuy.models.common import popularity_share
from nextbuy.models.factor import FactorModel, dot_scores
from nextbuy.models.foldin import ridge_fold_in
from nextbuy.models.params import AtLeastOne, Auto, Hyperparameters, NonNegative, param
from nextbuy.models.weighting import decayed, recency, weigh_rows
from nextbuy.progress import progress_bar

#: Gathered factor rows held at once in a conjugate-gradient product (floats): ~256 MiB.
_GATHER_FLOATS = 1 << 26


def _half_step(
    x: sp.csr_matrix,
    fixed: np.ndarray,
    current: np.ndarray,
    unobserved_weight: float,
    reg: np.ndarray,
    cg_steps: int,
) -> np.ndarray:
    """Re-solve the factors of ``x``'s rows against the ``fixed`` factors of its columns.

    Row ``u`` minimises ``sum_i c_ui (1 - w.h_i)^2 + a0 sum_all_j (w.h_j)^2 + reg_u |w|^2``
    (``c_ui`` = the stored confidences), i.e. solves
    ``(sum_i c_ui h_i h_i^T + a0 H^T H + reg_u I) w = sum_i c_ui h_i`` by ``cg_steps`` steps of
    conjugate gradients warm-started at ``current``, all rows at once. A product with the
    system costs O(nnz * f), never a per-row Gram matrix.
    """
    fixed = np.ascontiguousarray(fixed, dtype=np.float32)
    gram = (np.float32(unobserved_weight) * (fixed.T @ fixed)).astype(np.float32)
    reg = reg.astype(np.float32)[:, None]
    rows = np.repeat(np.arange(x.shape[0], dtype=np.int64), np.diff(x.indptr))
    cols, conf = x.indices, x.data.astype(np.float32)
    chunk = max(1, _GATHER_FLOATS // max(fixed.shape[1], 1))

    def matvec(p: np.ndarray) -> np.ndarray:
        dots = np.empty(len(cols), dtype=np.float32)
        for s in range(0, len(cols), chunk):  # (p_u . h_i) per stored entry, in bounded chunks
            e = s + chunk
            dots[s:e] = np.einsum("ef,ef->e", p[rows[s:e]], fixed[cols[s:e]])
        weighted = sp.csr_matrix((dots * conf, cols, x.indptr), shape=x.shape)
        return p @ gram + reg * p + weighted @ fixed

    b = sp.csr_matrix((conf, cols, x.indptr), shape=x.shape) @ fixed
    w = current.astype(np.float32, copy=True)
    r = b - matvec(w)
    p = r.copy()
    rs = np.einsum("nf,nf->n", r, r)
    for _ in range(cg_steps):
        ap = matvec(p)
        denom = np.einsum("nf,nf->n", p, ap)
        step = np.divide(rs, denom, out=np.zeros_like(rs), where=denom > 0)
        w += step[:, None] * p
        r -= step[:, None] * ap
        rs_new = np.einsum("nf,nf->n", r, r)
        beta = np.divide(rs_new, rs, out=np.zeros_like(rs), where=rs > 0)
        p = r + beta[:, None] * p
        rs = rs_new
    return w


class IALSConfig(Hyperparameters):
    """Hyper-parameters of :class:`IALS`."""

    factors: AtLeastOne | Auto = param(
        "auto", "latent dimensions; auto = 64, at most an eighth of the smaller side"
    )
    regularization: float = param(
        0.38, "L2 scale, times (count + unobserved_weight * catalogue) ** reg_exponent", ge=0
    )
    unobserved_weight: float = param(
        0.165, "weight of the squared score of every (user, item) pair", ge=0
    )
    reg_exponent: float = param(
        0.5, "0 = constant L2; 1 = L2 proportional to frequency (Rendle et al. 2021)"
    )
    weighting: Literal["binary", "linear", "log", "auto"] = param(
        "auto", "observed confidence: binary or 1 + alpha * linear/log; auto = log for counts"
    )
    alpha: float = param(1.0, "slope of the linear/log weighting", ge=0)
    iterations: int = param(18, "sweeps (users, then items)", ge=1)
    cg_steps: int = param(3, "conjugate-gradient steps per half sweep (warm-started)", ge=1)
    init_std: float = param(0.1, "initial factors ~ N(0, init_std^2 / factors)", ge=0)
    random_state: int | None = param(42, "seed of the initial factors")
    half_life_days: float = param(
        0.0, "time decay of interaction weights: half-life in days; 0 = off", ge=0
    )
    popularity_prior: NonNegative | Auto = param(
        "auto",
        "adds this x mean train-pair score x popularity (top = 1); auto = 0.06 x (sparsity - 4)",
    )


class IALS(FactorModel):
    """Implicit ALS with the formulation of Rendle et al., "Revisiting the Performance of iALS
    on Item Recommendation Benchmarks" (RecSys 2022).

    Loss: ``sum_(u,i) observed c_ui (1 - <w_u, h_i>)^2 + a0 * sum_(all u,i) <w_u, h_i>^2 +
    reg * (sum_u (n_u + a0 |I|)^nu |w_u|^2 + sum_i (n_i + a0 |U|)^nu |h_i|^2)``, with
    ``a0 = unobserved_weight`` and ``nu = reg_exponent``. Unlike ``implicit``'s ALS, every
    observed pair has the same target 1 and the L2 grows with a user's (item's) frequency,
    which lets many factors help instead of overfit. Solved by warm-started conjugate
    gradients (vectorized numpy). Scores (with the popularity prior), fold-in and popularity
    fallback work as in ALS.
    """

    name = "ials"
    config_class = IALSConfig
    config: IALSConfig

    def _confidence(self, matrix: sp.spmatrix) -> sp.csr_matrix:
        return weigh_rows(matrix, self.config.weighting, self.config.alpha)

    def _reg(self, counts: np.ndarray, n_other: int) -> np.ndarray:
        """Per-row L2: ``reg * (n_row + a0 * n_other) ** nu``."""
        cfg = self.config
        base = counts.astype(np.float64) + cfg.unobserved_weight * n_other
        return cfg.regularization * np.power(base, cfg.reg_exponent)

    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Alternate user and item half-steps; ``valid`` only feeds :attr:`callback`."""
        cfg = self.config
        f, iterations = int(cfg.factors), cfg.iterations
        x = decayed(self._confidence(train.csr), recency(train, cfg.half_life_days))
        xt = x.T.tocsr()
        n_users, n_items = train.shape
        reg_u = self._reg(np.diff(x.indptr), n_items)
        reg_i = self._reg(np.diff(xt.indptr), n_users)
        rng = np.random.default_rng(cfg.random_state)
        scale = cfg.init_std / np.sqrt(f)
        users = (rng.standard_normal((n_users, f)) * scale).astype(np.float32)
        items = (rng.standard_normal((n_items, f)) * scale).astype(np.float32)
        a0, steps = cfg.unobserved_weight, cfg.cg_steps
        want_valid = valid is not None and self.callback is not None
        # The products are small (n x f times f x f) or sparse (scipy, one thread): threaded BLAS
        # only adds synchronisation, which costs 3-4x when another process shares the cores.
        with (
            threadpool_limits(1, "blas"),
            progress_bar(iterations, "iALS", enabled=show_progress) as advance,
        ):
            for it in range(iterations):
                users = _half_step(x, items, users, a0, reg_u, steps)
                items = _half_step(xt, users, items, a0, reg_i, steps)
                advance()
                if want_valid:
                    assert valid is not None
                    snapshot = ranking_snapshot(dot_scores(users, items), train.csr, valid)
                    self._epoch_end(it, snapshot)
        self.user_factors_, self.item_factors_ = users, items
        self.popularity_ = popularity_share(train.csr)

    # ------------------------------------------------------------------ fold-in
    def recalculate_user(self, user_items: sp.spmatrix) -> np.ndarray:
        """Exact least-squares user factors for history rows, item factors fixed."""
        self._check_fitted()
        conf = self._confidence(user_items)
        return ridge_fold_in(
            conf,
            np.asarray(self.item_factors_),
            gram_weights=conf.data,
            targets=conf.data,
            reg=self._reg(np.diff(conf.indptr), self.n_items_),
            base_gram=self.config.unobserved_weight * self._item_gram(),
        )

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: dimension, the unobserved weight and the (scaled) L2."""
        nu = trial.suggest_categorical("reg_exponent", [0.0, 0.5, 1.0])
        # the useful L2 scale shrinks as the exponent grows (it multiplies (n + a0 N)^nu)
        low, high = {0.0: (0.5, 50.0), 0.5: (0.02, 2.0), 1.0: (1e-3, 0.1)}[nu]
        return {
            "factors": trial.suggest_categorical("factors", [64, 128, 192, 256]),
            "unobserved_weight": trial.suggest_float("unobserved_weight", 0.01, 1.0, log=True),
            "reg_exponent": nu,
            "regularization": trial.suggest_float("regularization", low, high, log=True),
            "iterations": trial.suggest_int("iterations", 6, 20),
        }
