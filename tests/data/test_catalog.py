"""read_catalog validation and defaults; align_catalog row order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nextbuy.data.catalog import CATALOG_COLUMNS, align_catalog, read_catalog
from nextbuy.data.ids import IdMap
from nextbuy.errors import DataError


def test_full_catalog_is_read_with_types(write) -> None:
    text = (
        "item_id,name,brand,category,price,in_stock,color\n"
        "007,Tent,Trailblazer,Camping,129.99,yes,green\n"
        "8,Stove,,Camping,,0,\n"
        "009,Mug,Culina,Kitchen,7,TRUE,white\n"
    )
    cat = read_catalog(write("items.csv", text))
    assert list(cat.columns) == [*CATALOG_COLUMNS, "color"]
    assert cat["item_id"].tolist() == ["007", "8", "009"]
    assert cat["brand"].tolist() == ["Trailblazer", "", "Culina"]
    assert np.isnan(cat["price"].iloc[1]) and cat["price"].iloc[0] == 129.99
    assert cat["in_stock"].tolist() == [True, False, True]
    assert cat["color"].iloc[0] == "green"


def test_only_item_id_is_required(write) -> None:
    cat = read_catalog(write("items.csv", "item_id\n01\n02\n"))
    assert cat["name"].tolist() == ["", ""]
    assert cat["category"].tolist() == ["", ""]
    assert cat["price"].isna().all()
    assert cat["in_stock"].tolist() == [True, True]


def test_parquet_catalog_with_bool_stock(tmp_path) -> None:
    path = tmp_path / "items.parquet"
    pd.DataFrame(
        {"item_id": ["a", "b"], "price": [1.5, 2.0], "in_stock": [False, True]}
    ).to_parquet(path)
    cat = read_catalog(path)
    assert cat["in_stock"].tolist() == [False, True] and cat["price"].tolist() == [1.5, 2.0]


@pytest.mark.parametrize(
    ("body", "parts"),
    [
        ("name\nTent\n", ["missing column 'item_id'", "found: name"]),
        ("item_id,name\na,x\nb,y\na,z\n", ["data row 3", "duplicate item 'a'", "data row 1"]),
        ("item_id,price\na,1\nb,cheap\n", ["column 'price'", "data row 2", "'cheap'"]),
        ("item_id,in_stock\na,yes\nb,maybe\n", ["column 'in_stock'", "data row 2", "'maybe'"]),
        ("item_id,name\na,x\n,y\n", ["column 'item_id'", "data row 2", "non-empty ID"]),
    ],
)
def test_catalog_errors(write, body: str, parts: list[str]) -> None:
    path = write("items.csv", body)
    with pytest.raises(DataError) as err:
        read_catalog(path)
    msg = str(err.value)
    assert msg.startswith(str(path))
    for part in parts:
        assert part in msg, (part, msg)


def test_align_catalog_follows_the_item_map(write) -> None:
    cat = read_catalog(
        write("items.csv", "item_id,name,price,extra\nb,Bee,2,x\na,Ay,1,y\nz,Zed,9,z\n")
    )
    aligned = align_catalog(cat, IdMap(["a", "b", "c"]))
    assert aligned["item_id"].tolist() == ["a", "b", "c"]
    assert aligned["name"].tolist() == ["Ay", "Bee", ""]  # c is unknown: defaults
    assert aligned["price"].iloc[:2].tolist() == [1.0, 2.0] and np.isnan(aligned["price"].iloc[2])
    assert aligned["in_stock"].tolist() == [True, True, True]
    assert aligned["extra"].iloc[:2].tolist() == ["y", "x"] and pd.isna(aligned["extra"].iloc[2])


def test_align_without_catalog_gives_defaults() -> None:
    aligned = align_catalog(None, IdMap(["p2", "p1"]))
    assert list(aligned.columns) == list(CATALOG_COLUMNS)
    assert aligned["item_id"].tolist() == ["p2", "p1"]
    assert aligned["name"].tolist() == ["", ""]
