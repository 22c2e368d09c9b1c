"""BPMF's Gibbs sampler: sweeps over users, items, priors, noise (and time terms), kept draws."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.data.split import has_timestamps
from nextbuy.errors import DataError
from nextbuy.models.bpmf_config import BPMFConfig
from nextbuy.models.bpmf_draws import A0, B0, sample_prior, sample_scales, sample_side
from nextbuy.models.bpmf_implicit import ImplicitPrior
from nextbuy.models.bpmf_time import TimeSampler, TimeTables
from nextbuy.progress import progress_bar


@dataclass
class Posterior:
    """What the sampler hands the model: kept draws and posterior means of the priors."""

    mu: float
    kept_u: list[np.ndarray]  # [rows, 1 + factors] per kept sample (bias first)
    kept_i: list[np.ndarray]
    prior_precision: np.ndarray  # users' prior precision per dimension, averaged
    tau: float  # the shared noise precision, averaged
    implicit_factors: np.ndarray  # Y [n_items, 1 + factors] (zeros without the term)
    user_prior_mean: np.ndarray
    time: TimeTables | None
    history: dict[str, list[float]] = field(default_factory=dict)


def uses_time(train: Interactions, bins: int) -> bool:
    """Time terms run when asked for (``bins > 0``) and the ratings carry varying timestamps."""
    return bins > 0 and has_timestamps(train)


def gibbs(
    train: Interactions,
    valid: Interactions | None,
    p: BPMFConfig,
    on_sweep: Callable[[int, dict[str, float]], None],
    show_progress: bool,
) -> Posterior:
    """Run ``p.sweeps`` sweeps; ``valid`` only feeds ``on_sweep`` (running-average RMSE)."""
    rng = np.random.default_rng(p.seed)
    n_users, n_items = train.shape
    f, sweeps, burn_in = p.factors, p.sweeps, p.burn_in
    mu = float(np.mean(train.values, dtype=np.float64))
    # user-major CSR of residuals r - mu (duplicates cannot occur: one row per pair)
    by_user = sp.csr_matrix(
        (train.values.astype(np.float64) - mu, (train.users, train.items)), shape=train.shape
    )
    by_user.sort_indices()
    ru = np.repeat(np.arange(n_users), np.diff(by_user.indptr))
    ri = by_user.indices.astype(np.int64)
    resid = by_user.data
    to_item_major = np.lexsort((ru, ri))  # entry order of the items x users CSR
    item_indptr = np.r_[0, np.cumsum(np.bincount(ri, minlength=n_items))]
    ru_t = ru[to_item_major]
    n_u = np.diff(by_user.indptr).astype(np.float64)
    n_i = np.diff(item_indptr).astype(np.float64)
    clock = None
    if uses_time(train, p.time_bins):
        order = np.lexsort((train.items, train.users))  # the CSR's entry order
        clock = TimeSampler(ru, ri, train.timestamps[order], train.shape, p.time_bins,
                            p.drift_beta, p.user_day)  # fmt: skip
    time_off = np.zeros(len(resid))

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
    vu = vi = vr = valid_time = None
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
            target = resid - time_off
            # users: target r - mu - time - b_i on design [1, q_i]
            design = np.hstack([ones_i, item_z[:, 1:]])
            weights = sp.csr_matrix((w, ri, by_user.indptr), shape=(n_users, n_items))
            user_z = sample_side(weights, target - item_z[ri, 0], design, prec_u, user_prior, rng)
            if implicit is None:
                prec_u, mean_u = sample_prior(user_z, rng)
                user_prior = np.broadcast_to(mean_u, user_z.shape)
            else:
                prec_u, mean_u = sample_prior(user_z - implicit.offsets(coords), rng)
                coords, y_sq = implicit.sample(user_z - mean_u, prec_u, alpha_y, rng)
                alpha_y = rng.gamma(A0 + n_items / 2.0, 1.0 / (B0 + 0.5 * y_sq))
                user_prior = mean_u + implicit.offsets(coords)
            # items: target r - mu - time - b_u on design [1, p_u]
            design = np.hstack([ones_u, user_z[:, 1:]])
            weights = sp.csr_matrix((w[to_item_major], ru_t, item_indptr), shape=(n_items, n_users))
            item_target = target[to_item_major] - user_z[ru_t, 0]
            item_z = sample_side(weights, item_target, design, prec_i, item_prior, rng)
            if item_implicit is None:
                prec_i, mean_i = sample_prior(item_z, rng)
                item_prior = np.broadcast_to(mean_i, item_z.shape)
            else:  # the mirror image: which users rated an item shifts its prior
                offsets = item_implicit.offsets(item_coords)
                prec_i, mean_i = sample_prior(item_z - offsets, rng)
                item_coords, z_sq = item_implicit.sample(item_z - mean_i, prec_i, alpha_z, rng)
                alpha_z = rng.gamma(A0 + n_users / 2.0, 1.0 / (B0 + 0.5 * z_sq))
                item_prior = mean_i + item_implicit.offsets(item_coords)
            main = user_z[ru, 0] + item_z[ri, 0] + np.einsum("ef,ef->e", user_z[ru, 1:],
                                                              item_z[ri, 1:])  # fmt: skip
            if clock is not None:  # timeSVD++'s drifts given the factors
                time_off = clock.sample(resid - main, w, rng)
            # noise: a shared precision times per-user and per-item scales
            err2 = (resid - main - time_off) ** 2
            sse = float(np.sum(err2 * scale_u[ru] * scale_i[ri]))
            tau = rng.gamma(A0 + len(err2) / 2.0, 1.0 / (B0 + 0.5 * sse))
            if k_u > 0:
                scale_u = sample_scales(ru, tau * err2 * scale_i[ri], n_u, k_u, rng)
            if k_i > 0:
                scale_i = sample_scales(ri, tau * err2 * scale_u[ru], n_i, k_i, rng)
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
                if clock is not None:
                    clock.keep()
                if vr is not None:
                    if (
                        clock is not None
                        and valid is not None
                        and vu is not None
                        and vi is not None
                    ):
                        valid_time = clock.tables.offsets(vu, vi, valid.timestamps, p.drift_beta)
                    valid_sum += (
                        mu
                        + user_z[vu, 0]
                        + item_z[vi, 0]
                        + np.einsum("ef,ef->e", user_z[vu, 1:], item_z[vi, 1:])
                        + (0.0 if valid_time is None else valid_time)
                    )
                    avg = np.clip(valid_sum / (sweep - burn_in + 1), *train.rating_range)
                    metrics["valid_rmse"] = float(np.sqrt(np.mean((avg - vr) ** 2)))
            for key, value in metrics.items():
                history[key].append(value)
            advance(**{k: round(v, 4) for k, v in metrics.items()})
            on_sweep(sweep, metrics)

    y = np.zeros((n_items, f + 1)) if implicit is None else implicit.item_factors(sum_coords)
    return Posterior(
        mu=mu,
        kept_u=kept_u,
        kept_i=kept_i,
        prior_precision=sum_prec_u / n_avg,
        tau=sum_tau / n_avg,
        implicit_factors=y / n_avg,
        user_prior_mean=sum_mean_u / n_avg,
        time=None if clock is None else clock.posterior_mean(),
        history=history,
    )
