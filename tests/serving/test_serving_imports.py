"""The serving image has no torch, implicit, optuna or matplotlib: serving must never import them.

Checked in a fresh interpreter (this test process has imported them already): import
``nextbuy.serving``, serve an ALS, an EASE and an MF artifact, fold a new user in through
``/events``, and list ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serving.conftest import Shop, train_and_save

TRAIN_ONLY = ("torch", "implicit", "optuna", "matplotlib")

PROBE = """
import json, sys
import nextbuy.serving
from fastapi.testclient import TestClient
from nextbuy.serving.app import create_app
from nextbuy.serving.settings import ServingSettings

user, item = sys.argv[1], sys.argv[2]
for spec in sys.argv[3:]:
    model_dir, kind = spec.rsplit(":", 1)
    app = create_app(ServingSettings(model_dir=model_dir, blas_threads=None))
    with TestClient(app) as client:
        assert client.post("/recommend", json={"user_id": user, "k": 5}).status_code == 200
        event = {"event_id": "probe-" + model_dir[-8:], "user_id": "probe-new", "item_id": item}
        event |= {"event": "rating", "value": 5.0} if kind == "rating" else {"event": "purchase"}
        assert client.post("/events", json=[event]).status_code < 300
        answer = client.post("/recommend", json={"user_id": "probe-new", "k": 5}).json()
        assert answer["strategy"] != "fallback", answer
        assert client.post("/reco", json={"user_id_hash": user}).status_code == 200
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


@pytest.mark.slow
def test_serving_imports_no_training_library(shop: Shop, tmp_path: Path):
    models = tmp_path / "models"
    train_and_save(shop.events, shop.items, models, "als", "als", factors=4, iterations=2)
    train_and_save(shop.events, shop.items, models, "ease", "ease")
    train_and_save(shop.ratings, shop.items, models, "mf", "mf", explicit=True, epochs=1)
    user = str(shop.events["user_id"].iloc[0])
    item = str(shop.events["item_id"].iloc[0])
    dirs = [f"{models / 'als'}:purchase", f"{models / 'ease'}:purchase", f"{models / 'mf'}:rating"]
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, user, item, *dirs],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "NEXTBUY_LOG_LEVEL": "warning"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert "nextbuy" in loaded and "fastapi" in loaded
    assert not loaded & set(TRAIN_ONLY), f"serving imported {sorted(loaded & set(TRAIN_ONLY))}"


def test_a_serving_only_install_names_the_train_extra(shop: Shop, tmp_path: Path):
    """Without torch/implicit (blocked here as a serving-only install lacks them), asking for a
    model that needs them is one clear line naming ``nextbuy[train]``; EASE still trains."""
    data, out = shop.data / "interactions.csv", tmp_path / "models"
    probe = (
        "import sys\n"
        "for name in ('torch', 'implicit', 'optuna', 'matplotlib'): sys.modules[name] = None\n"
        "from nextbuy.errors import ConfigError\n"
        "from nextbuy.training import train_model\n"
        f"args = dict(out={str(out)!r}, split='none')\n"
        f"train_model({str(data)!r}, model='ease', **args)\n"
        "try:\n"
        f"    train_model({str(data)!r}, model='als', **args)\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "model 'als' needs implicit" in proc.stdout and "nextbuy[train]" in proc.stdout
