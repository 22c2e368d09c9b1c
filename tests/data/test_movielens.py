"""MovieLens readers on tiny hand-written copies of the 100K, 1M and CSV layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from nextbuy.data.movielens import read_movielens
from nextbuy.data.sources import read_interactions
from nextbuy.errors import DataError

GENRES = (
    "unknown|0\nAction|1\nAdventure|2\nAnimation|3\nChildren's|4\nComedy|5\nCrime|6\n"
    "Documentary|7\nDrama|8\nFantasy|9\nFilm-Noir|10\nHorror|11\nMusical|12\nMystery|13\n"
    "Romance|14\nSci-Fi|15\nThriller|16\nWar|17\nWestern|18\n\n"
)


def _flags(*on: int) -> str:
    return "|".join("1" if g in on else "0" for g in range(19))


def _ml100k(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    # one hand-edited line separates with spaces instead of tabs
    (root / "u.data").write_text(
        "196\t242\t3\t881250949\n186\t302\t3\t891717742\n"
        "22  377 1\t878887116\n196\t302\t5\t881250950\n"
    )
    items = (
        f"242|Kolya (1996)|24-Jan-1997||http://us.imdb.com/x|{_flags(5)}\n"
        f"302|L.A. Confidential (1997)|01-Jan-1997||http://us.imdb.com/y|{_flags(6, 10, 13, 16)}\n"
        f"377|Café au Lait (1993)|01-Jan-1993||http://us.imdb.com/z|{_flags()}\n"
    )
    (root / "u.item").write_bytes(items.encode("latin-1"))
    (root / "u.genre").write_text(GENRES)
    return root


def test_100k_ratings_and_catalog(tmp_path: Path) -> None:
    ds = read_movielens(_ml100k(tmp_path / "ml-100k"))
    f = ds.frame
    assert ds.explicit
    assert f["user_id"].tolist() == ["196", "186", "22", "196"]
    assert f["item_id"].tolist() == ["242", "302", "377", "302"]
    assert f["value"].tolist() == [3.0, 3.0, 1.0, 5.0]
    assert f["timestamp"].tolist() == [881250949, 891717742, 878887116, 881250950]
    cat = ds.catalog.set_index("item_id")
    assert cat.loc["377", "name"] == "Café au Lait (1993)"
    assert cat.loc["302", "category"] == "Crime"
    assert cat.loc["302", "genres"] == "Crime|Film-Noir|Mystery|Thriller"
    assert cat.loc["377", "category"] == "" and cat.loc["377", "genres"] == ""
    assert cat.loc["242", "year"] == 1996
    assert cat.loc["242", "brand"] == ""


def test_100k_through_read_interactions(tmp_path: Path) -> None:
    root = _ml100k(tmp_path / "ml-100k")
    assert len(read_interactions(root).frame) == 4
    assert len(read_interactions(root / "u.data").frame) == 4
    assert len(read_interactions(tmp_path).frame) == 4  # an extracted zip's parent folder
    assert read_interactions(root, format="movielens").catalog is not None


def test_100k_bad_rating_names_the_line(tmp_path: Path) -> None:
    root = tmp_path / "ml"
    root.mkdir()
    (root / "u.data").write_text("1\t2\t3\t881250949\n1\t3\tx\t881250949\n")
    with pytest.raises(DataError, match=r"u\.data: column 'rating', data row 2: expected a number"):
        read_movielens(root)


def test_1m_dat_layout(tmp_path: Path) -> None:
    root = tmp_path / "ml-1m"
    root.mkdir()
    (root / "ratings.dat").write_text("1::1193::5::978300760\n1::260::4::978300761\n2::007::3::1\n")
    movies = (
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
        "260::Star Wars: Episode IV - A New Hope (1977)::Action|Adventure|Fantasy|Sci-Fi\n"
        "007::Café Society (1995)::Comedy\n"
    )
    (root / "movies.dat").write_bytes(movies.encode("latin-1"))
    ds = read_interactions(root)
    assert ds.explicit
    assert ds.frame["item_id"].tolist() == ["1193", "260", "007"]
    assert ds.frame["value"].tolist() == [5.0, 4.0, 3.0]
    cat = ds.catalog.set_index("item_id")
    assert cat.loc["260", "name"] == "Star Wars: Episode IV - A New Hope (1977)"
    assert cat.loc["260", "category"] == "Action"
    assert cat.loc["260", "genres"] == "Action|Adventure|Fantasy|Sci-Fi"
    assert cat.loc["007", "name"] == "Café Society (1995)"
    assert cat.loc["1193", "year"] == 1975


def test_csv_release_layout(tmp_path: Path) -> None:
    root = tmp_path / "ml-latest-small"
    root.mkdir()
    (root / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,3.5,964981247\n2,11,0.5,1\n"
    )
    (root / "movies.csv").write_text(
        "movieId,title,genres\n"
        "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
        '11,"American President, The (1995)",Comedy|Drama|Romance\n'
        "3,Grumpier Old Men (1995),(no genres listed)\n"
    )
    for target in (root, root / "ratings.csv"):
        ds = read_interactions(target)
        assert ds.explicit
        assert ds.frame["value"].tolist() == [4.0, 3.5, 0.5]
        assert ds.frame["user_id"].tolist() == ["1", "1", "2"]
    cat = ds.catalog.set_index("item_id")
    assert cat.loc["11", "name"] == "American President, The (1995)"
    assert cat.loc["11", "category"] == "Comedy"
    assert cat.loc["3", "category"] == "" and cat.loc["3", "genres"] == ""


def test_folder_without_ratings_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(DataError, match="no MovieLens ratings file"):
        read_movielens(tmp_path)
