"""Every dashboard page over HTTP (no key configured): what each one shows, from real models."""

from __future__ import annotations

import json
import re
from html import unescape

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from tests.conftest import untag
from tests.ui.conftest import API_KEY, Models, log_in

PAGES = ["/ui", "/ui/users", "/ui/users/u00001", "/ui/items", "/ui/items?q=books",
         "/ui/experiments", "/ui/training", "/ui/login"]  # fmt: skip
FRAGMENTS = ["/ui/fragments/traffic", "/ui/fragments/coverage", "/ui/fragments/baselines"]


def chart_data(html: str, chart: str) -> dict:
    """The JSON spec of the chart element ``chart`` (what app.js draws)."""
    match = re.search(rf"id=\"{chart}\" data-spec='([^']*)'", html)
    assert match, f"no chart {chart}"
    return json.loads(unescape(match.group(1)))


def test_every_page_answers_html_with_strict_headers(open_client: TestClient):
    for path in PAGES + FRAGMENTS:
        response = open_client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert response.headers["content-type"].startswith("text/html")
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "<script>" not in response.text  # no inline scripts (the CSP would block them)
    assert "open · read-only" in open_client.get("/ui").text
    assert "No API key is configured" in open_client.get("/ui/login").text


def test_static_files_are_vendored_with_licences(open_client: TestClient):
    for name in ("htmx.min.js", "uPlot.iife.min.js", "uPlot.min.css", "app.js", "app.css",
                 "htmx.LICENSE", "uPlot.LICENSE"):  # fmt: skip
        response = open_client.get(f"/ui/static/{name}")
        assert response.status_code == 200 and len(response.content) > 100, name
    assert "htmx" in open_client.get("/ui/static/htmx.min.js").text


def test_overview_shows_the_model_card_and_metrics(open_client: TestClient):
    card = open_client.get("/model").json()
    html = open_client.get("/ui").text
    assert card["version"] in html and "Model card" in html
    assert f"{card['metrics']['ndcg@10']:.4f}" in html
    baselines = open_client.get("/ui/fragments/baselines").text
    assert "popularity" in baselines and "itemknn" in baselines
    assert f"{card['metrics']['ndcg@10']:.4f}" in baselines  # same number, re-evaluated


def test_coverage_counts_the_sampled_users_top_10(open_client: TestClient):
    html = open_client.get("/ui/fragments/coverage").text
    users = open_client.get("/model").json()["n_users"]
    answer = open_client.post(
        "/recommend/batch", json={"user_ids": [f"u{i:05d}" for i in range(users)], "k": 10}
    ).json()
    ids = {r["item_id"] for result in answer["results"] for r in result["recommendations"]}
    n_items = open_client.get("/model").json()["n_items"]
    assert f"{100 * len(ids) / n_items:.1f}%" in html
    assert f"{n_items - len(ids):,}" in html


def test_user_page_shows_history_recommendations_and_reasons(open_client: TestClient,
                                                             ui_models: Models):  # fmt: skip
    events = pd.read_csv(ui_models.shop / "interactions.csv", dtype=str)
    items = pd.read_csv(ui_models.shop / "items.csv", dtype=str).set_index("item_id")
    user = "u00001"
    html = open_client.get(f"/ui/users/{user}").text
    answer = open_client.get(f"/recommend/{user}?k=10").json()
    for rec in answer["recommendations"]:
        assert f'data-item="{rec["item_id"]}"' in html
    assert html.count("because of") == 10  # ALS explains every item
    latest = events[events.user_id == user].astype({"timestamp": int}).nlargest(1, "timestamp")
    assert items.loc[latest.item_id.iloc[0], "name"] in html
    assert "A/B variant" in html


def test_what_if_scores_without_storing(open_client: TestClient):
    user = "u00002"
    before = untag(open_client.get(f"/recommend/{user}?k=10").json())
    categories = {r["category"] for r in before["recommendations"]}
    other = open_client.get("/popular?k=100").json()["items"]
    pick = next(i for i in other if i["category"] not in categories)
    html = open_client.get(
        f"/ui/users/{user}/what-if", params={"item_id": pick["item_id"], "event": "purchase"}
    ).text
    assert "the list changes" in html
    assert untag(open_client.get(f"/recommend/{user}?k=10").json()) == before  # nothing stored
    assert open_client.get(f"/ui/users/{user}").text.count('class="tag posted"') == 0
    bad = open_client.get(f"/ui/users/{user}/what-if", params={"item_id": "nope"})
    assert bad.status_code == 422 and "no item" in bad.text


def test_item_page_shows_neighbours_trend_and_audience(open_client: TestClient, ui_models: Models):
    events = pd.read_csv(ui_models.shop / "interactions.csv", dtype={"item_id": str})
    item = str(events.item_id.value_counts().index[0])
    html = open_client.get(f"/ui/items/{item}").text
    similar = open_client.get(f"/items/{item}/similar?k=10").json()["items"]
    for neighbour in similar:
        assert neighbour["item_id"] in html
    chart = chart_data(html, "popularity-chart")
    assert sum(chart["series"][0]["values"]) == int((events.item_id == item).sum())
    assert np.all(np.diff(chart["x"]) == 7 * 24 * 3600)
    assert 'id="audience"' in html or "Nobody in the sample" in html
    missing = open_client.get("/ui/items/not-an-item")
    assert missing.status_code == 404 and "not-an-item" in missing.text


def test_searches_lead_to_the_pages(open_client: TestClient):
    exact = open_client.get("/ui/users", params={"q": "u00003"}, follow_redirects=False)
    assert exact.status_code == 303 and exact.headers["location"].endswith("/ui/users/u00003")
    prefix = open_client.get("/ui/users", params={"q": "u0000"}).text
    assert prefix.count('href="/ui/users/u0000') == 10
    unknown = open_client.get("/ui/users", params={"q": "zz-new"}).text
    assert "/ui/users/zz-new" in unknown
    item = open_client.get("/ui/items", params={"q": "p00001"}, follow_redirects=False)
    assert item.status_code == 303
    brand = open_client.get("/popular?k=1").json()["items"][0]["brand"]
    found = open_client.get("/ui/items", params={"q": brand.lower()}).text
    assert found.count(f"· {brand}") >= 1


def test_experiments_page_lists_versions_with_latest_and_served(open_client: TestClient):
    card = open_client.get("/model").json()
    html = open_client.get("/ui/experiments").text
    assert card["version"] in html and "LATEST" in html and "served" in html
    assert "No experiment yet" in html
    assert chart_data(html, "versions-chart")["series"][0]["label"] == "ndcg@10"
    assert "promote</button>" not in html  # no key: no writes


def test_unknown_user_gets_the_fallback_page(open_client: TestClient):
    html = open_client.get("/ui/users/nobody-yet").text
    assert 'id="strategy">fallback' in html and "not in the training data" in html


def test_rating_model_pages(ui_models: Models, models_copy):
    from tests.ui.conftest import ui_client

    with ui_client(models_copy / "mf") as client:
        html = client.get("/ui/users/u00001").text
        assert "<option>rating</option>" in html
        item = client.get("/popular?k=1").json()["items"][0]["item_id"]
        what_if = client.get("/ui/users/u00001/what-if",
                             params={"item_id": item, "event": "rating", "value": 5})  # fmt: skip
        assert what_if.status_code == 200
        assert "RMSE" in client.get("/ui/fragments/baselines").text


def test_experiments_page_shows_each_experiment_with_its_variants(ui_models, models_copy):
    from tests.ui.conftest import ui_client

    variants = [{"name": "control", "model": "@latest"}, {"name": "treated", "model": "@latest"}]
    ab = {"experiment_id": "ui-ab", "variants": variants}
    with ui_client(models_copy / "als", api_key=API_KEY) as client:
        made = client.post("/experiments", json=ab, headers={"X-API-Key": API_KEY})
        assert made.status_code == 201, made.text
        for i in range(6):  # traffic: the lists shown are counted per variant
            client.post("/recommend", json={"user_id": f"u{i:05d}"})
        client.app.state.experiments.log.flush()  # the impression writer's next batch, now
        log_in(client)
        html = client.get("/ui/experiments").text
    assert 'id="exp-ui-ab"' in html and "control" in html and "treated" in html
    assert "buyers / user (95% CI)" in html and "Sample ratio check" in html
    chart = chart_data(html, "chart-ui-ab")  # variants' daily click rates, plotted over time
    labels = [s["label"] for s in chart["series"]]
    assert "control clicks / list" in labels and "treated 95% high" in labels
    assert chart["time"] and len(chart["x"]) == 1  # one day of traffic
