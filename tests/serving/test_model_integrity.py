"""A served model cannot change under the server; start-up and reload errors are one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from nextbuy.artifacts import resolve_version_dir
from tests.serving.conftest import API_KEY, Shop, make_client, serve

KEY = {"X-API-Key": API_KEY}


def flip(path: Path, at: int = -64, n: int = 32) -> None:
    """Overwrite ``n`` bytes of ``path`` in place (the same inode, as a faulty disk would)."""
    with open(path, "r+b") as fh:
        fh.seek(at, os.SEEK_END)
        fh.write(b"\x7f" * n)


def factors_file(model_dir: Path) -> Path:
    version = resolve_version_dir(model_dir)
    return next(p for p in sorted(version.glob("*_factors.npy")))


def test_bytes_flipped_on_disk_never_reach_answers(private_models: Path, shop: Shop):
    user = str(shop.events["user_id"].iloc[0])
    with make_client(private_models / "als", api_key=API_KEY, cache_size=0) as client:
        before = client.post("/recommend", json={"user_id": user, "k": 5}).json()
        for path in resolve_version_dir(private_models / "als").glob("*_factors.npy"):
            flip(path)
        after = client.post("/recommend", json={"user_id": user, "k": 5}).json()
        assert after["recommendations"] == before["recommendations"]
        # a reload of the same version checks the files again instead of "changed": false
        r = client.post("/admin/reload", headers=KEY)
        assert r.status_code == 409
        assert "changed on disk" in r.json()["detail"] and "factors.npy" in r.json()["detail"]
        still = client.post("/recommend", json={"user_id": user, "k": 5}).json()
        assert still["recommendations"] == before["recommendations"]


def test_a_refused_new_version_leaves_the_old_one_serving(private_models: Path, shop: Shop):
    import shutil

    base = private_models / "als"
    old = resolve_version_dir(base)
    new = base / f"{old.name}-b"
    shutil.copytree(old, new)
    flip(factors_file(new))
    with make_client(base, api_key=API_KEY) as client:
        (base / "LATEST").write_text(new.name + "\n")
        r = client.post("/admin/reload", headers=KEY)
        assert r.status_code == 409 and "checksum mismatch" in r.json()["detail"]
        assert client.get("/model").json()["version"] == old.name
        (base / "LATEST").write_bytes(b"\xff\xfe\x00bad")  # not UTF-8: 409, not 500
        r = client.post("/admin/reload", headers=KEY)
        assert r.status_code == 409 and "not UTF-8" in r.json()["detail"]
        assert client.get("/ready").status_code == 200


def test_a_truncated_factor_file_does_not_kill_the_server(
    private_models: Path, shop: Shop, tmp_path: Path
):
    user = str(shop.events["user_id"].iloc[0])
    with serve(private_models / "als", tmp_path / "server.log") as server:
        for path in resolve_version_dir(private_models / "als").glob("*.np*"):
            os.truncate(path, 4096 if path.stat().st_size > 4096 else 0)
        body = json.dumps({"user_id": user, "k": 5}).encode()
        for _ in range(3):
            req = urllib.request.Request(
                server.url + "/recommend", data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(req, timeout=30) as response:
                answer = json.loads(response.read())
            assert answer["strategy"] == "personalized" and len(answer["recommendations"]) == 5
            assert np.isfinite([x["score"] for x in answer["recommendations"]]).all()
        assert server.process.poll() is None


def start(model_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nextbuy.serving", "--model-dir", str(model_dir), "--port", "1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("damage", ["latest-not-utf8", "checksum", "schema-2"])
def test_start_up_errors_are_one_line_and_exit_2(private_models: Path, damage: str):
    base = private_models / "als"
    version = resolve_version_dir(base)
    if damage == "latest-not-utf8":
        (base / "LATEST").write_bytes(b"\xff\xfe\x00")
        expected = "not UTF-8"
    elif damage == "checksum":
        flip(factors_file(base))
        expected = "checksum mismatch"
    else:
        manifest = json.loads((version / "manifest.json").read_text())
        (version / "manifest.json").write_text(json.dumps({**manifest, "schema_version": 2}))
        expected = "artifact schema 2"
    proc = start(base)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "Traceback" not in proc.stderr and expected in proc.stderr
