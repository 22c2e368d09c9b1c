"""Download MovieLens releases from GroupLens once, verify them and cache them locally."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from nextbuy.errors import DataError
from nextbuy.fsio import atomic_path, atomic_write_text

_BASE = "https://files.grouplens.org/datasets/movielens/"

#: name -> (zip URL, MD5 of the zip or None). The pinned MD5s are the ones GroupLens
#: publishes next to each archive (``<zip>.md5``). ml-latest-small is re-released from
#: time to time, so it is not pinned: its MD5 is read from the published ``.md5`` file at
#: download time and recorded in the cache, and the cached zip is checked against that.
MOVIELENS: dict[str, tuple[str, str | None]] = {
    "movielens-100k": (_BASE + "ml-100k.zip", "0e33842e24a9c977be4e0107933c0723"),
    "movielens-1m": (_BASE + "ml-1m.zip", "c4d9eecfca2ab87c1945afe126590906"),
    "movielens-latest-small": (_BASE + "ml-latest-small.zip", None),
    "movielens-20m": (_BASE + "ml-20m.zip", "cd245b17a1ae2cc31bb14903e1204af3"),
}

_ALIASES = {
    "ml-100k": "movielens-100k",
    "100k": "movielens-100k",
    "ml-1m": "movielens-1m",
    "1m": "movielens-1m",
    "ml-latest-small": "movielens-latest-small",
    "latest-small": "movielens-latest-small",
    "ml-20m": "movielens-20m",
    "20m": "movielens-20m",
}
_OK_MARK = ".nextbuy-md5"  # written into the extracted folder once the zip checked out


def default_cache_dir() -> Path:
    """Where downloads live: ``$NEXTBUY_CACHE``, else ``~/.cache/nextbuy``."""
    env = os.environ.get("NEXTBUY_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "nextbuy"


def fetch_movielens(name: str, cache_dir: Path | None = None, timeout: float = 30) -> Path:
    """Return the extracted folder of a MovieLens release, downloading it only if needed.

    A cached zip whose checksum matches is extracted without any network access. Otherwise
    the zip is downloaded to a temporary file, its MD5 verified, then moved into the cache
    and extracted into a temporary folder that is renamed into place (atomic for readers).
    The returned folder is what :func:`nextbuy.data.movielens.read_movielens` reads.
    """
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in MOVIELENS:
        known = ", ".join(MOVIELENS)
        raise DataError(f"unknown MovieLens release {name!r}: expected one of {known}")
    url, pinned = MOVIELENS[key]
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    zip_name = url.rsplit("/", 1)[1]
    stem = zip_name.removesuffix(".zip")
    zip_path = root / zip_name
    target = root / stem
    recorded = root / f"{zip_name}.md5"

    expected = pinned or _read_recorded(recorded)
    if target.is_dir() and expected and _read_recorded(target / _OK_MARK) == expected:
        return target
    if zip_path.is_file() and expected:
        actual = _md5(zip_path)
        if actual != expected:
            raise DataError(
                f"{zip_path}: MD5 {actual} does not match the published {expected}; "
                f"delete the file and run again, or download {url} there by hand"
            )
        return _extract(zip_path, target, stem, expected)

    root.mkdir(parents=True, exist_ok=True)
    if expected is None:
        expected = _published_md5(url, timeout, zip_path)
    _download(url, zip_path, expected, timeout)
    if pinned is None:
        atomic_write_text(recorded, expected + "\n")
    return _extract(zip_path, target, stem, expected)


def _read_recorded(path: Path) -> str | None:
    """The 32-hex-digit MD5 written in a file, or None."""
    try:
        found = re.search(r"\b[0-9a-fA-F]{32}\b", path.read_text(errors="replace"))
    except OSError:
        return None
    return found.group(0).lower() if found else None


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _offline_error(url: str, zip_path: Path, reason: object) -> DataError:
    return DataError(
        f"could not download {url} ({reason}); download it by hand and put it at {zip_path}"
    )


def _published_md5(url: str, timeout: float, zip_path: Path) -> str:
    """MD5 from GroupLens's ``<zip>.md5`` file (``MD5 (name.zip) = <hex>``)."""
    try:
        with urllib.request.urlopen(url + ".md5", timeout=timeout) as resp:
            text = resp.read(4096).decode("ascii", errors="replace")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise _offline_error(url + ".md5", zip_path, getattr(exc, "reason", exc)) from None
    found = re.search(r"\b[0-9a-fA-F]{32}\b", text)
    if not found:
        raise DataError(f"{url}.md5: no MD5 checksum found in the published file")
    return found.group(0).lower()


def _download(url: str, zip_path: Path, expected: str, timeout: float) -> None:
    """Stream ``url`` into a temporary file beside ``zip_path``, check its MD5, rename it."""
    digest = hashlib.md5(usedforsecurity=False)
    with atomic_path(zip_path) as tmp:
        try:
            with tmp.open("wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                for block in iter(lambda: resp.read(1 << 20), b""):
                    out.write(block)
                    digest.update(block)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise _offline_error(url, zip_path, getattr(exc, "reason", exc)) from None
        actual = digest.hexdigest()
        if actual != expected:
            raise DataError(
                f"{url}: downloaded file has MD5 {actual}, expected {expected}; "
                "the download was corrupted or the release changed"
            )


def _extract(zip_path: Path, target: Path, stem: str, md5: str) -> Path:
    """Extract into a temporary folder, then rename its release folder to ``target``."""
    staging = Path(tempfile.mkdtemp(prefix=f".{stem}.", dir=target.parent))
    try:
        try:
            with zipfile.ZipFile(zip_path) as zf:
                for member in zf.namelist():  # refuse entries that would land outside
                    dest = (staging / member).resolve()
                    if not dest.is_relative_to(staging.resolve()):
                        raise DataError(f"{zip_path}: unsafe path {member!r} in the archive")
                zf.extractall(staging)
        except zipfile.BadZipFile as exc:
            raise DataError(f"{zip_path}: not a valid zip archive ({exc})") from None
        inner = staging / stem
        if not inner.is_dir():  # archive without a top folder: the staging dir is the release
            inner = staging
        (inner / _OK_MARK).write_text(md5 + "\n")
        if target.exists():
            shutil.rmtree(target)
        try:
            os.replace(inner, target)
        except OSError:  # another process extracted it meanwhile: fine if it checks out
            if _read_recorded(target / _OK_MARK) != md5:
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
