"""The API's routers, one per resource; ``app.create_app`` includes them all."""

from nextbuy.serving.routes import (
    admin,
    catalog,
    compat,
    events,
    experiments,
    health,
    items,
    predict,
    recommend,
    train,
)

ROUTERS = (
    recommend.router,
    predict.router,
    items.router,
    items.popular_router,
    events.router,
    catalog.router,
    health.router,
    admin.router,
    train.router,
    compat.router,
    experiments.router,
)

__all__ = ["ROUTERS"]
