"""read_interactions / read_table: formats, string IDs, value and time rules, error messages."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from nextbuy.data.sources import (
    DEFAULT_EVENT_WEIGHTS,
    ColumnMap,
    Dataset,
    read_interactions,
    read_table,
)
from nextbuy.errors import DataError

RATINGS_CSV = (
    "user_id,item_id,rating,timestamp\n"
    "007,01,4,1600000000\n"
    "7,1,3.5,1600000100\n"
    "007,02,5,1600000200\n"
)


def test_csv_keeps_string_ids_and_reads_ratings_as_explicit(write) -> None:
    ds = read_interactions(write("r.csv", RATINGS_CSV))
    f = ds.frame
    assert ds.explicit is True
    assert list(f.columns) == ["user_id", "item_id", "value", "timestamp"]
    assert f["user_id"].tolist() == ["007", "7", "007"]
    assert f["item_id"].tolist() == ["01", "1", "02"]
    assert f["value"].dtype == np.float64 and f["value"].tolist() == [4.0, 3.5, 5.0]
    assert f["timestamp"].dtype == np.int64
    assert f["timestamp"].tolist() == [1600000000, 1600000100, 1600000200]
    inter = ds.to_interactions()
    assert inter.n_users == 2 and inter.explicit  # "007" and "7" are different users
    assert "007" in inter.user_map and "7" in inter.user_map


@pytest.mark.parametrize("name", ["r.tsv", "r.csv.gz", "r.parquet", "r.jsonl", "r.ndjson"])
def test_every_format_gives_the_same_frame(write, tmp_path, name: str) -> None:
    frame = pd.DataFrame(
        {
            "user_id": ["007", "7", "007"],
            "item_id": ["01", "1", "02"],
            "rating": [4.0, 3.5, 5.0],
            "timestamp": [1600000000, 1600000100, 1600000200],
        }
    )
    path = tmp_path / name
    if name.endswith(".tsv"):
        frame.to_csv(path, sep="\t", index=False)
    elif name.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(RATINGS_CSV)
    elif name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        path.write_text("\n".join(json.dumps(r) for r in frame.to_dict("records")) + "\n")
    ds = read_interactions(path)
    assert ds.explicit
    assert ds.frame["user_id"].tolist() == ["007", "7", "007"]
    assert ds.frame["item_id"].tolist() == ["01", "1", "02"]
    assert ds.frame["value"].tolist() == [4.0, 3.5, 5.0]
    assert ds.frame["timestamp"].tolist() == [1600000000, 1600000100, 1600000200]


def test_jsonl_numeric_ids_become_their_text(write) -> None:
    path = write("e.jsonl", '{"user_id": 12, "item_id": "007"}\n{"user_id": 3, "item_id": 8}\n')
    f = read_interactions(path).frame
    assert f["user_id"].tolist() == ["12", "3"]
    assert f["item_id"].tolist() == ["007", "8"]
    assert f["value"].tolist() == [1.0, 1.0]


def test_value_column_is_implicit_and_summed_when_indexed(write) -> None:
    path = write("v.csv", "user_id,item_id,value\nu1,p1,2\nu1,p1,3\nu2,p1,1\n")
    ds = read_interactions(path)
    assert ds.explicit is False
    assert ds.frame["value"].tolist() == [2.0, 3.0, 1.0]  # raw rows are kept
    inter = ds.to_interactions()
    assert len(inter) == 2
    assert inter.csr[inter.user_map.index_of("u1"), inter.item_map.index_of("p1")] == 5.0
    assert ds.frame["timestamp"].tolist() == [0, 0, 0]  # no time column: 0 means unknown


def test_explicit_duplicates_keep_the_latest_rating(write) -> None:
    path = write("d.csv", "user_id,item_id,rating,timestamp\nu,p,5,200\nu,p,1,100\nu,p,3,150\n")
    inter = read_interactions(path).to_interactions()
    assert len(inter) == 1 and inter.values[0] == 5.0 and inter.timestamps[0] == 200


def test_events_become_weights_and_are_kept(write) -> None:
    text = "user_id,item_id,event\nu1,p1,view\nu1,p1,Purchase\nu2,p2,cart\nu2,p3,add_to_cart\n"
    f = read_interactions(write("e.csv", text)).frame
    assert f["value"].tolist() == [1.0, 5.0, 3.0, 3.0]
    assert f["event"].tolist() == ["view", "purchase", "cart", "add_to_cart"]


def test_unknown_event_weighs_one_with_the_defaults(write) -> None:
    f = read_interactions(write("e.csv", "user_id,item_id,event\nu,p,share\nu,q,buy\n")).frame
    assert f["value"].tolist() == [1.0, DEFAULT_EVENT_WEIGHTS["buy"]]


def test_custom_event_weights_merge_with_defaults_and_reject_unknown_types(write) -> None:
    path = write("e.csv", "user_id,item_id,event\nu,p,view\nu,q,like\nu,r,share\n")
    with pytest.raises(DataError) as err:
        read_interactions(path, event_weights={"like": 4.0})
    msg = str(err.value)
    assert "e.csv" in msg and "column 'event'" in msg and "data row 3" in msg
    assert "'share'" in msg and "like" in msg and "purchase" in msg
    ok = write("f.csv", "user_id,item_id,event\nu,p,view\nu,q,like\n")
    f = read_interactions(ok, event_weights={"like": 4.0}).frame
    assert f["value"].tolist() == [1.0, 4.0]


def test_column_map_renames_every_field(write) -> None:
    text = "customer,sku,qty,when,action\nc1,007,2,2024-01-01T00:00:00Z,purchase\n"
    cols = ColumnMap(user="customer", item="sku", value="qty", time="when", event="action")
    ds = read_interactions(write("c.csv", text), columns=cols)
    row = ds.frame.iloc[0]
    assert ds.explicit is False
    assert (row["user_id"], row["item_id"], row["value"]) == ("c1", "007", 2.0)
    assert row["timestamp"] == 1704067200 and row["event"] == "purchase"


def test_value_named_rating_in_column_map_is_explicit(write) -> None:
    ds = read_interactions(
        write("c.csv", "u,i,rating\na,b,4\n"), columns=ColumnMap(user="u", item="i", value="rating")
    )
    assert ds.explicit


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1700000000", 1700000000),
        ("1700000000.9", 1700000000),
        ("1700000000123", 1700000000),  # milliseconds
        ("2023-11-14T22:13:20Z", 1700000000),
        ("2023-11-15T00:13:20+02:00", 1700000000),
        ("2023-11-14 22:13:20", 1700000000),  # naive: UTC
        ("2023-11-14", 1699920000),
    ],
)
def test_timestamp_forms(write, cell: str, expected: int) -> None:
    path = write("t.csv", f"user_id,item_id,timestamp\nu,p,{cell}\nu,q,{cell}\n")
    assert read_interactions(path).frame["timestamp"].tolist() == [expected, expected]


def test_mixed_epoch_and_iso_timestamps(write) -> None:
    path = write("t.csv", "user_id,item_id,timestamp\nu,p,1700000000\nu,q,2023-11-14T22:13:20Z\n")
    assert read_interactions(path).frame["timestamp"].tolist() == [1700000000, 1700000000]


def test_semicolon_separated_csv_is_sniffed(write) -> None:
    f = read_interactions(write("s.csv", "user_id;item_id;value\n01;02;3\n")).frame
    assert f.iloc[0].tolist() == ["01", "02", 3.0, 0]


def test_latin1_csv_falls_back_from_utf8(write) -> None:
    path = write("l.csv", "user_id,item_id\nJosé,Café\n", encoding="latin-1")
    f = read_interactions(path).frame
    assert f["user_id"].tolist() == ["José"] and f["item_id"].tolist() == ["Café"]


# ----------------------------------------------------------------- error messages
@pytest.mark.parametrize(
    ("body", "parts"),
    [
        (
            "user_id,item_id,rating\nu,p,4\nu,q,5\nu,r,abc\n",
            ["column 'rating'", "data row 3", "expected a number", "got 'abc'"],
        ),
        (
            "user_id,item_id,rating\nu,p,4\n,q,5\n",
            ["column 'user_id'", "data row 2", "non-empty ID", "empty value"],
        ),
        (
            "user_id,item_id,rating\nu,p,4\nu,  ,5\n",
            ["column 'item_id'", "data row 2", "non-empty ID"],
        ),
        (
            "user_id,item_id,value\nu,p,1\nu,q,inf\n",
            ["column 'value'", "data row 2", "finite number", "'inf'"],
        ),
        (
            "user_id,item_id,value\nu,p,1\nu,q,nan\n",
            ["column 'value'", "data row 2"],
        ),
        (
            "user_id,item_id,rating\nu,p,4\nu,q,\n",
            ["column 'rating'", "data row 2", "expected a number", "empty value"],
        ),
        (
            "user_id,item_id,timestamp\nu,p,1700000000\nu,q,yesterday\n",
            ["column 'timestamp'", "data row 2", "ISO 8601", "'yesterday'"],
        ),
        (
            "user_id,item_id,event\nu,p,view\nu,q,\n",
            ["column 'event'", "data row 2", "event type", "empty value"],
        ),
        ("user,item\nu,p\n", ["missing column 'user_id'", "found: user, item"]),
        ("user_id,item_id\n", ["no data rows", "user_id, item_id"]),
        ("", ["the file is empty"]),
    ],
)
def test_validation_errors_name_file_column_and_row(write, body: str, parts: list[str]) -> None:
    path = write("data.csv", body)
    with pytest.raises(DataError) as err:
        read_interactions(path)
    msg = str(err.value)
    assert msg.startswith(str(path)), msg
    assert "\n" not in msg
    for part in parts:
        assert part in msg, (part, msg)


def test_error_example_from_the_design(write, monkeypatch, tmp_path) -> None:
    write("data.csv", "user_id,item_id,rating\n" + "u,p,4\n" * 6 + "u,p,abc\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=r"^data\.csv: column 'rating', data row 7: "
                       r"expected a number, got 'abc'$"):  # fmt: skip
        read_interactions("data.csv")


def test_missing_mapped_column_is_reported(write) -> None:
    with pytest.raises(DataError, match=r"missing column 'ts' \(found: user_id, item_id\)"):
        read_interactions(write("m.csv", "user_id,item_id\nu,p\n"), columns=ColumnMap(time="ts"))


def test_format_errors(write, tmp_path) -> None:
    with pytest.raises(DataError, match="cannot tell the format"):
        read_interactions(write("x.bin", "user_id,item_id\nu,p\n"))
    with pytest.raises(DataError, match="unknown format 'xml'"):
        read_interactions(write("x.csv", "user_id,item_id\nu,p\n"), format="xml")
    with pytest.raises(DataError, match="no such file"):
        read_interactions(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="needs one of u.data"):
        read_interactions(tmp_path)
    with pytest.raises(DataError, match="not a readable Parquet"):
        read_interactions(write("bad.parquet", "not parquet"))


def test_format_argument_overrides_the_extension(write) -> None:
    f = read_interactions(write("data.txt", "user_id\titem_id\n01\t02\n"), format="tsv").frame
    assert f[["user_id", "item_id"]].iloc[0].tolist() == ["01", "02"]


def test_read_table_keeps_named_columns_as_text(write) -> None:
    path = write("t.csv", "a,b,c\n007,007,1.5\n")
    raw = read_table(path, string_columns=["a"])
    assert raw["a"].tolist() == ["007"]
    assert raw["b"].tolist() == [7]
    assert read_table(path, dtype=str).iloc[0].tolist() == ["007", "007", "1.5"]


def test_dataset_to_interactions_passes_maps_through(write) -> None:
    ds = read_interactions(write("r.csv", RATINGS_CSV))
    assert isinstance(ds, Dataset) and len(ds) == 3
    full = ds.to_interactions()
    sub = Dataset(ds.frame.iloc[:1], ds.explicit, ds.source).to_interactions(
        user_map=full.user_map, item_map=full.item_map
    )
    assert sub.user_map == full.user_map and sub.n_items == 3


def test_parquet_events_read_as_dictionary_give_the_csv_frame(tmp_path) -> None:
    frame = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u1", "u3"],
            "item_id": ["i1", "i1", "i2", "i1"],
            "timestamp": [1, 2, 3, 4],
            "event": [" View", "purchase", "CART", "view"],
        }
    )
    frame.to_parquet(tmp_path / "e.parquet", index=False)
    frame.to_csv(tmp_path / "e.csv", index=False)
    got = read_interactions(tmp_path / "e.parquet")
    want = read_interactions(tmp_path / "e.csv")
    pd.testing.assert_frame_equal(got.frame, want.frame)
    assert got.frame["event"].tolist() == ["view", "purchase", "cart", "view"]
    assert got.frame["value"].tolist() == [1.0, 5.0, 3.0, 1.0]
    assert got.feedback == want.feedback
    assert (got.to_interactions().csr != want.to_interactions().csr).nnz == 0
    frame.assign(event=["view", " ", "cart", "view"]).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(DataError, match="column 'event', data row 2: expected an event type"):
        read_interactions(tmp_path / "b.parquet")
