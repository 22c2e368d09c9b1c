"""Which served lists the impression log writes: running experiments' by default, or all."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serving.conftest import API_KEY, make_client


@pytest.mark.parametrize("setting, logged", [("experiments", 0), ("all", 3)])
def test_lists_outside_an_experiment_are_written_only_when_asked(
    private_models: Path, setting: str, logged: int
) -> None:
    with make_client(private_models / "als", impressions=setting) as client:
        for user in ("u00001", "u00002", "nobody"):
            assert client.post("/recommend", json={"user_id": user, "k": 2}).status_code == 200
        log = client.app.state.experiments.log
        log.flush()
        frame = log.store.impressions_frame()
        assert frame["recommendation_id"].nunique() == logged
        assert len(frame) == 2 * logged


def test_lists_of_a_running_experiment_are_written(private_models: Path) -> None:
    variants = [{"name": "a", "model": "@latest"}, {"name": "b", "model": "@latest"}]
    with make_client(private_models / "als", api_key=API_KEY) as client:
        made = client.post(
            "/experiments",
            json={"experiment_id": "imp", "variants": variants},
            headers={"X-API-Key": API_KEY},
        )
        assert made.status_code == 201, made.text
        answers = [client.post("/recommend", json={"user_id": f"u{i:05d}", "k": 3}) for i in (1, 2)]
        log = client.app.state.experiments.log
        log.flush()
        frame = log.store.impressions_frame("imp")
        ids = {a.json()["recommendation_id"] for a in answers}
        assert set(frame["recommendation_id"]) == ids and len(frame) == 6
        assert set(frame["variant"]) <= {"a", "b"} and frame["position"].max() == 3
