"""Automation: tests, lint, typecheck, bench, and the render check of the project's own tree."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "render"]
nox.options.error_on_external_run = True
nox.options.reuse_existing_virtualenvs = False


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, with the real tools (kubectl, validators, linters) it installs."""
    session.install("-e", ".[test]")
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
