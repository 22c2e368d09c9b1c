"""Package metadata: the licence is an SPDX expression with its file (no setuptools warning)."""

from __future__ import annotations

import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_license_is_spdx_with_a_file_and_setuptools_does_not_warn() -> None:
    from setuptools.config.pyprojecttoml import apply_configuration, read_configuration
    from setuptools.dist import Distribution

    project = read_configuration(ROOT / "pyproject.toml")["project"]
    assert project["license"] == "Apache-2.0"
    assert all((ROOT / name).is_file() for name in project["license-files"])
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        apply_configuration(Distribution(), ROOT / "pyproject.toml")
    about_license = [str(w.message) for w in caught if "license" in str(w.message).lower()]
    assert about_license == []
