"""Online Retail transactions: customer cleanup, non-product codes, cancellation netting."""

from __future__ import annotations

import io
import sys

import pandas as pd
import pytest

from nextbuy.data.retail import read_retail
from nextbuy.data.sources import read_interactions
from nextbuy.errors import DataError

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
ROWS = (
    "536365,85123A,WHITE HANGING HEART,6,12/1/2010 8:26,2.55,17850.0,United Kingdom\n"
    "536366,85123A,WHITE HANGING HEART,4,12/2/2010 9:00,2.65,17850.0,United Kingdom\n"
    "C536367,85123A,WHITE HANGING HEART,-3,12/3/2010 10:00,2.55,17850.0,United Kingdom\n"
    "536368,71053,WHITE METAL LANTERN,2,12/1/2010 8:30,3.39,17850.0,United Kingdom\n"
    "C536369,71053,WHITE METAL LANTERN,-2,12/4/2010 11:00,3.39,17850.0,United Kingdom\n"
    "536370,POST,POSTAGE,1,12/1/2010 8:30,18.0,12583,France\n"
    "536371,22752,SET 7 BABUSHKA NESTING BOXES,2,12/5/2010 12:00,7.65,,United Kingdom\n"
    "536372,22752,SET/7 BABUSHKA BOXES,3,12/6/2010 13:00,8.50,12583,France\n"
    "536373,22752,SET 7 BABUSHKA NESTING BOXES,1,12/7/2010 14:00,7.95,12583,France\n"
    "536374,85123A,white hanging heart,1,2010-12-08 09:00:00,2.55,12583,France\n"
    "C536375,22752,SET 7 BABUSHKA NESTING BOXES,2,12/9/2010 9:00,7.65,12583,France\n"
)


def _utc(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").timestamp())


def test_netting_by_hand(write) -> None:
    """Hand-computed:
    17850 x 85123A: 6 + 4 - 3 = 7, last purchase 12/2 (the 12/3 return is not a purchase);
    17850 x 71053: 2 - 2 = 0, dropped; POST is not a product; the row without a customer is
    dropped; 12583 x 22752: 3 + 1 - 2 = 2 (a C invoice subtracts even with a positive
    quantity), last purchase 12/7; 12583 x 85123A: 1 on 12/8 (ISO date in the same column).
    """
    ds = read_retail(write("retail.csv", HEADER + ROWS))
    f = ds.frame
    assert ds.explicit is False
    assert f["user_id"].tolist() == ["12583", "12583", "17850"]
    assert f["item_id"].tolist() == ["22752", "85123A", "85123A"]
    assert f["value"].tolist() == [2.0, 1.0, 7.0]
    assert f["timestamp"].tolist() == [
        _utc("2010-12-07 14:00"),
        _utc("2010-12-08 09:00"),
        _utc("2010-12-02 09:00"),
    ]
    assert set(f["event"]) == {"purchase"}


def test_catalog_from_descriptions_and_prices(write) -> None:
    cat = read_retail(write("retail.csv", HEADER + ROWS)).catalog.set_index("item_id")
    assert set(cat.index) == {"85123A", "71053", "22752"}  # no POST
    assert cat.loc["22752", "name"] == "SET 7 BABUSHKA NESTING BOXES"  # most frequent
    assert cat.loc["22752", "price"] == pytest.approx(7.95)  # median of 7.65, 8.50, 7.95
    assert cat.loc["85123A", "name"] == "WHITE HANGING HEART"
    assert cat.loc["85123A", "price"] == pytest.approx(2.55)
    assert cat.loc["71053", "brand"] == "" and bool(cat.loc["71053", "in_stock"])


def test_detected_by_header_and_format_argument(write) -> None:
    path = write("transactions.csv", HEADER + ROWS)
    assert read_interactions(path).frame["value"].tolist() == [2.0, 1.0, 7.0]
    assert len(read_interactions(path, format="retail").frame) == 3


def test_online_retail_ii_column_names(write) -> None:
    header = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
    ds = read_interactions(write("retail2.csv", header + ROWS))
    assert ds.frame["value"].tolist() == [2.0, 1.0, 7.0]
    assert ds.catalog.set_index("item_id").loc["22752", "price"] == pytest.approx(7.95)


def test_parquet_with_float_customer_ids(tmp_path) -> None:
    frame = pd.read_csv(io.StringIO(HEADER + ROWS), dtype={"StockCode": str})
    assert frame["CustomerID"].dtype == float  # NaN for the anonymous row, 17850.0 ...
    path = tmp_path / "retail.parquet"
    frame.to_parquet(path)
    ds = read_retail(path)
    assert ds.frame["user_id"].tolist() == ["12583", "12583", "17850"]
    assert ds.frame["value"].tolist() == [2.0, 1.0, 7.0]


def test_bad_quantity_and_missing_columns(write) -> None:
    bad = ROWS.replace(",2,12/1/2010 8:30,3.39", ",two,12/1/2010 8:30,3.39")
    with pytest.raises(DataError, match=r"column 'Quantity', data row 4: expected a number"):
        read_retail(write("r.csv", HEADER + bad))
    with pytest.raises(DataError, match=r"missing column 'CustomerID' \(found: InvoiceNo"):
        read_retail(write("s.csv", "InvoiceNo,StockCode,Quantity,InvoiceDate\n1,A,1,2010-01-01\n"))
    bad_date = ROWS.replace("12/6/2010 13:00", "sometime")
    with pytest.raises(DataError, match=r"column 'InvoiceDate', data row 8: .*'sometime'"):
        read_retail(write("t.csv", HEADER + bad_date))


def test_everything_cancelled_is_an_error(write) -> None:
    rows = "1,A,x,2,2010-01-01,1,5,UK\nC2,A,x,-2,2010-01-02,1,5,UK\n"
    with pytest.raises(DataError, match="no net purchases"):
        read_retail(write("r.csv", HEADER + rows))


def test_xlsx_needs_openpyxl(write, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # as if not installed
    with pytest.raises(DataError, match="needs openpyxl"):
        read_retail(write("Online Retail.xlsx", b"PK\x03\x04"))


def test_column_options_naming_the_retail_columns_keep_the_netting(write) -> None:
    """Issue 11: column flags on a retail file used to turn its cleaning off silently."""
    from nextbuy.data.columns import ColumnMap

    path = write("retail.csv", HEADER + ROWS)
    cols = ColumnMap(user="CustomerID", item="StockCode", value="Quantity", time="InvoiceDate")
    ds = read_interactions(path, columns=cols)
    assert ds.frame["value"].tolist() == [2.0, 1.0, 7.0]  # netted, as without the options
    assert ds.feedback.startswith("implicit feedback from Online Retail transactions")


@pytest.mark.parametrize(
    ("columns", "words"),
    [
        ({"user": "Country", "item": "StockCode"}, "user column 'Country'"),
        ({"user": "CustomerID", "item": "Description"}, "item column 'Description'"),
        ({"user": "CustomerID", "item": "StockCode", "value": "UnitPrice"}, "value column"),
    ],
)
def test_other_column_options_on_a_retail_file_say_so(write, columns, words) -> None:
    from nextbuy.data.columns import ColumnMap

    path = write("retail.csv", HEADER + ROWS)
    with pytest.raises(DataError, match="looks like Online Retail transactions") as err:
        read_interactions(path, columns=ColumnMap(**columns))
    assert words in str(err.value) and "--format csv" in str(err.value)
    if columns["user"] == "Country":  # asked for a plain table, it is one (every row kept)
        plain = read_interactions(path, columns=ColumnMap(**columns), format="csv")
        assert len(plain.frame) == len(ROWS.splitlines())
    with pytest.raises(DataError, match="is read as --format retail"):
        read_interactions(path, columns=ColumnMap(**columns), format="retail")
