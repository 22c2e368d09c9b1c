"""Catalog text fields with a NUL byte are a 422 on every backend (PostgreSQL used to answer 503
"retry": found by the long fuzz run), and nothing is stored."""

from __future__ import annotations

from tests.serving.online.conftest import KEY, AppFactory


def test_control_characters_in_catalog_text_are_refused(
    online_app: AppFactory, database_url: str
) -> None:
    with online_app(database_url) as client:
        bad = client.put("/items/p00010", json={"category": "Kitchen\u0000"}, headers=KEY)
        assert bad.status_code == 422, bad.text
        assert "control characters" in bad.text
        many = client.post(
            "/items", json={"items": [{"item_id": "p09998", "name": "ok"},
                                      {"item_id": "p09999", "brand": "a\u0007b"}]},
            headers=KEY,
        )  # fmt: skip
        assert many.status_code == 422, many.text
        assert client.get("/items/p09998").status_code == 404  # the batch stored nothing
        fine = client.put("/items/p00010", json={"category": "Kitchen"}, headers=KEY)
        assert fine.status_code == 200, fine.text
