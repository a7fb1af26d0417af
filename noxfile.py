"""Automation: tests, floors, lint, typecheck, bench, and the render check of the project's tree."""

from __future__ import annotations

import tomllib
from pathlib import Path

import nox
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

nox.options.sessions = ["tests", "floors", "lint", "typecheck", "render"]
nox.options.error_on_external_run = True
nox.options.reuse_existing_virtualenvs = False

PYPROJECT = Path(__file__).parent / "pyproject.toml"


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, with the real tools (kubectl, validators, linters) it installs."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


def floor_pins(pyproject: Path = PYPROJECT, extra: str = "test") -> list[str]:
    """`name==floor` for every requirement the tests run with: the build backend, the runtime
    dependencies and the extra (with the extras it names, `gitopsgen[validate]`), each at the
    lowest version its specifier allows. A requirement without a floor is an error: its
    oldest release would be whatever pip finds."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    name = canonicalize_name(project["project"]["name"])
    extras = project["project"]["optional-dependencies"]
    wanted = [*project["build-system"]["requires"], *project["project"]["dependencies"]]
    todo, seen = [extra], set()
    while todo:
        current = todo.pop()
        seen.add(current)
        for text in extras[current]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == name:
                todo.extend(sorted(requirement.extras - seen))
            else:
                wanted.append(text)
    pins: dict[str, str] = {}
    for text in wanted:
        requirement = Requirement(text)
        floors = [s.version for s in requirement.specifier if s.operator in (">=", "~=", "==")]
        if len(floors) != 1:
            raise ValueError(f"{text!r} in {pyproject.name}: no single floor (>=, ~= or ==)")
        pins[canonicalize_name(requirement.name)] = floors[0]
    return [f"{pin}=={version}" for pin, version in sorted(pins.items())]


# Run in the session: every pinned distribution is installed, at exactly its floor.
INSTALLED_AS_PINNED = """
import sys
from importlib.metadata import version
from packaging.version import Version
wrong = [
    f"{name}: {version(name)} installed, not {floor}"
    for name, floor in (pin.split("==") for pin in sys.argv[1:])
    if Version(version(name)) != Version(floor)
]
sys.exit("\\n".join(wrong) or None)
"""


@nox.session
def floors(session: nox.Session) -> None:
    """The test suite at the floors: every build, runtime and test dependency at the oldest
    version pyproject.toml allows (their own dependencies resolve as pip chooses)."""
    # Beside the session's virtualenv (session.create_tmp would set TMPDIR inside the checkout,
    # a git work tree, for the tests too).
    constraints = Path(session.virtualenv.location) / "floors.txt"
    constraints.write_text("".join(f"{pin}\n" for pin in floor_pins()), encoding="utf-8")
    session.log("floors: " + ", ".join(floor_pins()))
    # The build backend at its floor builds and installs the wheel (no isolated build
    # environment, which would take the newest hatchling); the tests import the checkout.
    session.install("-c", str(constraints), "hatchling")
    session.install("-c", str(constraints), "--no-build-isolation", ".[test]")
    session.run("python", "-m", "pip", "check")
    session.run("python", "-c", INSTALLED_AS_PINNED, *floor_pins(), silent=True)
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[dev]")
    session.run("mypy")


@nox.session
def render(session: nox.Session) -> None:
    """out/ must be exactly what services.toml renders to."""
    session.install(".")
    session.run("gitopsgen", "check", "-c", "services.toml", "-o", "out")


@nox.session
def bench(session: nox.Session) -> None:
    """Build, no-op rebuild and check at 100 and 1,000 services, against a raw write."""
    session.install(".")
    session.run("python", "bench/bench.py", *session.posargs)
