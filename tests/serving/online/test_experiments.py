"""A/B tests in the server (issue 14): variants answer their users, every answer is tagged,
impressions are logged, events are attributed by id and by window, the report adds up, and
assignment is sticky across two real worker processes."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from nextbuy import modelregistry as registry
from nextbuy.cli import app as cli_app
from nextbuy.experiments.assignment import assign
from nextbuy.experiments.definition import Experiment
from nextbuy.serving.app import create_app
from nextbuy.serving.process import running_server
from nextbuy.serving.settings import ServingSettings
from tests.serving.conftest import API_KEY
from tests.serving.online.conftest import KEY, OnlineShop, save_with_attributes

AB = {
    "experiment_id": "ab1",
    "variants": [
        {"name": "control", "model": "@champion"},
        {"name": "new", "model": "@challenger", "options": {"exclude_seen": False}},
    ],
}


@pytest.fixture()
def models(online_shop: OnlineShop, tmp_path: Path) -> Path:
    """A copy of the als folder with a second version: @champion (old) and @challenger (new)."""
    root = tmp_path / "models"
    root.mkdir()
    shutil.copytree(online_shop.root / "als", root / "als")
    old = registry.versions(root / "als")[-1].version
    save_with_attributes(online_shop.events, online_shop.items, root, "als",
                         factors=4, iterations=2, num_threads=1)  # fmt: skip
    new = registry.versions(root / "als")[-1].version
    registry.promote(root / "als", old, "champion")
    registry.promote(root / "als", new, "challenger")
    return root


def client(models: Path) -> TestClient:
    settings = ServingSettings(model_dir=models / "als@champion", api_key=API_KEY,
                               blas_threads=None, sync_interval_s=0)  # fmt: skip
    return TestClient(create_app(settings))


def test_variants_answer_tag_log_and_attribute(models: Path, online_shop: OnlineShop) -> None:
    users = [str(u) for u in online_shop.events["user_id"].unique()[:60]]
    versions = {a: registry.resolve(models / "als", f"@{a}") for a in ("champion", "challenger")}
    with client(models) as c:
        untested = c.post("/recommend", json={"user_id": users[0]}).json()
        assert untested["variant"] is None and len(untested["recommendation_id"]) == 32
        made = c.post("/experiments", json=AB, headers=KEY)
        assert made.status_code == 201, made.text
        exp = Experiment(**{k: v for k, v in made.json().items() if k != "status"})
        assert c.post("/experiments", json={**AB, "experiment_id": "ab2"},
                      headers=KEY).status_code == 409  # fmt: skip
        answers = {u: c.post("/recommend", json={"user_id": u, "k": 5}).json() for u in users}
        for u, a in answers.items():
            assert a["variant"] == assign(exp, u) and a["experiment_id"] == "ab1"
            alias = "champion" if a["variant"] == "control" else "challenger"
            assert a["model_version"] == versions[alias]
        assert len({a["recommendation_id"] for a in answers.values()}) == len(users)
        assert {a["variant"] for a in answers.values()} == {"control", "new"}
        batch = c.post("/recommend/batch", json={"user_ids": users[:6]}).json()["results"]
        assert [r["variant"] for r in batch] == [answers[u]["variant"] for u in users[:6]]
        item = str(online_shop.items["item_id"].iloc[0])
        assert c.get(f"/items/{item}/similar").json()["recommendation_id"]
        c.app.state.experiments.log.flush()

        # a click sent back with its list's id, a purchase of a shown item without one
        u1, u2 = users[0], users[1]
        a1, a2 = answers[u1], answers[u2]
        shown1, shown2 = a1["recommendations"][0], a2["recommendations"][2]
        events = [
            {"user_id": u1, "item_id": shown1["item_id"], "event": "click",
             "recommendation_id": a1["recommendation_id"], "position": 1},
            {"user_id": u2, "item_id": shown2["item_id"], "event": "purchase"},
            {"user_id": u2, "item_id": "never-shown", "event": "purchase"},
        ]  # fmt: skip
        assert c.post("/events", json=events).status_code == 200
        report = c.get("/experiments/ab1").json()
        assert report["attributed_events"] == {"by_id": 1, "by_window": 1}
        by_name = {v["variant"]: v for v in report["variants"]}
        assert sum(v["users"] for v in by_name.values()) == len(users)
        assert by_name[a2["variant"]]["purchase_users"] == 1
        price = online_shop.items.set_index("item_id").loc[shown2["item_id"], "price"]
        assert by_name[a2["variant"]]["revenue"] == pytest.approx(price)  # one unit bought
        assert by_name[a1["variant"]]["click_users"] == 1
        assert report["verdict"].startswith("not yet")  # 60 users is too few to say
        assert 0 <= report["srm"]["p_value"] <= 1 and "z-test" in report["method"]
        assert by_name["control"]["latency_ms_p95"] is not None

        cli = CliRunner().invoke(cli_app, ["experiments", "report", "ab1", "--model-dir",
                                           str(models / "als@champion")])  # fmt: skip
        assert cli.exit_code == 0, cli.output
        assert "purchase/user" in cli.output and "not yet" in cli.output
        assert c.post("/experiments/ab1/stop", headers=KEY).json()["status"] == "stopped"
        assert c.post("/recommend", json={"user_id": u1}).json()["variant"] is None


def test_known_users_only(models: Path, online_shop: OnlineShop) -> None:
    with client(models) as c:
        body = {**AB, "eligible": "known"}
        assert c.post("/experiments", json=body, headers=KEY).status_code == 201
        known = str(online_shop.events["user_id"].iloc[0])
        assert c.post("/recommend", json={"user_id": known}).json()["variant"] is not None
        assert c.post("/recommend", json={"user_id": "brand-new"}).json()["variant"] is None


def test_assignment_is_sticky_across_two_worker_processes(
    models: Path, online_shop: OnlineShop, tmp_path: Path
) -> None:
    users = [str(u) for u in online_shop.events["user_id"].unique()[:20]] + ["new-1", "new-2"]
    env = {"NEXTBUY_API_KEY": API_KEY}
    with running_server(models / "als@champion", tmp_path / "server.log", env=env, workers=2,
                        timeout=90) as server:  # fmt: skip
        made = httpx.post(server.url + "/experiments", json=AB, headers=KEY, timeout=10)
        assert made.status_code == 201, made.text
        exp = Experiment(**{k: v for k, v in made.json().items() if k != "status"})
        deadline = time.monotonic() + 30  # both workers re-read the store's experiments
        while time.monotonic() < deadline:
            answers = [httpx.post(server.url + "/recommend", json={"user_id": users[0]},
                                  timeout=10).json()["variant"] for _ in range(12)]  # fmt: skip
            if None not in answers:
                break
            time.sleep(0.5)
        seen: dict[str, set[str]] = {u: set() for u in users}
        for _ in range(4):
            for u in users:
                with httpx.Client(base_url=server.url, timeout=10) as http:  # a new connection
                    r = http.post("/recommend", json={"user_id": u})
                    seen[u].add(r.json()["variant"])
        assert all(variants == {assign(exp, u)} for u, variants in seen.items()), seen


def test_the_impression_queue_is_bounded_and_never_blocks(tmp_path: Path) -> None:
    from nextbuy.serving.experiments import ImpressionLog
    from nextbuy.store import EventStore
    from nextbuy.store.experiments import ExperimentStore

    log = ImpressionLog(ExperimentStore(EventStore(f"sqlite:///{tmp_path / 'e.db'}")),
                        max_rows=20)  # room for 2 lists  # fmt: skip
    row = {"recommendation_id": "r", "user_id": "u", "item_id": "i", "position": 1,
           "served_at": 0}  # fmt: skip
    started = time.perf_counter()
    for _ in range(5):
        log.put([row])
    assert time.perf_counter() - started < 0.05
    assert log.dropped == 3 and log.flush() == 2 and log.written == 2


def test_delete_refuses_a_version_a_running_experiment_serves(models: Path) -> None:
    from nextbuy.experiments import manage
    from nextbuy.experiments.definition import Experiment
    from nextbuy.store import EventStore
    from nextbuy.store.experiments import ExperimentStore

    base = models / "als"
    challenger = registry.resolve(base, "@challenger")
    champion = registry.resolve(base, "@champion")
    for alias in ("challenger", "latest"):  # no alias points at it any more
        registry.promote(base, champion, alias)
    store = ExperimentStore(EventStore(f"sqlite:///{models / 'events.db'}"))
    arms = [{"name": "a", "model": "@champion"}, {"name": "b", "model": challenger}]
    manage.create(store, Experiment(experiment_id="keep", variants=arms))
    refused = CliRunner().invoke(cli_app, ["models", "delete", str(base), challenger])
    assert refused.exit_code != 0 and "running experiment" in str(refused.exception)
    manage.stop(store, "keep")
    done = CliRunner().invoke(cli_app, ["models", "delete", str(base), challenger])
    assert done.exit_code == 0, done.output
