"""timeSVD++'s baseline drifts (Koren 2009) inside BPMF: per-item time-bin biases, a user drift
``alpha_u dev_u(t)`` and per-user-day biases, each a Gaussian with a learned precision."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nextbuy.models.bpmf_draws import A0, B0

#: Seconds per day: drifts and day biases are measured in days.
DAY = 86_400.0
#: Bits of the day offset in a user-day key (``user << 24 | day``: 45,000 years of days).
_DAY_BITS = 24


@dataclass
class TimeTables:
    """What prediction needs: bin edges, the three terms' posterior means, the users' days."""

    start_day: float  # first training day (bins are equal spans of [start_day, end_day])
    end_day: float
    item_bin: np.ndarray  # [n_items, bins] b_{i,Bin(t)}
    drift: np.ndarray  # [n_users] alpha_u
    mean_day: np.ndarray  # [n_users] t_u: the user's mean rating day (0 if none)
    day_keys: np.ndarray  # sorted int64 user << 24 | day index, one per (user, day) seen
    day_bias: np.ndarray  # [len(day_keys)] b_{u,t}
    #: [n_users] the user's mean drift + day term over their training ratings: the user part
    #: of a prediction without a timestamp (the drift extrapolated to "now" overshoots)
    user_offset: np.ndarray
    #: [n_users] the user's mean day term: the day term of a day the user never rated on
    user_day_mean: np.ndarray
    #: [n_users, 2] the user's first and last training day: the drift is not extrapolated
    user_span: np.ndarray

    @property
    def bins(self) -> int:
        return int(self.item_bin.shape[1])

    def bin_of(self, days: np.ndarray) -> np.ndarray:
        """Bin of each day; days outside the training span go to the first or last bin."""
        span = max(self.end_day - self.start_day, 1e-9)
        idx = np.floor((days - self.start_day) / span * self.bins).astype(np.int64)
        return np.clip(idx, 0, self.bins - 1)

    def day_group(self, users: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Index into ``day_bias`` of each (user, day); -1 where that day was never seen."""
        day = np.floor(days).astype(np.int64) - int(np.floor(self.start_day))
        ok = (day >= 0) & (day < 1 << _DAY_BITS) & (users >= 0)
        keys = (users.astype(np.int64) << _DAY_BITS) | np.where(ok, day, 0)
        if len(self.day_keys) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.day_keys, keys), len(self.day_keys) - 1)
        hit = ok & (self.day_keys[pos] == keys)
        return np.where(hit, pos, -1)

    def offsets(
        self, users: np.ndarray, items: np.ndarray, timestamps: np.ndarray, beta: float
    ) -> np.ndarray:
        """``b_{i,Bin(t)} + alpha_u dev_u(t) + b_{u,t}`` per pair (unknown IDs add nothing)."""
        days = np.asarray(timestamps, dtype=np.float64) / DAY
        ku = (users >= 0) & (users < len(self.drift))
        ki = (items >= 0) & (items < len(self.item_bin))
        su, si = np.where(ku, users, 0), np.where(ki, items, 0)
        out = np.where(ki, self.item_bin[si, self.bin_of(days)], 0.0)
        inside = np.clip(days, self.user_span[su, 0], self.user_span[su, 1])
        dev = deviation(inside - self.mean_day[su], beta)
        out = out + np.where(ku, self.drift[su] * dev, 0.0)
        if len(self.day_bias) == 0:
            return out
        group = self.day_group(np.where(ku, users, -1), days)
        unseen = np.where(ku, self.user_day_mean[su], 0.0)
        return out + np.where(group >= 0, self.day_bias[np.maximum(group, 0)], unseen)


def deviation(delta_days: np.ndarray, beta: float) -> np.ndarray:
    """Koren's ``dev_u(t) = sign(t - t_u) |t - t_u|^beta``, days from the user's mean day."""
    return np.sign(delta_days) * np.abs(delta_days) ** beta


def _draw_group(
    groups: np.ndarray,
    n_groups: int,
    x: np.ndarray | None,
    err: np.ndarray,
    w: np.ndarray,
    precision: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Conjugate draw of ``c_g`` in ``err ~ N(c_g x, 1/w)`` with prior ``N(0, 1/precision)``."""
    xw = w if x is None else w * x
    prec = precision + np.bincount(groups, xw if x is None else xw * x, n_groups)
    mean = np.bincount(groups, xw * err, n_groups) / prec
    return mean + rng.standard_normal(n_groups) / np.sqrt(prec)


class TimeSampler:
    """Gibbs state of the three time terms over the training ratings (one order of ratings)."""

    def __init__(
        self,
        users: np.ndarray,
        items: np.ndarray,
        timestamps: np.ndarray,
        shape: tuple[int, int],
        bins: int,
        beta: float,
        user_day: bool,
    ) -> None:
        n_users, n_items = shape
        days = timestamps.astype(np.float64) / DAY
        start, end = float(days.min()), float(days.max())
        counts = np.bincount(users, minlength=n_users).astype(np.float64)
        mean_day = np.bincount(users, days, n_users) / np.maximum(counts, 1.0)
        day = np.floor(days).astype(np.int64) - int(np.floor(start))
        keys, self.day_of = np.unique((users.astype(np.int64) << _DAY_BITS) | day,
                                      return_inverse=True)  # fmt: skip
        if not user_day:
            keys, self.day_of = keys[:0], None
        zeros, span = np.zeros(n_users), np.zeros((n_users, 2))
        span[:, 0], span[:, 1] = np.inf, -np.inf
        np.minimum.at(span[:, 0], users, days)
        np.maximum.at(span[:, 1], users, days)
        span[counts == 0] = 0.0
        self.tables = TimeTables(
            start, end, np.zeros((n_items, bins)), zeros, mean_day, keys, np.zeros(len(keys)),
            zeros, zeros, span,
        )  # fmt: skip
        self.users, self.counts = users, counts
        self.item_group = items * bins + self.tables.bin_of(days)
        self.dev = deviation(days - mean_day[users], beta)
        self.precisions = np.ones(3)
        self.sums = [np.zeros_like(a) for a in self._terms()]
        self.kept = 0

    def _terms(self) -> list[np.ndarray]:
        t = self.tables
        return [t.item_bin, t.drift, t.day_bias]

    def per_rating(self) -> np.ndarray:
        """The current draw's total offset of every training rating."""
        t = self.tables
        out = t.item_bin.ravel()[self.item_group] + t.drift[self.users] * self.dev
        return out if self.day_of is None else out + t.day_bias[self.day_of]

    def sample(self, err: np.ndarray, w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One sweep over the terms given ``err`` (residual without them); the new offsets."""
        t, lam = self.tables, self.precisions
        drift_part = t.drift[self.users] * self.dev
        day_part = 0.0 if self.day_of is None else t.day_bias[self.day_of]
        flat = _draw_group(self.item_group, t.item_bin.size, None, err - drift_part - day_part,
                           w, lam[0], rng)  # fmt: skip
        t.item_bin = flat.reshape(t.item_bin.shape)
        item_part = flat[self.item_group]
        t.drift = _draw_group(self.users, len(t.drift), self.dev, err - item_part - day_part,
                              w, lam[1], rng)  # fmt: skip
        drift_part = t.drift[self.users] * self.dev
        if self.day_of is not None:
            t.day_bias = _draw_group(self.day_of, len(t.day_bias), None,
                                     err - item_part - drift_part, w, lam[2], rng)  # fmt: skip
        for k, term in enumerate(self._terms()):
            if term.size:  # Gamma posterior of each term's prior precision
                rate = B0 + 0.5 * float((term**2).sum())
                lam[k] = rng.gamma(A0 + term.size / 2.0, 1.0 / rate)
        return self.per_rating()

    def keep(self) -> None:
        """Add the current draw to the posterior average."""
        for total, term in zip(self.sums, self._terms(), strict=True):
            total += term
        self.kept += 1

    def posterior_mean(self) -> TimeTables:
        """The averaged tables (the current draw when nothing was kept)."""
        t, n = self.tables, max(self.kept, 1)
        item_bin, drift, day_bias = (s / n for s in self.sums) if self.kept else self._terms()
        n_users, counts = len(drift), np.maximum(self.counts, 1.0)
        day_part = np.zeros(len(self.users)) if self.day_of is None else day_bias[self.day_of]
        day_mean = np.bincount(self.users, day_part, n_users) / counts
        offset = np.bincount(self.users, drift[self.users] * self.dev, n_users) / counts + day_mean
        return TimeTables(t.start_day, t.end_day, item_bin, drift, t.mean_day, t.day_keys,
                          day_bias, offset, day_mean, t.user_span)  # fmt: skip
