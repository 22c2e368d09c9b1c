"""New items: ridge regression from catalog attributes to the model's item space.

Ridge from attribute features X (one row per trained item) to any item representation V
predicts ``v_new = v_mean + (x_new - x_mean) G Xc^T V`` with ``G = (Xc^T Xc + alpha I)^-1``.
That is an affine combination ``a_new @ V`` whose weights do not depend on V, and every model's
scores are linear in its item columns (factors, EASE or kNN weights), so
``score(u, new) = scores(u, :) @ a_new``. One closed form, fitted at training time, serves
factor models and neighbourhood models alike; the weights sum to one, so user offsets carry over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from nextbuy.errors import ArtifactError

_WORD = r"[a-z0-9]+(?:-[a-z0-9]+)*"
FILES = ("attr_gram_inv.npy", "attr_features.npz", "attr_mean.npy", "attr_vocab.json")


@dataclass
class ItemFeaturizer:
    """Sparse binary features from category, brand and the words of the name (+ log price)."""

    categories: list[str]
    brands: list[str]
    words: list[str]
    price_mean: float
    price_std: float

    @classmethod
    def fit(
        cls, catalog: pd.DataFrame, min_word_items: int = 2, max_words: int = 4000
    ) -> ItemFeaturizer:
        """Vocabulary from a catalog: every category and brand, words used by >= 2 items."""
        cats = _column(catalog, "category")
        brands = _column(catalog, "brand")
        words = _words(catalog)
        per_item = words.rename_axis("row").reset_index(name="word").drop_duplicates()
        counts = per_item["word"].value_counts()
        counts = counts[counts >= min_word_items].head(max_words)
        price = (
            np.log1p(pd.to_numeric(catalog.get("price"), errors="coerce"))
            if "price" in catalog
            else None
        )
        ok = price[np.isfinite(price)] if price is not None else np.empty(0)
        return cls(
            categories=sorted(set(cats[cats != ""])),
            brands=sorted(set(brands[brands != ""])),
            words=sorted(counts.index),
            price_mean=float(ok.mean()) if len(ok) else 0.0,
            price_std=float(ok.std()) if len(ok) > 1 and ok.std() > 0 else 1.0,
        )

    @property
    def n_features(self) -> int:
        return len(self.categories) + len(self.brands) + len(self.words) + 1

    def transform(self, catalog: pd.DataFrame) -> sp.csr_matrix:
        """One L2-normalized feature row per catalog row (unknown values simply add nothing)."""
        n = len(catalog)
        blocks = []
        offset = 0
        for vocab, values in (
            (self.categories, _column(catalog, "category")),
            (self.brands, _column(catalog, "brand")),
        ):
            col = pd.Index(vocab).get_indexer(values)
            rows = np.flatnonzero(col >= 0)
            blocks.append((rows, col[rows] + offset, np.ones(len(rows), np.float32)))
            offset += len(vocab)
        words = _words(catalog)
        col = pd.Index(self.words).get_indexer(words.to_numpy())
        keep = col >= 0
        rows = words.index.to_numpy()[keep]
        blocks.append((rows, col[keep] + offset, np.full(keep.sum(), 0.5, np.float32)))
        offset += len(self.words)
        if "price" in catalog:
            price = np.log1p(pd.to_numeric(catalog["price"], errors="coerce").to_numpy(np.float64))
            z = np.where(np.isfinite(price), (price - self.price_mean) / self.price_std, 0.0)
            blocks.append((np.arange(n), np.full(n, offset), (0.3 * z).astype(np.float32)))
        r, c, v = (np.concatenate(parts) for parts in zip(*blocks, strict=True))
        x = sp.csr_matrix((v, (r, c)), shape=(n, self.n_features), dtype=np.float32)
        x.sum_duplicates()
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        return sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ x)


@dataclass
class AttributeRidge:
    """Closed-form ridge from item attributes to item representations (see module docstring)."""

    featurizer: ItemFeaturizer
    gram_inv: np.ndarray  # (n_features, n_features)
    features: sp.csr_matrix  # (n_items, n_features) of the trained items
    mean: np.ndarray  # (n_features,) column means of ``features``
    alpha: float

    @classmethod
    def fit(cls, catalog: pd.DataFrame, alpha: float = 1.0) -> AttributeRidge:
        """Fit on the trained items' catalog (row i = item i, as artifacts store it)."""
        featurizer = ItemFeaturizer.fit(catalog)
        x = featurizer.transform(catalog)
        n = x.shape[0]
        mean = np.asarray(x.mean(axis=0)).ravel()
        gram = (x.T @ x).toarray().astype(np.float64) - n * np.outer(mean, mean)
        gram[np.diag_indices_from(gram)] += alpha
        gram_inv = np.linalg.inv(gram).astype(np.float32)
        return cls(featurizer, gram_inv, x, mean.astype(np.float32), float(alpha))

    @property
    def n_items(self) -> int:
        return int(self.features.shape[0])

    def weights(self, catalog: pd.DataFrame) -> np.ndarray:
        """Affine weights over trained items, one row per new item; each row sums to one."""
        z = (self.featurizer.transform(catalog).toarray() - self.mean) @ self.gram_inv
        a = np.asarray((self.features @ z.T).T)  # z X^T
        a -= (z @ self.mean)[:, None]  # centre X's columns: z (X - 1 mean)^T
        a += 1.0 / self.n_items
        return a.astype(np.float32)

    def save(self, path: Path) -> None:
        """Write arrays (.npy/.npz) and the vocabulary (JSON); no pickle."""
        np.save(path / FILES[0], self.gram_inv, allow_pickle=False)
        sp.save_npz(path / FILES[1], self.features, compressed=False)
        np.save(path / FILES[2], self.mean, allow_pickle=False)
        f = self.featurizer
        vocab = {
            "alpha": self.alpha,
            "categories": f.categories,
            "brands": f.brands,
            "words": f.words,
            "price_mean": f.price_mean,
            "price_std": f.price_std,
        }
        (path / FILES[3]).write_text(json.dumps(vocab))

    @classmethod
    def load(cls, path: Path) -> AttributeRidge:
        try:
            vocab = json.loads((path / FILES[3]).read_text())
            featurizer = ItemFeaturizer(
                vocab["categories"],
                vocab["brands"],
                vocab["words"],
                vocab["price_mean"],
                vocab["price_std"],
            )
            return cls(
                featurizer,
                np.load(path / FILES[0], allow_pickle=False),
                sp.load_npz(path / FILES[1]).tocsr(),
                np.load(path / FILES[2], allow_pickle=False),
                float(vocab["alpha"]),
            )
        except (OSError, KeyError, ValueError) as exc:
            raise ArtifactError(f"{path}: cannot read the item-attribute model ({exc})") from exc


def has_attributes(catalog: pd.DataFrame | None) -> bool:
    """True when a catalog carries anything to learn from (category, brand or name)."""
    if catalog is None:
        return False
    return any(
        col in catalog and (catalog[col].fillna("").astype(str) != "").any()
        for col in ("category", "brand", "name")
    )


def _column(catalog: pd.DataFrame, name: str) -> np.ndarray:
    if name not in catalog:
        return np.full(len(catalog), "", dtype=object)
    return catalog[name].fillna("").astype(str).str.strip().to_numpy(dtype=object)


def _words(catalog: pd.DataFrame) -> pd.Series:
    """Lower-cased words of each name, exploded; the index is the catalog row position."""
    names = pd.Series(_column(catalog, "name"), index=np.arange(len(catalog)), dtype=object)
    words = names.str.lower().str.findall(_WORD).explode().dropna()
    return words.astype(str)
