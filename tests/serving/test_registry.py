"""The model registry (issue 14): versions with lineage, aliases, promote, rollback, diff,
delete refusals, the CLI, and a real server following NAME@ALIAS under load."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from nextbuy import modelregistry as registry
from nextbuy.artifacts import LATEST, load_artifact
from nextbuy.cli import app
from nextbuy.errors import ArtifactError, ConfigError
from tests.serving.conftest import Shop, serve, train_and_save


@pytest.fixture()
def three_versions(private_models: Path, shop: Shop) -> tuple[Path, list[str]]:
    """``als`` with three versions (the first from the shared shop, two more trained here)."""
    base = private_models / "als"
    for factors in (4, 6):
        train_and_save(shop.events, shop.items, private_models, "als", "als", factors=factors,
                       iterations=2, num_threads=1)  # fmt: skip
    return base, [v.version for v in registry.versions(base)]


def test_versions_carry_metrics_fingerprint_params_and_lineage(three_versions) -> None:
    base, names = three_versions
    rows = registry.versions(base)
    assert [r.version for r in rows] == names and len(names) == 3
    assert [r.parent for r in rows[1:]] == names[:2]  # each saved on top of LATEST
    assert rows[-1].aliases == ("latest",) and rows[-1].params["factors"] == 6
    assert rows[0].fingerprint and rows[0].metrics["ndcg@10"] == 0.1
    assert rows[0].dataset == "default"


def test_promote_rollback_and_alias_resolution(three_versions) -> None:
    base, (v1, v2, v3) = three_versions
    assert registry.promote(base, v1) == (None, v1)
    assert registry.promote(base, v2, "champion") == (v1, v2)
    assert load_artifact(f"{base}@champion").version == v2
    assert registry.resolve(base, "@champion") == v2
    assert registry.rollback(base, "champion") == (v2, v1)
    assert load_artifact(f"{base}@champion").version == v1
    with pytest.raises(ConfigError, match="no earlier version"):
        registry.rollback(base, "champion")
    with pytest.raises(ArtifactError, match="no alias 'nope'.*champion"):
        load_artifact(f"{base}@nope")
    # promoting 'latest' moves the LATEST file (what plain NAME serves)
    registry.promote(base, v1, "latest")
    assert (base / LATEST).read_text().strip() == v1
    with pytest.raises(ConfigError, match="alias 'Bad Name'"):
        registry.promote(base, v1, "Bad Name")


def test_diff_puts_changed_parameters_first(three_versions) -> None:
    base, (_, v2, v3) = three_versions
    rows = registry.diff(base, v2, v3)
    assert rows[0][2] != rows[0][3]
    assert ("param", "factors", 4, 6) in rows


def test_delete_refuses_versions_in_use(three_versions) -> None:
    base, (v1, v2, v3) = three_versions
    registry.promote(base, v2, "champion")
    with pytest.raises(ConfigError, match="@champion points at"):
        registry.delete(base, v2)
    with pytest.raises(ConfigError, match="@latest points at"):
        registry.delete(base, v3)
    with pytest.raises(ConfigError, match="running experiment"):
        registry.delete(base, v1, in_experiments={v1})
    assert registry.delete(base, v1) == v1
    assert [r.version for r in registry.versions(base)] == [v2, v3]


def test_the_cli(three_versions) -> None:
    base, (v1, v2, v3) = three_versions
    runner = CliRunner()
    out = runner.invoke(app, ["models", "promote", str(base), v2, "--alias", "challenger"])
    assert out.exit_code == 0, out.output
    listed = json.loads(runner.invoke(app, ["models", "list", str(base), "--json"]).output)
    assert [r["aliases"] for r in listed] == [[], ["challenger"], ["latest"]]
    shown = json.loads(runner.invoke(app, ["models", "show", str(base), "@challenger",
                                           "--json"]).output)  # fmt: skip
    assert shown["version"] == v2 and shown["aliases"] == ["challenger"]
    diff = runner.invoke(app, ["models", "diff", str(base), v1, v3])
    assert diff.exit_code == 0 and "factors" in diff.output
    refused = runner.invoke(app, ["models", "delete", str(base), "@challenger"])
    assert refused.exit_code != 0 and "challenger points at" in str(refused.exception)


def test_promote_and_rollback_under_load_fail_no_request(
    three_versions, shop: Shop, tmp_path: Path
) -> None:
    """Threads hammer a real server of als@champion while the alias moves three times."""
    base, (v1, v2, v3) = three_versions
    registry.promote(base, v1)
    users = [str(u) for u in shop.events.user_id.unique()[:10]] + ["new-user"]
    stop = threading.Event()
    statuses: Counter[int] = Counter()
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def hammer(i: int) -> None:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            n = 0
            while not stop.is_set():
                n += 1
                r = http.post("/recommend", json={"user_id": users[(i + n) % len(users)]})
                with lock:
                    statuses[r.status_code] += 1
                    if r.status_code == 200:
                        seen[r.json()["model_version"]] += 1

    def served(http: httpx.Client, version: str) -> bool:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if http.get("/model").json()["version"] == version:
                return True
            time.sleep(0.1)
        return False

    with serve(Path(f"{base}@champion"), tmp_path / "server.log") as server:
        threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        with httpx.Client(base_url=server.url, timeout=10) as http:
            assert served(http, v1)
            registry.promote(base, v2)
            assert served(http, v2)  # followed without a restart or a reload call
            registry.promote(base, v3)
            assert served(http, v3)
            registry.rollback(base)
            assert served(http, v2)
        stop.set()
        for t in threads:
            t.join()
    assert set(statuses) == {200}, statuses  # zero failed requests
    assert {v1, v2, v3} <= set(seen)
