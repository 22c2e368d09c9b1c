"""Local readers for the MovieLens layouts: 100K (u.data), 1M/10M (ratings.dat), CSV releases."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pv

from nextbuy.data.catalog import normalize_catalog
from nextbuy.data.columns import ColumnMap, canonical_frame, missing_column_message
from nextbuy.data.dataset import Dataset
from nextbuy.data.feedback import EXPLICIT, value_range
from nextbuy.data.readers import empty_file_error, read_plain_table
from nextbuy.errors import DataError

#: Genre names of MovieLens 100K, in u.item flag order (used when u.genre is absent).
ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip

_RATINGS = ColumnMap(user="user_id", item="item_id", value="rating", time="timestamp")


def read_movielens(path: str | Path) -> Dataset:
    """Read a MovieLens release folder (or its ratings file) into an explicit Dataset.

    Layouts: 100K (``u.data`` tab-separated, ``u.item`` latin-1 with genre flags), 1M/10M
    (``ratings.dat``/``movies.dat``, ``::``-separated) and the CSV releases (``ratings.csv``
    with userId,movieId,rating,timestamp and ``movies.csv``). The catalog has name = title,
    category = first genre, all genres ``|``-joined in ``genres``, and ``year``.
    """
    ratings, layout = _locate(Path(path))
    read_ratings, catalog_name, read_items = _LAYOUTS[layout]
    frame = read_ratings(ratings)
    movies = ratings.parent / catalog_name
    catalog = read_items(movies) if movies.is_file() else None
    lo, hi = value_range(frame["value"].to_numpy())
    feedback = f"{EXPLICIT} {lo:g}-{hi:g}: MovieLens ratings"
    return Dataset(frame, True, str(ratings), catalog=catalog, feedback=feedback)


def is_movielens_header(columns: Sequence[str]) -> bool:
    """True for the header of a MovieLens CSV release (``userId,movieId,...``)."""
    return "userId" in columns and "movieId" in columns and "user_id" not in columns


def _locate(path: Path) -> tuple[Path, str]:
    """The ratings file and its layout (100k, 1m, csv) for a folder or a file."""
    if path.is_dir():
        folders = [path, *sorted(p for p in path.iterdir() if p.is_dir())]
        for folder in folders:  # the folder itself, or an extracted zip's one sub-folder
            for name, layout in (("u.data", "100k"), ("ratings.dat", "1m"), ("ratings.csv", "csv")):
                if (folder / name).is_file():
                    return folder / name, layout
        raise DataError(f"{path}: no MovieLens ratings file (u.data, ratings.dat or ratings.csv)")
    if not path.is_file():
        raise DataError(f"{path}: no such file or folder")
    if path.name == "u.data":
        return path, "100k"
    if path.suffix == ".dat":
        return path, "1m"
    return path, "csv"


def _ratings_100k(ratings: Path) -> pd.DataFrame:
    """``u.data``: user, item, rating, timestamp, tab-separated, no header."""
    names = ["user_id", "item_id", "rating", "timestamp"]
    raw = _read_headerless(ratings, "\t", names, ("user_id", "item_id"), any_whitespace=True)
    return canonical_frame(raw, _RATINGS, str(ratings))[0]


def _ratings_dat(ratings: Path) -> pd.DataFrame:
    """``ratings.dat``: ``UserID::MovieID::Rating::Timestamp`` (1M and 10M releases)."""
    # '::' is two one-character separators with an empty field between: read with ':'
    names = ["user_id", "_a", "item_id", "_b", "rating", "_c", "timestamp"]
    raw = _read_headerless(ratings, ":", names, ("user_id", "item_id"))
    ratings_only = raw[["user_id", "item_id", "rating", "timestamp"]]
    return canonical_frame(ratings_only, _RATINGS, str(ratings))[0]


def _ratings_csv(ratings: Path) -> pd.DataFrame:
    """``ratings.csv`` (userId,movieId,rating,timestamp) of the CSV releases."""
    cols = ColumnMap(user="userId", item="movieId", value="rating", time="timestamp")
    raw = read_plain_table(ratings, "csv", string_columns=("userId", "movieId"))
    return canonical_frame(raw, cols, str(ratings))[0]


def _read_headerless(
    path: Path,
    sep: str,
    names: list[str],
    id_columns: tuple[str, ...],
    any_whitespace: bool = False,
) -> pd.DataFrame:
    """A header-less separated file through pyarrow, ID columns kept as text.

    With ``any_whitespace`` every run of spaces and tabs separates fields: copies of
    ``u.data`` edited by hand sometimes hold lines with spaces instead of tabs.
    """
    source: Path | pa.BufferReader = path
    if any_whitespace:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DataError(f"{path}: cannot read ({exc})") from None
        if b" " in data:
            source = pa.BufferReader(re.sub(rb"[ \t]+", sep.encode(), data))
    try:
        table = pv.read_csv(
            source,
            read_options=pv.ReadOptions(column_names=names),
            parse_options=pv.ParseOptions(delimiter=sep, quote_char=False),
            convert_options=pv.ConvertOptions(
                column_types={c: pa.string() for c in id_columns}, strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid as exc:
        msg = str(exc).splitlines()[0]
        if "Empty CSV file" in msg:
            raise empty_file_error(path, "one rating per line") from None
        raise DataError(f"{path}: not a MovieLens ratings file ({msg})") from None
    if table.num_rows == 0:
        raise empty_file_error(path, "one rating per line")
    return table.to_pandas()


def _catalog_100k(items: Path) -> pd.DataFrame:
    """``u.item``: id|title|release date|video date|IMDb URL|19 genre flags (latin-1)."""
    genre_file = items.parent / "u.genre"
    genres = list(ML100K_GENRES)
    if genre_file.is_file():
        listed = pd.read_csv(
            genre_file, sep="|", header=None, encoding="latin-1", dtype=str,
            keep_default_na=False, quoting=csv.QUOTE_NONE,
        )  # fmt: skip
        listed = listed[listed[0] != ""]
        if len(listed):
            genres = listed[0].tolist()
    raw = pd.read_csv(
        items, sep="|", header=None, encoding="latin-1", dtype=str, keep_default_na=False,
        quoting=csv.QUOTE_NONE,
    )  # fmt: skip
    if raw.shape[1] < 5 + len(genres):
        raise DataError(
            f"{items}: expected {5 + len(genres)} '|'-separated fields per line "
            f"(id, title, dates, URL, {len(genres)} genre flags), found {raw.shape[1]}"
        )
    flags = raw.iloc[:, 5 : 5 + len(genres)].to_numpy() == "1"
    year = _year_from_title(raw[1]).fillna(
        pd.to_numeric(raw[2].str[-4:], errors="coerce").astype("Int64")
    )
    frame = pd.DataFrame({"item_id": raw[0], "name": raw[1]})
    return _with_genres(frame, flags, np.asarray(genres, dtype=object), year, str(items))


def _catalog_dat(movies: Path) -> pd.DataFrame:
    """``movies.dat``: ``MovieID::Title::Genres`` (latin-1 in 1M; titles may hold ':')."""
    data = movies.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    lines = pd.Series(text.splitlines(), dtype="str")
    lines = lines[lines.str.strip() != ""]
    parts = lines.str.split("::", n=2, expand=True)
    if parts.shape[1] < 3:
        raise DataError(f"{movies}: expected 'MovieID::Title::Genres' on every line")
    return _catalog_from_genre_strings(parts[0], parts[1], parts[2].fillna(""), str(movies))


def _catalog_csv(movies: Path) -> pd.DataFrame:
    """``movies.csv``: movieId,title,genres (UTF-8, quoted titles)."""
    raw = read_plain_table(movies, "csv", string_columns=("movieId", "title", "genres"))
    for col in ("movieId", "title", "genres"):
        if col not in raw.columns:
            raise DataError(missing_column_message(str(movies), col, raw.columns))
    return _catalog_from_genre_strings(raw["movieId"], raw["title"], raw["genres"], str(movies))


def _catalog_from_genre_strings(
    ids: pd.Series, titles: pd.Series, genres: pd.Series, source: str
) -> pd.DataFrame:
    genres = genres.astype("str").fillna("").replace("(no genres listed)", "")
    first = genres.str.split("|", n=1).str[0].fillna("")
    frame = pd.DataFrame(
        {
            "item_id": ids.astype("str").to_numpy(),
            "name": titles.astype("str").str.strip().to_numpy(),
            "category": first.to_numpy(),
            "genres": genres.to_numpy(),
            "year": _year_from_title(titles).array,
        }
    )
    return normalize_catalog(frame, source)


def _with_genres(
    frame: pd.DataFrame, flags: np.ndarray, names: np.ndarray, year: pd.Series, source: str
) -> pd.DataFrame:
    """Add category (first flagged genre) and genres (all flagged, '|'-joined)."""
    joined = np.full(len(frame), "", dtype=object)
    for g, name in enumerate(names):  # loop over the 19 genres, not over movies
        joined = np.where(flags[:, g], joined + (name + "|"), joined)
    has = flags.any(axis=1)
    frame["category"] = np.where(has, names[flags.argmax(axis=1)], "")
    frame["genres"] = pd.Series(joined, dtype="str").str.rstrip("|").to_numpy()
    frame["year"] = year.array
    return normalize_catalog(frame, source)


def _year_from_title(titles: pd.Series) -> pd.Series:
    """Release year from a title ending in ``(1995)``; NA when there is none."""
    found = titles.astype("str").str.extract(r"\((\d{4})\)\s*$", expand=False)
    return pd.to_numeric(found, errors="coerce").astype("Int64")


#: layout -> (ratings reader, catalog file beside the ratings, catalog reader)
_LAYOUTS: dict[str, tuple[Callable[[Path], pd.DataFrame], str, Callable[[Path], pd.DataFrame]]] = {
    "100k": (_ratings_100k, "u.item", _catalog_100k),
    "1m": (_ratings_dat, "movies.dat", _catalog_dat),
    "csv": (_ratings_csv, "movies.csv", _catalog_csv),
}
