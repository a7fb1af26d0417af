"""Mutants of the fixture services files, seeded and bounded: every one is built, checked
and listed; each run exits 0, 1 or 2, and no traceback (exit 3) ever reaches the user."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.cli import main
from tests.conftest import SPECS

SOURCES = {
    name: (SPECS / f"{name}.toml").read_text(encoding="utf-8")
    for name in ("reference", "charts", "gcp")
}
# Values that mean something to a consumer: a GitHub expression, a Go template, a shell, a
# git ref, YAML, Kubernetes' number parsers, TOML's own limits.
NASTY = [
    '"${{ secrets.GITOPS_APP_PRIVATE_KEY }}"',
    '"{{ .cluster }}"',
    '"$(touch /tmp/x)"',
    '"-rf"',
    '"../x"',
    '".main"',
    '"a\\u202eb"',
    '"a\\u0085b"',
    '"a\\u2028b"',
    '"\\u007f"',
    '"\\ttab"',
    '"1e99999999"',
    '"0.25"',
    '"latest"',
    '"^1.2"',
    '""',
    "18446744073709551616",
    "2147483648",
    "-1",
    "0",
    "1e308",
    "nan",
    "inf",
    "1979-05-27T07:32:00Z",
    "[" * 60 + "]" * 60,
    "{ a = { b = { c = 1 } } }",
    "[]",
    "{}",
    "true",
]


def run(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(args))
    return code, err.getvalue()


def mutate(text: str, line: int, how: int, value: str) -> str:
    """Replace the value of one `key = value` line, or the line itself, or insert one."""
    lines = text.splitlines()
    index = line % len(lines)
    current = lines[index]
    if how == 0 and "=" in current and not current.lstrip().startswith("#"):
        key = current.split("=", 1)[0]
        lines[index] = f"{key}= {value}"
    elif how == 1:
        lines.insert(index, f"zz{line} = {value}")
    elif how == 2 and current.startswith("["):
        lines[index] = current.replace("]", "." + value.strip('"')[:20] + "]", 1)
    else:
        lines[index] = current[: line % (len(current) + 1)] + value.strip('"')
    return "\n".join(lines) + "\n"


@settings(
    max_examples=120,
    derandomize=True,  # seeded: the same mutants every run
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
@given(
    source=st.sampled_from(sorted(SOURCES)),
    line=st.integers(min_value=0, max_value=10_000),
    how=st.integers(min_value=0, max_value=3),
    value=st.sampled_from(NASTY),
)
def test_no_mutant_gets_a_traceback(source: str, line: int, how: int, value: str) -> None:
    text = mutate(SOURCES[source], line, how, value)
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "services.toml"
        config.write_text(text, encoding="utf-8")
        out = Path(scratch) / "out"
        for args in (
            ("build", "-c", str(config), "-o", str(out)),
            ("check", "-c", str(config), "-o", str(out)),
            ("apps", "-c", str(config)),
        ):
            code, err = run(*args)
            assert code in (0, 1, 2), (args[0], text, err)
            assert "Traceback" not in err, (args[0], err)


@pytest.mark.parametrize(
    "argv",
    [
        ["windows", "--at=--"],
        ["build", "-c=--"],
        ["promote", "x", "--to=--"],
        ["validate", "--charts=--"],
        ["render", "a", "b", "--charts"],
    ],
)
def test_odd_argument_forms_are_usage_errors(argv: list[str]) -> None:
    code, err = run(*argv)
    assert code == 2, err
    assert "Traceback" not in err
