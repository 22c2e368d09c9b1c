"""The dashboard's pages and the fragments htmx loads into them (all GET, all read-only).

``/ui`` overview, ``/ui/users/{user_id}``, ``/ui/items/{item_id}``, ``/ui/experiments`` and
``/ui/training``, with search forms leading to them. Pages follow the API key rule
(:mod:`.auth`); every number comes from the service's public methods (:mod:`.views`).
"""

from __future__ import annotations

import logging
import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nextbuy.errors import NextBuyError
from nextbuy.serving.deps import Jobs, Service, Settings
from nextbuy.serving.errors import NoSimilarityError, UnknownItemError
from nextbuy.serving.online import OnlineLayer
from nextbuy.serving.ui import views
from nextbuy.serving.ui.auth import Reader
from nextbuy.serving.ui.state import UiState, get_ui
from nextbuy.serving.ui.templating import render

router = APIRouter(prefix="/ui", include_in_schema=False)
Ui = Annotated[UiState, Depends(get_ui)]
#: IDs in paths and queries: plain text of bounded length.
Text = Annotated[str, Query(max_length=200)]


async def optional_online(request: Request) -> OnlineLayer | None:
    """The online layer when the server records events (pages work without one)."""
    online: OnlineLayer | None = request.app.state.online
    return online if online is not None and online.store is not None else None


Online = Annotated[OnlineLayer | None, Depends(optional_online)]


def _page(
    request: Request, template: str, access: Any, active: str, **context: Any
) -> HTMLResponse:
    return render(request, template, access=access, active=active, **context)


# ---------------------------------------------------------------------- overview
@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def overview(request: Request, access: Reader, service: Service) -> HTMLResponse:
    """Model card, live traffic, catalog coverage (the last two load as fragments)."""
    card = service.model_card()
    return _page(
        request, "overview.html", access, "overview",
        card=card, metrics=views.metric_rows(card["metrics"]), latest=views.latest_of(service),
    )  # fmt: skip


@router.get("/fragments/traffic", response_class=HTMLResponse)
def traffic(request: Request, access: Reader, ui: Ui) -> HTMLResponse:
    """Requests/s, p50/p99, fallback share, cache hits, events/min (polled every 2 s)."""
    now = ui.traffic.read()
    chart = {"kind": "line", "x": now.series["t"], "time": True, "series": [
        {"label": "requests/s", "values": now.series["rps"]},
        {"label": "p99 ms", "values": now.series["p99"], "axis": 1},
    ]}  # fmt: skip
    return render(request, "_traffic.html", traffic=now, chart=chart)


@router.get("/fragments/coverage", response_class=HTMLResponse)
def coverage(request: Request, access: Reader, service: Service, ui: Ui) -> HTMLResponse:
    """Share of the catalog in the sampled users' top 10 (``recommend_batch``)."""
    lookup = ui.lookup(service)
    return render(request, "_coverage.html", cov=views.coverage(service, ui, lookup))


@router.get("/fragments/baselines", response_class=HTMLResponse)
def baselines(request: Request, access: Reader, service: Service, ui: Ui) -> HTMLResponse:
    """The served version against the baselines on its held-out data, with intervals."""
    snapshot = service.snapshot
    data = ui.reports.get(snapshot.version)
    if data is None:
        from nextbuy.reporting.build import build_report

        names = ("popularity", "itemknn") if snapshot.n_items <= 50_000 else ("popularity",)
        try:
            data = build_report(snapshot.artifact.path, baselines=names)
        except (NextBuyError, OSError, ValueError) as exc:
            data = f"no baseline comparison: {exc}"
        ui.reports[snapshot.version] = data
    return render(request, "_baselines.html", data=data, isnan=math.isnan)


# ---------------------------------------------------------------------- users
@router.get("/users", response_class=HTMLResponse)
def find_user(request: Request, access: Reader, service: Service, ui: Ui, q: Text = "") -> Response:
    """Search users by ID prefix; an exact ID goes straight to the user's page."""
    lookup = ui.lookup(service)
    q = q.strip()
    matches = views.search_users(lookup, q) if q else []
    if q and q in matches:
        return RedirectResponse(request.url_for("user_page", user_id=q), status_code=303)
    return _page(request, "users.html", access, "users", q=q, matches=matches,
                 examples=[str(u) for u in lookup.user_ids[:8]])  # fmt: skip


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_page(
    request: Request, user_id: str, access: Reader, service: Service, ui: Ui, online: Online
) -> HTMLResponse:
    """History as a timeline, current recommendations with reasons, the what-if box."""
    snapshot = service.snapshot
    lookup = ui.lookup(service)
    answer = service.recommend(user_id, views.recommend_options(explain=True))
    activity = ui.activity.get(snapshot.version, snapshot.artifact.manifest)
    events, note = views.timeline(service, lookup, online, activity, user_id)
    history = snapshot.histories.get(user_id) if snapshot.histories is not None else None
    candidates = views.info(
        service, lookup, [str(snapshot.item_ids[i]) for i in lookup.item_order[:300]]
    )
    return _page(
        request, "user.html", access, "users",
        user_id=user_id, answer=answer, recs=views.recommendations(service, lookup, answer),
        known=snapshot.artifact.user_map.index_of(user_id) >= 0,
        n_since=0 if history is None else len(history), events=events, timeline_note=note,
        event_types=views.event_types(service), candidates=candidates,
        rating=snapshot.predicts_ratings, rating_range=snapshot.rating_range,
    )  # fmt: skip


@router.get("/users/{user_id}/what-if", response_class=HTMLResponse)
def what_if(
    request: Request, user_id: str, access: Reader, service: Service, ui: Ui, settings: Settings,
    item_id: Text, event: Annotated[str, Query(max_length=40)] = "view",
    value: Annotated[float, Query(gt=0, le=1e6)] = 1.0,
) -> HTMLResponse:  # fmt: skip
    """The list after one hypothetical event, beside the current one; nothing is stored."""
    lookup = ui.lookup(service)
    item_id = item_id.strip()
    error = None
    if lookup.item_index.get_indexer([item_id])[0] < 0:
        error = f"no item {item_id!r} in the catalog"
    elif event not in views.event_types(service):
        error = f"event type {event!r} is not one of {', '.join(views.event_types(service))}"
    if error is not None:
        return render(request, "_whatif.html", error=error, status_code=422)
    options = views.recommend_options()
    before = service.recommend(user_id, options)
    after = service.recommend_what_if(user_id, [(item_id, event, value)], options)
    added = views.info(service, lookup, [item_id])[0]
    cmp = views.compare_lists(before, after, lookup)
    return render(request, "_whatif.html", error=None, cmp=cmp, added=added, event=event,
                  value=value)  # fmt: skip


# ---------------------------------------------------------------------- items
@router.get("/items", response_class=HTMLResponse)
def find_item(request: Request, access: Reader, service: Service, ui: Ui, q: Text = "") -> Response:
    """Search the catalog by ID, name, brand or category (most popular first)."""
    lookup = ui.lookup(service)
    q = q.strip()
    if q and lookup.item_index.get_indexer([q])[0] >= 0:
        return RedirectResponse(request.url_for("item_page", item_id=q), status_code=303)
    ids = views.search_items(lookup, q)
    snapshot = service.snapshot
    found = views.info(service, lookup, [str(snapshot.item_ids[i]) for i in ids.tolist()])
    return _page(request, "items.html", access, "items", q=q, found=found)


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item_page(
    request: Request, item_id: str, access: Reader, service: Service, ui: Ui
) -> HTMLResponse:
    """An item's details, similar items, popularity over time and its audience."""
    lookup = ui.lookup(service)
    try:
        detail = service.item(item_id)
    except UnknownItemError as exc:
        return _page(
            request, "missing.html", access, "items", status_code=404, message=str(exc.args[0])
        )
    similar: list[dict[str, Any]] = []
    try:
        answer = service.similar(item_id, 10)
        similar = [views.decorate(i, lookup) for i in answer["items"]]
        method, similar_note = answer["method"], None
    except (NoSimilarityError, UnknownItemError) as exc:
        method, similar_note = None, str(exc.args[0])
    snapshot = service.snapshot
    activity = ui.activity.get(snapshot.version, snapshot.artifact.manifest)
    chart, chart_note = None, None
    if isinstance(activity, str):
        chart_note = activity
    else:
        weeks, counts = activity.item_weeks(item_id)
        if weeks and sum(counts):
            series = [{"label": "training interactions per week", "values": counts}]
            chart = {"kind": "bars", "x": weeks, "time": True, "series": series}
        else:
            chart_note = "no dated training interactions for this item"
    exposure = ui.exposure.get()
    audience = exposure.audience(item_id, 10)
    reach = int((exposure.item_ids == item_id).any(axis=1).sum())
    return _page(
        request, "item.html", access, "items",
        item=views.decorate(detail, lookup), similar=similar, method=method,
        similar_note=similar_note, chart=chart, chart_note=chart_note, audience=audience,
        reach=reach, sampled=exposure.n_users,
    )  # fmt: skip


# ---------------------------------------------------------------------- experiments, training
@router.get("/experiments", response_class=HTMLResponse)
def experiments(request: Request, access: Reader, service: Service) -> HTMLResponse:
    """The A/B experiments of this data set with their per-variant reports, and the served
    model's versions."""
    rows = views.versions(service)
    return _page(
        request, "experiments.html", access, "experiments",
        experiments=_experiment_reports(request), versions=rows, chart=views.version_chart(rows),
        name=service.snapshot.name, served=service.snapshot.version,
        latest=views.latest_of(service),
    )  # fmt: skip


def _experiment_reports(request: Request) -> list[dict[str, Any]]:
    """Each stored experiment's report (newest first); none when the store cannot be read."""
    from nextbuy.experiments import manage

    router_ = getattr(request.app.state, "experiments", None)
    store = None if router_ is None else router_.store
    if store is None:
        return []
    try:
        found = manage.list_all(store)
        reports = [manage.report(store, e.experiment_id, 24 * 3600, None) for e in found]
        for exp, one in zip(found, reports, strict=True):
            one["chart"] = views.experiment_chart(manage.daily(store, exp.experiment_id))
    except Exception:  # the store is down: the page still shows the versions
        logging.getLogger("nextbuy.serving").warning("experiments page: no reports", exc_info=True)
        return []
    return sorted(reports, key=lambda r: str(r["experiment_id"]), reverse=True)


@router.get("/training", response_class=HTMLResponse)
def training(
    request: Request, access: Reader, service: Service, jobs: Jobs,
    job: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:  # fmt: skip
    """Start a retraining job, watch it, compare and promote (the form needs a session)."""
    from nextbuy.serving.ui.actions import job_context, training_defaults

    context = job_context(jobs, service, job) if job else {}
    return _page(request, "training.html", access, "training",
                 defaults=training_defaults(service), job_id=job, **context)  # fmt: skip
