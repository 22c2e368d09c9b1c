"""fetch_movielens without the network: cached zips, checksums, offline errors."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from nextbuy.data import fetch
from nextbuy.data.fetch import MOVIELENS, fetch_movielens
from nextbuy.data.movielens import read_movielens
from nextbuy.errors import DataError


def _zip(path: Path) -> str:
    """A tiny ml-100k.zip (top folder ml-100k/, like GroupLens's); returns its MD5."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ml-100k/u.data", "1\t10\t4\t881250949\n2\t10\t5\t881250950\n")
        zf.writestr("ml-100k/README", "tiny")
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_registry_pins_the_published_checksums() -> None:
    assert MOVIELENS["movielens-100k"] == (
        "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        "0e33842e24a9c977be4e0107933c0723",
    )
    assert MOVIELENS["movielens-1m"][1] == "c4d9eecfca2ab87c1945afe126590906"
    assert MOVIELENS["movielens-20m"][1] == "cd245b17a1ae2cc31bb14903e1204af3"
    assert MOVIELENS["movielens-latest-small"][1] is None  # checked against the .md5 file


def test_cached_zip_is_verified_and_extracted_without_network(tmp_path, monkeypatch) -> None:
    md5 = _zip(tmp_path / "ml-100k.zip")
    # the URL refuses connections: any network use would fail the test
    monkeypatch.setitem(MOVIELENS, "movielens-100k", ("http://127.0.0.1:9/ml-100k.zip", md5))
    out = fetch_movielens("movielens-100k", cache_dir=tmp_path)
    assert out == tmp_path / "ml-100k"
    assert len(read_movielens(out).frame) == 2
    (tmp_path / "ml-100k.zip").unlink()  # extracted and marked: the zip is no longer needed
    assert fetch_movielens("ml-100k", cache_dir=tmp_path) == out
    assert not list(tmp_path.glob(".ml-100k*"))  # no staging leftovers


def test_env_variable_sets_the_cache(tmp_path, monkeypatch) -> None:
    md5 = _zip(tmp_path / "ml-100k.zip")
    monkeypatch.setitem(MOVIELENS, "movielens-100k", ("http://127.0.0.1:9/ml-100k.zip", md5))
    monkeypatch.setenv("NEXTBUY_CACHE", str(tmp_path))
    assert fetch.default_cache_dir() == tmp_path
    assert fetch_movielens("movielens-100k") == tmp_path / "ml-100k"


def test_checksum_mismatch_is_reported(tmp_path, monkeypatch) -> None:
    _zip(tmp_path / "ml-100k.zip")
    monkeypatch.setitem(MOVIELENS, "movielens-100k", ("http://127.0.0.1:9/ml-100k.zip", "0" * 32))
    with pytest.raises(DataError, match="does not match the published 0000"):
        fetch_movielens("movielens-100k", cache_dir=tmp_path)
    assert not (tmp_path / "ml-100k").exists()


def test_offline_download_says_where_to_put_the_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(MOVIELENS, "movielens-1m", ("http://127.0.0.1:9/ml-1m.zip", "1" * 32))
    with pytest.raises(DataError) as err:
        fetch_movielens("movielens-1m", cache_dir=tmp_path, timeout=5)
    msg = str(err.value)
    assert msg.startswith("could not download http://127.0.0.1:9/ml-1m.zip")
    assert f"put it at {tmp_path / 'ml-1m.zip'}" in msg
    assert not list(tmp_path.glob("*ml-1m*"))  # no partial file left behind


def test_unpinned_release_without_network_fails_cleanly(tmp_path, monkeypatch) -> None:
    url = "http://127.0.0.1:9/ml-latest-small.zip"
    monkeypatch.setitem(MOVIELENS, "movielens-latest-small", (url, None))
    with pytest.raises(DataError, match=r"could not download .*ml-latest-small\.zip\.md5"):
        fetch_movielens("movielens-latest-small", cache_dir=tmp_path, timeout=5)


def test_unknown_release_lists_the_known_ones(tmp_path) -> None:
    with pytest.raises(
        DataError, match="unknown MovieLens release 'ml-5k': expected one of movielens-100k"
    ):
        fetch_movielens("ml-5k", cache_dir=tmp_path)


@pytest.fixture
def local_server(tmp_path):
    """A loopback HTTP server over tmp_path/www (no outside network involved)."""
    import functools
    import http.server
    import threading

    www = tmp_path / "www"
    www.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_download_verifies_and_extracts(tmp_path, monkeypatch, local_server) -> None:
    www, base = local_server
    md5 = _zip(www / "ml-100k.zip")
    cache = tmp_path / "cache"
    monkeypatch.setitem(MOVIELENS, "movielens-100k", (base + "ml-100k.zip", md5))
    out = fetch_movielens("movielens-100k", cache_dir=cache)
    assert (cache / "ml-100k.zip").read_bytes() == (www / "ml-100k.zip").read_bytes()
    assert read_movielens(out).frame["value"].tolist() == [4.0, 5.0]
    assert sorted(p.name for p in cache.iterdir()) == ["ml-100k", "ml-100k.zip"]


def test_corrupted_download_is_rejected(tmp_path, monkeypatch, local_server) -> None:
    www, base = local_server
    _zip(www / "ml-100k.zip")
    cache = tmp_path / "cache"
    monkeypatch.setitem(MOVIELENS, "movielens-100k", (base + "ml-100k.zip", "f" * 32))
    with pytest.raises(DataError, match="downloaded file has MD5 .* expected ffff"):
        fetch_movielens("movielens-100k", cache_dir=cache)
    assert list(cache.iterdir()) == []


def test_unpinned_release_uses_the_published_md5(tmp_path, monkeypatch, local_server) -> None:
    www, base = local_server
    with zipfile.ZipFile(www / "ml-latest-small.zip", "w") as zf:
        zf.writestr("ml-latest-small/ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.5,10\n")
    md5 = hashlib.md5((www / "ml-latest-small.zip").read_bytes()).hexdigest()
    (www / "ml-latest-small.zip.md5").write_text(f"MD5 (ml-latest-small.zip) = {md5}\n")
    cache = tmp_path / "cache"
    url = base + "ml-latest-small.zip"
    monkeypatch.setitem(MOVIELENS, "movielens-latest-small", (url, None))
    out = fetch_movielens("movielens-latest-small", cache_dir=cache)
    assert read_movielens(out).frame["value"].tolist() == [3.5]
    assert md5 in (cache / "ml-latest-small.zip.md5").read_text()
    # offline now: the recorded checksum lets the cache answer alone
    offline = "http://127.0.0.1:9/ml-latest-small.zip"
    monkeypatch.setitem(MOVIELENS, "movielens-latest-small", (offline, None))
    monkeypatch.setattr(fetch, "_OK_MARK", ".other-mark")  # force a re-check of the zip
    assert fetch_movielens("latest-small", cache_dir=cache) == out
