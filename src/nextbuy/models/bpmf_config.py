"""Hyper-parameters of :class:`~nextbuy.models.bpmf.BPMF` (priors, samples, SVD++, time)."""

from __future__ import annotations

from pydantic import model_validator
from typing_extensions import Self

from nextbuy.models.params import Hyperparameters, param


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
    time_bins: int = param(
        0, "timeSVD++ terms when ratings carry timestamps: item bias per time bin; 0 = off", ge=0
    )
    drift_beta: float = param(
        0.4, "exponent of the user drift dev_u(t) = sign |t - t_u|^beta", ge=0
    )
    user_day: bool = param(True, "with time_bins: a bias per user and day (Koren's b_{u,t})")
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
