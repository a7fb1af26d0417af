"""Shared fixtures: the fixture specs, loaded, resolved and rendered."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from generator.render import render_tree
from generator.resolve import Model, resolve
from generator.spec.load import load_text

DATA = Path(__file__).parent / "data"
SPECS = DATA / "specs"
SPEC_NAMES = ("reference", "gcp", "minimal", "charts", "smoke")


@cache
def model_of(name: str) -> Model:
    path = SPECS / f"{name}.toml"
    return resolve(load_text(path.read_text(encoding="utf-8"), str(path)).spec)


@cache
def tree_of(name: str) -> dict[str, str]:
    return render_tree(model_of(name))


@pytest.fixture(params=SPEC_NAMES)
def spec_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(autouse=True)
def isolated_build_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Builds in tests keep their no-op cache in the test's temp area, not the user's home."""
    monkeypatch.setenv("GITOPSGEN_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "build-cache"))


def warnings_of(config: Path) -> str:
    """What a command prints on stderr for a valid file: each of its warnings, on one line."""
    loaded = load_text(config.read_text(encoding="utf-8"), str(config))
    return "".join(f"{warning} (warning)\n" for warning in loaded.warnings)
