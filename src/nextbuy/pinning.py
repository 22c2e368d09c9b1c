"""A served model that cannot change under the server: a private, verified copy of a version.

Memory-mapping the version folder itself serves whatever is on disk: flipped bytes show in
the next answer and a truncated file kills the process with SIGBUS. :func:`load_pinned`
instead copies every file the manifest lists into a private folder, hashing each byte as it
copies (so what is served is exactly what was verified, with no window between check and
read), loads the copy (memory-mapped by default) and unlinks it at once: the mapping keeps
the unlinked files alive, and no other process can open, rewrite or truncate them.
``benchmarks/pinning.py`` measures this against plain mapping and reading into memory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import tempfile
from pathlib import Path

from nextbuy.artifacts import MANIFEST, ModelArtifact, load_artifact, read_manifest
from nextbuy.errors import ArtifactError
from nextbuy.manifest import file_sha256

_CHUNK = 1 << 20
_PREFIX = ".pin-"


def copy_verified(source: Path, target: Path, expected: str) -> None:
    """Copy ``source`` to ``target`` hashing what was read; a different sha256 is an error."""
    digest = hashlib.sha256()
    with open(source, "rb") as src, open(target, "wb") as dst:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
    if digest.hexdigest() != expected:
        raise ArtifactError(
            f"{source}: checksum mismatch (the file changed after it was saved); "
            "retrain or restore this version"
        )


def pin_dir(version_dir: Path, configured: Path | None = None) -> Path:
    """Where private copies are made: ``configured``, else ``MODELS_DIR/.serving`` (the
    system temporary folder when that cannot be created)."""
    folder = configured or version_dir.parent.parent / ".serving"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return Path(tempfile.gettempdir())
    return folder


def load_pinned(version_dir: Path, mmap: bool = True, workdir: Path | None = None) -> ModelArtifact:
    """Load a private, verified copy of ``version_dir`` (its ``path`` stays ``version_dir``).

    Any file missing or differing from the manifest's sha256 raises :class:`ArtifactError`
    naming it; nothing is left behind either way.
    """
    private = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=pin_dir(version_dir, workdir)))
    try:
        if not (version_dir / MANIFEST).is_file():
            read_manifest(version_dir)  # raises the usual "not a NextBuy artifact"
        shutil.copyfile(version_dir / MANIFEST, private / MANIFEST)
        manifest = read_manifest(private)
        files = manifest.get("files")
        if not isinstance(files, dict) or not files:
            raise ArtifactError(f"{version_dir}: manifest lists no files to verify")
        for rel, expected in files.items():
            source = version_dir / rel
            if Path(rel).is_absolute() or ".." in Path(rel).parts:
                raise ArtifactError(f"{version_dir}: manifest names a file outside it: {rel}")
            if not source.is_file():
                raise ArtifactError(f"{version_dir}: file {rel} is missing")
            (private / rel).parent.mkdir(parents=True, exist_ok=True)
            copy_verified(source, private / rel, str(expected))
        artifact = load_artifact(private, mmap=mmap, verify=False)
    except OSError as exc:
        raise ArtifactError(f"{version_dir}: cannot copy for serving ({exc})") from exc
    finally:
        shutil.rmtree(private, ignore_errors=True)  # mapped files live on, unlinked
    return dataclasses.replace(artifact, path=version_dir)


def changed_files(version_dir: Path, manifest: dict[str, object]) -> list[str]:
    """Files of ``version_dir`` that no longer match the manifest (missing ones included)."""
    files = manifest.get("files")
    if not isinstance(files, dict):
        return []
    out = []
    for rel, expected in files.items():
        path = version_dir / rel
        try:
            same = file_sha256(path) == expected
        except OSError:
            same = False
        if not same:
            out.append(str(rel))
    return out
