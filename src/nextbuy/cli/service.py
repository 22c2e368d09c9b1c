"""The CLI's only door to the serving layer: the HTTP API's own service, in process, read-only.

``recommend``, ``similar``, ``batch`` and ``predict`` answer through
:class:`~nextbuy.serving.service.RecommendationService`, so stock, business rules, fallbacks
and the JSON shape are those of the API. Serving names are imported here and nowhere else in
the CLI; the rules come from the same ``NEXTBUY_*`` variables the server reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from nextbuy.errors import NextBuyError
from nextbuy.serving.errors import UnknownItemError
from nextbuy.serving.options import RecommendOptions as Options
from nextbuy.serving.recommending import BatchArrays
from nextbuy.serving.service import RecommendationService
from nextbuy.serving.settings import ServingSettings

T = TypeVar("T")

#: ``strategy`` of a ``predict --pairs`` row whose item the model does not know.
UNKNOWN_ITEM = "unknown_item"


@dataclass(frozen=True)
class Served:
    """A loaded, read-only service and what the CLI shows about it (names in titles)."""

    service: RecommendationService
    version_dir: Path
    name: str

    def recommend(self, user_id: str, k: int) -> dict[str, Any]:
        """The answer of ``GET /recommend/{user_id}?k=``."""
        return _asked(lambda: self.service.recommend(user_id, Options(k=k)))

    def recommend_batch(self, user_ids: Sequence[str], k: int) -> dict[str, Any]:
        """The answer of ``POST /recommend/batch`` (no batch-size limit in process)."""
        return _asked(lambda: self.service.recommend_batch(user_ids, Options(k=k)))

    def recommend_batch_arrays(self, user_ids: Sequence[str], k: int) -> tuple[Any, BatchArrays]:
        """:meth:`recommend_batch` as arrays, on every core, with the item IDs they index."""
        snapshot, found = _asked(
            lambda: self.service.recommend_batch_arrays(user_ids, Options(k=k))
        )
        return snapshot.item_ids, found

    def similar(self, item_id: str, k: int, include_out_of_stock: bool) -> dict[str, Any]:
        """The answer of ``GET /items/{item_id}/similar?k=&include_out_of_stock=``."""
        return _asked(lambda: self.service.similar(item_id, k, include_out_of_stock))

    def predict(self, user_id: str, item_id: str) -> dict[str, Any]:
        """The answer of ``POST /predict/rating``."""
        return _asked(lambda: self.service.predict(user_id, item_id))

    def predict_row(self, user_id: str, item_id: str) -> dict[str, Any]:
        """:meth:`predict`, except that an item the model does not know (a 404 over HTTP)
        gives ``prediction: None`` and ``strategy: "unknown_item"`` instead of an error, so one
        such row does not abort a whole ``--pairs`` file."""
        try:
            return self.service.predict(user_id, item_id)
        except UnknownItemError:
            return {"prediction": None, "strategy": UNKNOWN_ITEM}

    def user_ids(self) -> list[str]:
        """Every user the model was trained on, in index order (``nextbuy batch`` default)."""
        from nextbuy.artifacts import USERS_FILE
        from nextbuy.data.ids import IdMap

        return list(IdMap.load(self.version_dir / USERS_FILE, column="user_id").ids)


def open_service(model_dir: Path) -> Served:
    """Load ``model_dir`` (MODELS_DIR/NAME or a version folder) as the server would, offline.

    ``online=False``: the event store is neither opened nor created; the trained catalog's
    stock flags and the configured business rules apply as in ``nextbuy serve --read-only``.
    """
    from nextbuy.artifacts import resolve_version_dir

    version_dir = resolve_version_dir(model_dir)
    fields: dict[str, Any] = {"model_dir": version_dir, "online": False}
    service = RecommendationService(ServingSettings(**fields))  # NEXTBUY_* supply the rest
    service.load()
    return Served(service, version_dir, str(service.model_card()["name"]))


def _asked(call: Callable[[], T]) -> T:
    """``call()``, with the service's unknown-item errors (404 over HTTP) turned into a
    one-line :class:`NextBuyError` (exit code 2) worded as the API words them."""
    try:
        return call()
    except (KeyError, IndexError):
        raise  # a bug, not a user mistake
    except LookupError as exc:  # unknown item, no item similarity: the API answers 404
        raise NextBuyError(str(exc.args[0])) from exc
