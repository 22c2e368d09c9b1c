"""readers (plain tables) and the one-way dispatch of sources over them."""

from __future__ import annotations

import pytest

from nextbuy.data.readers import read_plain_table, resolve_format
from nextbuy.data.sources import DATASET_READERS, HEADER_DETECTORS, read_table
from nextbuy.errors import DataError

U_DATA = "1\t10\t4\t881250949\n2\t10\t3\t891717742\n"


def test_plain_table_refuses_movielens_and_read_table_reads_it(write) -> None:
    path = write("ml/u.data", U_DATA)
    assert resolve_format(path, None) == "movielens"
    with pytest.raises(DataError, match="not a plain table; read them with read_movielens"):
        read_plain_table(path)
    frame = read_table(path.parent)  # the folder: its canonical ratings frame
    assert frame["user_id"].tolist() == ["1", "2"] and frame["value"].tolist() == [4.0, 3.0]


def test_header_detectors_pick_a_dataset_reader() -> None:
    names = {name for _, name in HEADER_DETECTORS}
    assert names <= set(DATASET_READERS) == {"movielens", "retail"}
    detect = dict((name, test) for test, name in HEADER_DETECTORS)
    assert detect["retail"](["InvoiceNo", "StockCode", "Quantity", "Customer ID"])
    assert not detect["retail"](["StockCode", "Quantity"])
    assert detect["movielens"](["userId", "movieId", "rating"])
    assert not detect["movielens"](["userId", "movieId", "user_id"])
