"""Bayesian biased matrix factorisation for ratings by Gibbs sampling (vectorized numpy)."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from pydantic import model_validator
from typing_extensions import Self

from nextbuy.data.interactions import Interactions
from nextbuy.errors import DataError
from nextbuy.models.factor import RatingFactorModel
from nextbuy.models.foldin import ridge_fold_in
from nextbuy.models.params import Hyperparameters, param
from nextbuy.progress import progress_bar

#: Hyper-prior of the per-dimension prior precisions (Gamma shape and rate) and of the means.
_A0, _B0, _G0 = 1.0, 1.0, 1.0


def _sample_side(
    weights: sp.csr_matrix,
    targets: np.ndarray,
    design: np.ndarray,
    prior_precision: np.ndarray,
    prior_mean: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """One Gibbs draw of every row's ``z`` (bias and factors) given the other side.

    Row ``u`` has Gaussian conditional with precision ``A_u = diag(lam) + sum_i w_ui x_i x_i^T``
    and mean ``A_u^-1 (lam * m + sum_i w_ui y_ui x_i)``, where ``x_i = design[i]`` and the
    stored ``w_ui`` (noise precisions) and ``y_ui = targets`` follow ``weights``' layout. All
    rows are drawn at once: the Gram matrices come from one sparse product with the
    per-column outer products, then a batched Cholesky gives ``mean + L^-T eps``.
    ``prior_mean`` is one mean ``m`` for every row (``[d]``) or one per row (``[n, d]``).
    """
    n, d = weights.shape[0], design.shape[1]
    outer = (design[:, :, None] * design[:, None, :]).reshape(len(design), d * d)
    prec = np.asarray(weights @ outer).reshape(n, d, d)
    prec[:, np.arange(d), np.arange(d)] += prior_precision[None, :]
    weighted = sp.csr_matrix(
        (weights.data * targets, weights.indices, weights.indptr), shape=weights.shape
    )
    rhs = np.asarray(weighted @ design) + prior_precision * prior_mean  # mean: [d] or [n, d]
    chol = np.linalg.cholesky(prec)
    mean = np.linalg.solve(prec, rhs[:, :, None])[:, :, 0]
    noise = rng.standard_normal((n, d))
    return mean + np.linalg.solve(np.swapaxes(chol, 1, 2), noise[:, :, None])[:, :, 0]


def _sample_prior(z: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension precision and mean of the rows' Gaussian prior (Normal-Gamma posterior)."""
    n = z.shape[0]
    zbar = z.mean(axis=0)
    spread = ((z - zbar) ** 2).sum(axis=0) + _G0 * n / (_G0 + n) * zbar**2
    precision = rng.gamma(_A0 + n / 2.0, 1.0 / (_B0 + 0.5 * spread))
    mean = rng.normal(n * zbar / (_G0 + n), 1.0 / np.sqrt((_G0 + n) * precision))
    return precision, mean


class ImplicitPrior:
    """SVD++'s implicit term as the users' prior mean: ``z_u ~ N(m + x_u Y, diag(lam)^-1)``.

    ``x_u`` spreads ``|N(u)|^-1/2`` over the items user ``u`` rated, so which films a user
    chose to rate moves their bias and factors (Koren 2008), inside the Bayesian model as in
    Rendle's Bayesian SVD++: with ``p_u = z_u - x_u Y`` the likelihood is SVD++'s exactly.
    Given the users, each column of ``Y`` is a Bayesian ridge regression on ``X`` with
    precision ``lam_d X^T X + alpha_d I``. With the thin SVD ``X = W V^T`` (``W = U sqrt(s)``,
    one eigendecomposition of the smaller Gram matrix, at fit), ``Y = V c`` plus a part in
    ``X``'s null space that no rating sees: the sampler draws ``c [rank, d]`` coordinate-wise
    (independent given the users) and only the squared norm of the null part, for ``alpha``.
    """

    def __init__(self, rated: sp.csr_matrix) -> None:
        counts = np.diff(rated.indptr).astype(np.float64)
        norm = 1.0 / np.sqrt(np.maximum(counts, 1.0))
        x = sp.csr_matrix(
            (np.repeat(norm, np.diff(rated.indptr)), rated.indices, rated.indptr),
            shape=rated.shape,
        )
        small = x @ x.T if x.shape[0] < x.shape[1] else x.T @ x
        vals, vecs = scipy.linalg.eigh(np.asarray(small.todense(), dtype=np.float32), driver="evd")
        vals, vecs = vals.astype(np.float64), vecs.astype(np.float64)
        keep = vals > 1e-6 * max(float(vals.max()), 1.0)
        self.eigvals = vals[keep]
        root = np.sqrt(self.eigvals)
        if x.shape[0] < x.shape[1]:  # vecs are U: W = U sqrt(s), V = X^T U / sqrt(s)
            self.user_side = vecs[:, keep] * root
            self.item_side = np.asarray(x.T @ vecs[:, keep]) / root
        else:  # vecs are V: W = X V
            self.item_side = vecs[:, keep]
            self.user_side = np.asarray(x @ self.item_side)
        self.null_dims = x.shape[1] - len(self.eigvals)

    def offsets(self, coords: np.ndarray) -> np.ndarray:
        """``x_u Y = W c`` for every user ``[n_users, d]``."""
        return np.asarray(self.user_side @ coords)

    def sample(
        self, targets: np.ndarray, precision: np.ndarray, alpha: np.ndarray, rng: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """A draw of ``c [rank, d]`` given ``targets = z - m``, and ``|Y_d|^2`` per dimension."""
        denom = precision[None, :] * self.eigvals[:, None] + alpha[None, :]
        mean = precision * (self.user_side.T @ targets) / denom
        coords = mean + rng.standard_normal(mean.shape) / np.sqrt(denom)
        null_sq = rng.chisquare(self.null_dims, len(alpha)) / alpha if self.null_dims else 0.0
        return coords, (coords**2).sum(axis=0) + null_sq

    def item_factors(self, coords: np.ndarray) -> np.ndarray:
        """``Y = V c [n_items, d]``: the implicit item factors (fold-in of new users)."""
        return np.asarray(self.item_side @ coords)


def _sample_scales(
    groups: np.ndarray, sq_err: np.ndarray, counts: np.ndarray, strength: float, rng: Any
) -> np.ndarray:
    """Per-group noise precision scales ``s ~ Gamma(k + n/2, k + SSE/2)`` (prior mean 1)."""
    sse = np.bincount(groups, weights=sq_err, minlength=len(counts))
    return rng.gamma(strength + counts / 2.0, 1.0 / (strength + 0.5 * sse))


def average_low_rank(
    users: np.ndarray, items: np.ndarray, rank: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rank-``rank`` factors ``U, V`` with ``U V^T ~= mean_s P_s Q_s^T`` (randomized SVD).

    ``users`` is ``[samples, n_users, f]`` and ``items`` ``[samples, n_items, f]``. The
    ``n_users x n_items`` average is never materialised: a Gaussian sketch with 10 extra
    columns and two power iterations (Halko et al. 2011) only multiplies by the concatenated
    factors ``[P_1 .. P_S] / sqrt(S)``, which are returned as they are when ``rank`` is 0 or
    covers every column.
    """
    s, n_users, f = users.shape
    # [P_1 .. P_S] / sqrt(S) and likewise for Q: their product is the average
    p_cat = users.transpose(1, 0, 2).reshape(n_users, s * f) / np.sqrt(s)
    q_cat = items.transpose(1, 0, 2).reshape(items.shape[1], s * f) / np.sqrt(s)
    if rank <= 0 or rank >= s * f:
        return p_cat, q_cat

    def times(m: np.ndarray) -> np.ndarray:
        return p_cat @ (q_cat.T @ m)

    def times_t(m: np.ndarray) -> np.ndarray:
        return q_cat @ (p_cat.T @ m)

    width = min(rank + 10, n_users, items.shape[1])
    basis = np.linalg.qr(times(rng.standard_normal((items.shape[1], width))))[0]
    for _ in range(2):
        basis = np.linalg.qr(times(np.linalg.qr(times_t(basis))[0]))[0]
    small = times_t(basis).T  # basis^T M, [width, n_items]
    left, sing, right_t = np.linalg.svd(small, full_matrices=False)
    r = min(rank, len(sing))
    root = np.sqrt(sing[:r])
    return (basis @ left[:, :r]) * root, right_t[:r].T * root


class BPMFConfig(Hyperparameters):
    """Hyper-parameters of :class:`BPMF`."""

    factors: int = param(8, "latent dimensions of each Gibbs sample", ge=1)
    sweeps: int = param(200, "Gibbs sweeps (users, items, priors and noise each time)", ge=1)
    burn_in: int = param(10, "first sweeps left out of the posterior average (< sweeps)", ge=0)
    user_noise: float = param(
        30.0, "prior strength of the per-user noise scale; 0 = one shared noise level", ge=0
    )
    item_noise: float = param(
        23.0, "prior strength of the per-item noise scale; 0 = one shared noise level", ge=0
    )
    max_samples: int = param(
        200, "samples averaged (evenly thinned); bounds memory while fitting", ge=1
    )
    rank: int = param(
        64, "factors of the exported posterior average (randomized SVD); 0 = all", ge=0
    )
    implicit: bool = param(
        True, "SVD++ term: which items a user rated shifts their prior (Bayesian SVD++)"
    )
    item_implicit: bool = param(
        True, "the mirror term: which users rated an item shifts the item's prior"
    )
    implicit_max_items: int = param(
        6000, "skip implicit terms when users and items both exceed this (eigendecomposition)", ge=0
    )
    rank_support: float = param(
        10.0, "ranking shrinks an item's part by n_i / (n_i + this); 0 = rank by rating", ge=0
    )
    init_std: float = param(0.1, "standard deviation of the initial factors", ge=0)
    num_threads: int = param(
        1, "BLAS threads while fitting (1 is as fast here, and robust when busy); 0 = all", ge=0
    )
    seed: int = param(42, "seeds the initial factors and the sampler")

    @model_validator(mode="after")
    def _burn_in_below_sweeps(self) -> Self:
        if self.burn_in >= self.sweeps:
            raise ValueError(
                f"burn_in must be smaller than sweeps, not {self.burn_in} >= {self.sweeps}"
            )
        return self


class BPMF(RatingFactorModel):
    """``r_ui = mu + b_u + b_i + p_u . q_i`` with the posterior averaged over Gibbs samples.

    Bayesian probabilistic matrix factorisation (Salakhutdinov and Mnih 2008) with biases and
    per-dimension Normal-Gamma hyper-priors as in libFM's MCMC (Rendle 2012), plus
    heteroscedastic noise: each user and item has a precision scale with a Gamma prior of
    strength ``user_noise`` / ``item_noise`` (0 = one shared noise level), so erratic raters
    and divisive items count less. No learning rate, no L2 to tune: the priors are learned.
    SVD++'s implicit feedback sits in the priors (:class:`ImplicitPrior`): which items a user
    rated shifts the user's prior mean (``implicit``), which users rated an item the item's
    (``item_implicit``). Ranking shrinks rarely rated items (``rank_support``).

    Predictions average ``p_u . q_i`` over the kept samples. That average is exported as
    ``rank`` factors per user and item by a randomized SVD (rank 64 changes the RMSE by less
    than 1e-4 on MovieLens), so serving is one dot product, as for MF, and needs only numpy.
    Unknown users or items get the baseline ``mu + b_u + b_i`` of what is known. With
    ``recalculate_user=True`` users are folded in by ridge regression against the
    posterior-mean item factors, with the learned prior as the penalty.
    """

    name = "bpmf"
    config_class = BPMFConfig
    config: BPMFConfig
    state_attributes: ClassVar[tuple[str, ...]] = (
        *RatingFactorModel.state_attributes,
        "item_mean_factors",
        "fold_in_reg",
        "implicit_factors",
        "user_prior_mean",
    )

    #: Posterior-mean item factors ``[n_items, factors]`` (fold-in of new users).
    item_mean_factors_: np.ndarray
    #: Ridge penalty per user dimension (bias first) for fold-in: prior precision / noise.
    fold_in_reg_: np.ndarray
    #: Posterior mean of SVD++'s implicit item factors ``Y [n_items, 1 + factors]`` (zeros
    #: without the implicit term) and of the users' prior mean ``m``: fold-in's prior.
    implicit_factors_: np.ndarray
    user_prior_mean_: np.ndarray

    # ------------------------------------------------------------------ training
    def _check(self, train: Interactions) -> None:
        if len(train) == 0:
            raise DataError("bpmf: no training ratings")

    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Run the Gibbs sampler; ``valid`` only feeds :attr:`callback` (running-average RMSE).

        BLAS runs on ``num_threads`` threads: the sampler's products are small, and threads
        spinning on a busy machine made the one eigendecomposition ten times slower.
        """
        from threadpoolctl import threadpool_limits

        threads = self.config.num_threads or None
        with threadpool_limits(limits=threads, user_api="blas"):
            self._sample(train, valid, show_progress)

    def _sample(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """The Gibbs sampler itself (see :meth:`_fit`)."""
        self._check(train)
        p = self.config
        started = time.perf_counter()
        rng = np.random.default_rng(p.seed)
        n_users, n_items = train.shape
        f, sweeps, burn_in = p.factors, p.sweeps, p.burn_in
        mu = float(np.mean(train.values, dtype=np.float64))
        # user-major CSR of residuals r - mu (duplicates cannot occur: one row per pair)
        by_user = sp.csr_matrix(
            (train.values.astype(np.float64) - mu, (train.users, train.items)),
            shape=train.shape,
        )
        by_user.sort_indices()
        ru = np.repeat(np.arange(n_users), np.diff(by_user.indptr))
        ri = by_user.indices.astype(np.int64)
        resid = by_user.data
        to_item_major = np.lexsort((ru, ri))  # entry order of the items x users CSR
        item_indptr = np.r_[0, np.cumsum(np.bincount(ri, minlength=n_items))]
        ru_t, resid_t = ru[to_item_major], resid[to_item_major]
        n_u = np.diff(by_user.indptr).astype(np.float64)
        n_i = np.diff(item_indptr).astype(np.float64)

        user_z = np.zeros((n_users, f + 1))
        item_z = np.zeros((n_items, f + 1))
        user_z[:, 1:] = rng.standard_normal((n_users, f)) * p.init_std
        item_z[:, 1:] = rng.standard_normal((n_items, f)) * p.init_std
        prec_u, mean_u = np.ones(f + 1), np.zeros(f + 1)
        prec_i, mean_i = np.ones(f + 1), np.zeros(f + 1)
        tau, scale_u, scale_i = 1.0, np.ones(n_users), np.ones(n_items)
        implicit = item_implicit = None
        if p.implicit and min(n_users, n_items) <= p.implicit_max_items:
            implicit = ImplicitPrior(by_user)
        if p.item_implicit and min(n_users, n_items) <= p.implicit_max_items:
            item_implicit = ImplicitPrior(sp.csr_matrix(by_user.T))
            item_coords = np.zeros((len(item_implicit.eigvals), f + 1))
            alpha_z = np.ones(f + 1)
        item_prior = np.broadcast_to(mean_i, (n_items, f + 1))
        rank = 0 if implicit is None else len(implicit.eigvals)
        coords, alpha_y = np.zeros((rank, f + 1)), np.ones(f + 1)
        user_prior = np.broadcast_to(mean_u, (n_users, f + 1))
        sum_coords, sum_mean_u = np.zeros((rank, f + 1)), np.zeros(f + 1)
        k_u, k_i = p.user_noise, p.item_noise

        n_avg = sweeps - burn_in
        keep_every = max(1, int(np.ceil(n_avg / p.max_samples)))
        kept_u: list[np.ndarray] = []
        kept_i: list[np.ndarray] = []
        sum_prec_u, sum_tau = np.zeros(f + 1), 0.0
        vu = vi = vr = None
        if valid is not None:
            if valid.shape != train.shape:
                raise DataError("bpmf: valid must use the same user and item maps as train")
            vu, vi, vr = valid.users, valid.items, valid.values.astype(np.float64)
            valid_sum = np.zeros(len(vr))
        history: dict[str, list[float]] = {"train_rmse": [], "noise_std": []}
        if vr is not None:
            history["valid_rmse"] = []
        ones_u, ones_i = np.ones((n_users, 1)), np.ones((n_items, 1))
        with progress_bar(sweeps, "BPMF sweeps", enabled=show_progress) as advance:
            for sweep in range(sweeps):
                w = tau * scale_u[ru] * scale_i[ri]
                # users: target r - mu - b_i on design [1, q_i]
                design = np.hstack([ones_i, item_z[:, 1:]])
                weights = sp.csr_matrix((w, ri, by_user.indptr), shape=(n_users, n_items))
                user_z = _sample_side(
                    weights, resid - item_z[ri, 0], design, prec_u, user_prior, rng
                )
                if implicit is None:
                    prec_u, mean_u = _sample_prior(user_z, rng)
                    user_prior = np.broadcast_to(mean_u, user_z.shape)
                else:
                    prec_u, mean_u = _sample_prior(user_z - implicit.offsets(coords), rng)
                    coords, y_sq = implicit.sample(user_z - mean_u, prec_u, alpha_y, rng)
                    alpha_y = rng.gamma(_A0 + n_items / 2.0, 1.0 / (_B0 + 0.5 * y_sq))
                    user_prior = mean_u + implicit.offsets(coords)
                # items: target r - mu - b_u on design [1, p_u]
                design = np.hstack([ones_u, user_z[:, 1:]])
                weights = sp.csr_matrix(
                    (w[to_item_major], ru_t, item_indptr), shape=(n_items, n_users)
                )
                item_z = _sample_side(
                    weights, resid_t - user_z[ru_t, 0], design, prec_i, item_prior, rng
                )
                if item_implicit is None:
                    prec_i, mean_i = _sample_prior(item_z, rng)
                    item_prior = np.broadcast_to(mean_i, item_z.shape)
                else:  # the mirror image: which users rated an item shifts its prior
                    offsets = item_implicit.offsets(item_coords)
                    prec_i, mean_i = _sample_prior(item_z - offsets, rng)
                    item_coords, z_sq = item_implicit.sample(item_z - mean_i, prec_i, alpha_z, rng)
                    alpha_z = rng.gamma(_A0 + n_users / 2.0, 1.0 / (_B0 + 0.5 * z_sq))
                    item_prior = mean_i + item_implicit.offsets(item_coords)
                # noise: a shared precision times per-user and per-item scales
                err2 = (
                    resid
                    - user_z[ru, 0]
                    - item_z[ri, 0]
                    - np.einsum("ef,ef->e", user_z[ru, 1:], item_z[ri, 1:])
                ) ** 2
                sse = float(np.sum(err2 * scale_u[ru] * scale_i[ri]))
                tau = rng.gamma(_A0 + len(err2) / 2.0, 1.0 / (_B0 + 0.5 * sse))
                if k_u > 0:
                    scale_u = _sample_scales(ru, tau * err2 * scale_i[ri], n_u, k_u, rng)
                if k_i > 0:
                    scale_i = _sample_scales(ri, tau * err2 * scale_u[ru], n_i, k_i, rng)
                metrics = {
                    "train_rmse": float(np.sqrt(err2.mean())),
                    "noise_std": float(1.0 / np.sqrt(tau)),
                }
                if sweep >= burn_in:
                    if (sweep - burn_in) % keep_every == 0:
                        kept_u.append(user_z.astype(np.float32))
                        kept_i.append(item_z.astype(np.float32))
                    sum_prec_u += prec_u
                    sum_tau += tau
                    sum_coords += coords
                    sum_mean_u += mean_u
                    if vr is not None:
                        valid_sum += (
                            mu
                            + user_z[vu, 0]
                            + item_z[vi, 0]
                            + np.einsum("ef,ef->e", user_z[vu, 1:], item_z[vi, 1:])
                        )
                        avg = np.clip(valid_sum / (sweep - burn_in + 1), *train.rating_range)
                        metrics["valid_rmse"] = float(np.sqrt(np.mean((avg - vr) ** 2)))
                for key, value in metrics.items():
                    history[key].append(value)
                advance(**{k: round(v, 4) for k, v in metrics.items()})
                self._epoch_end(sweep, metrics)

        self._export(mu, kept_u, kept_i, sum_prec_u / n_avg, sum_tau / n_avg)
        y = np.zeros((n_items, f + 1)) if implicit is None else implicit.item_factors(sum_coords)
        self.implicit_factors_ = (y / n_avg).astype(np.float32)
        self.user_prior_mean_ = (sum_mean_u / n_avg).astype(np.float32)
        history["fit_seconds"] = [time.perf_counter() - started]
        history["kept_samples"] = [float(len(kept_u))]
        self.history_ = history
        self.rating_min_, self.rating_max_ = train.rating_range

    def _export(
        self,
        mu: float,
        kept_u: list[np.ndarray],
        kept_i: list[np.ndarray],
        prior_precision: np.ndarray,
        tau: float,
    ) -> None:
        """Average the kept samples into serving arrays (see the class docstring)."""
        users, items = np.stack(kept_u), np.stack(kept_i)  # [samples, rows, 1 + factors]
        self.global_mean_ = mu
        self.user_bias_ = users[:, :, 0].mean(axis=0).astype(np.float32)
        self.item_bias_ = items[:, :, 0].mean(axis=0).astype(np.float32)
        rng = np.random.default_rng(self.config.seed)
        u, v = average_low_rank(
            users[:, :, 1:].astype(np.float64),
            items[:, :, 1:].astype(np.float64),
            self.config.rank,
            rng,
        )
        self.user_factors_ = np.ascontiguousarray(u, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(v, dtype=np.float32)
        self.item_mean_factors_ = items[:, :, 1:].mean(axis=0).astype(np.float32)
        self.fold_in_reg_ = (prior_precision / max(tau, 1e-12)).astype(np.float32)

    # ------------------------------------------------------------------ scoring
    def recalculate_user(self, user_items: sp.spmatrix) -> np.ndarray:
        """``[b_u, p_u]`` per rating row by ridge regression, item side fixed at its mean.

        Rows may be new users; empty rows give zeros (the unknown-user baseline).
        """
        self._check_fitted()
        rows = sp.csr_matrix(user_items, dtype=np.float32)
        design = self._derived(
            "design",
            (self.item_mean_factors_,),
            lambda: self._ridge_design(np.asarray(self.item_mean_factors_)),
        )
        # the prior mean m + x_u Y (SVD++'s implicit term from the row's rated items)
        counts = np.diff(rows.indptr)
        norm = np.repeat(1.0 / np.sqrt(np.maximum(counts, 1)), counts)
        pattern = sp.csr_matrix((norm, rows.indices, rows.indptr), shape=rows.shape)
        prior = np.asarray(self.user_prior_mean_, dtype=np.float64) + np.asarray(
            pattern @ np.asarray(self.implicit_factors_, dtype=np.float64)
        )
        owner = np.repeat(np.arange(rows.shape[0]), counts)
        targets = rows.data - self.global_mean_ - np.asarray(self.item_bias_)[rows.indices]
        targets = targets - np.einsum("ed,ed->e", design[rows.indices], prior[owner])
        per_dim = np.asarray(self.fold_in_reg_, dtype=np.float64)
        reg = np.broadcast_to(per_dim, (rows.shape[0], len(per_dim)))
        delta = ridge_fold_in(rows, design, np.ones(rows.nnz), targets, reg)
        return (delta + prior * (counts > 0)[:, None]).astype(np.float32)

    def _item_side(self, from_history: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Folded-in users live in the space of the posterior-mean item factors."""
        items = self.item_mean_factors_ if from_history else self.item_factors_
        weight = self._support_weight()
        if weight is None:
            return np.asarray(items), np.asarray(self.item_bias_)
        return self._shrunk(items, weight), self._shrunk(self.item_bias_, weight)

    def item_vectors(self) -> np.ndarray:
        return np.asarray(self.item_mean_factors_)

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: dimension and the strength of the heteroscedastic noise priors."""
        return {
            "factors": trial.suggest_int("factors", 4, 24),
            "user_noise": trial.suggest_float("user_noise", 2.0, 200.0, log=True),
            "item_noise": trial.suggest_float("item_noise", 2.0, 200.0, log=True),
        }
