"""Live numbers and model changes: traffic from the metrics registry, what-if against a real
event, promotion, and a training job started from the dashboard."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from nextbuy.artifacts import LATEST, list_versions
from nextbuy.serving.metrics import LATENCY_BUCKETS
from nextbuy.serving.options import RecommendOptions
from nextbuy.serving.ui import auth, lifecycle
from nextbuy.serving.ui.traffic import TrafficWindow, quantile_ms
from tests.conftest import untag
from tests.ui.conftest import API_KEY, Models, log_in, train_shop_models, ui_client


def tile(html: str, label: str) -> str:
    match = re.search(rf"<b[^>]*>([^<]*)</b>{re.escape(label)}", html)
    assert match, label
    return match.group(1)


def test_quantiles_interpolate_inside_their_bucket():
    cumulative = np.zeros(len(LATENCY_BUCKETS) + 1)
    i = LATENCY_BUCKETS.index(0.01)  # 100 requests between 7.5 and 10 ms
    cumulative[i:] = 100
    assert quantile_ms(cumulative, 0.5) == pytest.approx(8.75)
    assert quantile_ms(cumulative, 0.99) == pytest.approx(7.5 + 0.99 * 2.5)
    assert quantile_ms(np.zeros_like(cumulative), 0.5) is None
    cumulative[-1] = 1000  # most beyond the last bound: the bound is reported
    assert quantile_ms(cumulative, 0.99) == LATENCY_BUCKETS[-1] * 1000


def test_traffic_counts_api_requests_fallbacks_cache_and_events(open_client: TestClient):
    app = open_client.app
    window = TrafficWindow(app.state.metrics, started=time.time() - 10)  # type: ignore[attr-defined]
    for i in range(6):
        open_client.get(f"/recommend/u0000{i % 3}")  # 3 misses, then 3 hits
    for i in range(2):
        open_client.get(f"/recommend/stranger-{i}")  # fallbacks
    open_client.get("/ui")  # the dashboard's own requests do not count
    events = [{"user_id": "u00001", "item_id": "p00002", "event": "view"}] * 3
    assert open_client.post("/events", json=events).status_code == 200
    traffic = window.read()
    assert traffic.requests_per_s * traffic.seconds == pytest.approx(9, abs=0.01)
    assert traffic.fallback_share == pytest.approx(2 / 8)
    assert traffic.cache_hit_ratio == pytest.approx(3 / 8)
    assert traffic.events_per_min * traffic.seconds / 60 == pytest.approx(3)
    assert traffic.p50_ms is not None and traffic.p99_ms >= traffic.p50_ms
    html = open_client.get("/ui/fragments/traffic").text
    assert tile(html, "fallback share").endswith("%") and tile(html, "events/min") != "–"


def test_what_if_matches_the_answer_after_posting_the_event(open_client: TestClient):
    service = open_client.app.state.service  # type: ignore[attr-defined]
    user, item = "u00005", open_client.get("/popular?k=300").json()["items"][-1]["item_id"]
    options = RecommendOptions(k=10)
    imagined = service.recommend_what_if(user, [(item, "purchase", 2.0)], options)
    assert untag(open_client.get(f"/recommend/{user}?k=10").json()) != imagined
    event = {"user_id": user, "item_id": item, "event": "purchase", "value": 2}
    assert open_client.post("/events", json=event).json()["stored"] == 1
    assert untag(open_client.get(f"/recommend/{user}?k=10").json()) == imagined
    new_user = service.recommend_what_if("brand-new", [(item, "view", 1.0)], options)
    assert new_user["strategy"] == "personalized"


def test_promote_switches_latest_and_the_served_version(models_copy: Path, ui_models: Models):
    base = models_copy / "als"
    train_shop_models(ui_models.shop, models_copy)  # a second version of als (and mf)
    old, new = list_versions(base)
    with ui_client(base, api_key=API_KEY) as client:
        assert client.get("/model").json()["version"] == new
        service = client.app.state.service  # type: ignore[attr-defined]
        outcome = lifecycle.promote(service, old)
        assert outcome["version"] == old and outcome["previous_version"] == new
        assert (base / LATEST).read_text().strip() == old
        assert client.get("/model").json()["version"] == old
        with pytest.raises(lifecycle.PromotionError, match="not a version"):
            lifecycle.promote(service, "20990101T000000Z-deadbeef")
        assert (base / LATEST).read_text().strip() == old
        token = log_in(client)
        html = client.get("/ui/experiments").text
        assert html.count("promote</button>") == 1  # the version not served
        client.post(f"/ui/versions/{new}/promote", headers={auth.CSRF_HEADER: token})
        assert client.get("/model").json()["version"] == new


def test_training_from_the_dashboard_then_compare_and_promote(keyed_client: TestClient):
    token = log_in(keyed_client)
    form = keyed_client.get("/ui/training").text
    data = re.search(r'name="data" value="" placeholder="([^"]+)"', form).group(1)
    assert data.endswith("interactions.csv")
    served = keyed_client.get("/model").json()["version"]
    response = keyed_client.post(
        "/ui/training",
        data={"csrf_token": token, "data": data, "model": "als", "split": "user",
              "test_fraction": "0.2", "params": '{"factors": 8, "iterations": 3}'},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    job_id = re.search(r"/ui/training\?job=([0-9a-f]{12})", response.headers["hx-push-url"]).group(
        1
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        html = keyed_client.get(f"/ui/training/jobs/{job_id}").text
        if 'data-status="succeeded"' in html or 'data-status="failed"' in html:
            break
        assert 'hx-trigger="every 1s"' in html
        time.sleep(0.5)
    assert 'data-status="succeeded"' in html, html
    assert 'id="compare"' in html and "ndcg@10" in html and 'id="promote"' in html
    new = keyed_client.get(f"/train/{job_id}", headers={"X-API-Key": API_KEY}).json()["version"]
    assert keyed_client.get("/model").json()["version"] == served  # not served until promoted
    keyed_client.post(f"/ui/versions/{new}/promote", headers={auth.CSRF_HEADER: token})
    assert keyed_client.get("/model").json()["version"] == new
    assert "This version is being served" in keyed_client.get(f"/ui/training?job={job_id}").text
    bad = keyed_client.post(
        "/ui/training", data={"csrf_token": token, "data": "no/such.csv", "params": "{}"}
    )
    assert bad.status_code == 422 and "does not exist" in bad.text


def wait_for_ui_job(client: TestClient, job_id: str) -> str:
    """Poll the job's fragment (as htmx does) until it ends; its last HTML."""
    deadline = time.time() + 120
    while time.time() < deadline:
        html = client.get(f"/ui/training/jobs/{job_id}").text
        if 'data-status="succeeded"' in html or 'data-status="failed"' in html:
            return html
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} still running after 120 s")


def test_the_untouched_training_form_retrains_like_an_empty_post_train(
    keyed_client: TestClient,
):
    """No file to give: every field blank (as the page shows it) retrains the served model's
    family and parameters on its recorded file plus the stored events, as ``POST /train {}``."""
    token = log_in(keyed_client)
    form = keyed_client.get("/ui/training").text
    assert re.search(r'name="data" value="" placeholder="[^"]*interactions\.csv"', form)
    assert 'name="data" value="" placeholder' in form and "required" not in form
    event = {"event_id": "ui-blank-1", "user_id": "ui-newcomer", "item_id": "p00003",
             "event": "purchase"}  # fmt: skip
    assert keyed_client.post("/events", json=[event]).json()["stored"] == 1
    blank = {"csrf_token": token, "data": "", "items": "", "model": "", "split": "",
             "test_fraction": "", "params": ""}  # fmt: skip
    response = keyed_client.post("/ui/training", data=blank, follow_redirects=False)
    assert response.status_code == 303, response.text
    job_id = response.headers["location"].rsplit("=", 1)[1]
    assert 'data-status="succeeded"' in wait_for_ui_job(keyed_client, job_id)
    job = keyed_client.get(f"/train/{job_id}", headers={"X-API-Key": API_KEY}).json()
    served = keyed_client.get("/model").json()
    request = job["request"]
    assert request["events"] is True and request["model"] == served["model"] == "als"
    assert request["name"] == "als" and "interactions.csv" in request["data"]
    assert request["params"] == {}  # no overrides: the served parameters
