"""`set-image` and `promote`: the file changes by exactly the intended lines, or not at all."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from generator.cli import main
from tests.conftest import SPECS

SMALL = """\
# A services file with the layouts the commands must keep.
[gitops]
repo = "acme/gitops"
generator = "gitopsgen @ git+https://github.com/bank-org/gitopsgen@fd0cbc4f9db151ed07109a4340d6145c805f7f00"
[cloud]
provider = "aws"
region = "eu-west-1"
account = "222222222222"

[platform]
owners = ["@acme/platform"]

[environments.dev]
cluster = "https://dev.example"

[environments.staging]
cluster = "https://staging.example"
promote_from = "dev"

[environments.prod]
cluster = "https://prod.example"
promote_from = "staging"

[teams.web]
owners = ["@acme/web"]

[services.hello]
team = "web"

[services.hello.envs.dev]
tag = '1.0.0'    # literal string, with a comment

[services.hello.envs.prod]
replicas = 4

[services.inline]
team = "web"
envs = { dev = { tag = "2.0.0" } }

[services.bare]
team = "web"
port = 0
"""


def diff(old: str, new: str, context: int = 0) -> list[str]:
    """The unified diff's hunk lines, without the file header lines."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), n=context
    )
    return [line for line in lines if not line.startswith(("---", "+++"))]


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    path = tmp_path / "services.toml"
    shutil.copy(SPECS / "reference.toml", path)
    return path


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "services.toml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def run(path: Path, *args: str) -> int:
    return main([*args, "-c", str(path)])


def test_set_image_changes_only_the_tag_line(
    reference: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = reference.read_text(encoding="utf-8")
    assert run(reference, "set-image", "payments-api", "dev", "sha-1234567") == 0
    assert diff(before, reference.read_text(encoding="utf-8")) == [
        "@@ -116 +116 @@\n",
        '-tag = "abc123def"\n',
        '+tag = "sha-1234567"\n',
    ]
    assert capsys.readouterr().out == (
        f'services.payments-api.envs.dev.tag in {reference}: "abc123def" -> "sha-1234567"\n'
    )


def test_set_image_keeps_literal_quoting_and_the_comment(small: Path) -> None:
    assert run(small, "set-image", "hello", "dev", "1.1.0") == 0
    assert diff(SMALL, small.read_text(encoding="utf-8")) == [
        "@@ -31 +31 @@\n",
        "-tag = '1.0.0'    # literal string, with a comment\n",
        "+tag = '1.1.0'    # literal string, with a comment\n",
    ]


def test_set_image_adds_the_tag_under_an_existing_table(small: Path) -> None:
    assert run(small, "set-image", "hello", "prod", "1.1.0") == 0
    assert diff(SMALL, small.read_text(encoding="utf-8"), context=1) == [
        "@@ -33,2 +33,3 @@\n",
        " [services.hello.envs.prod]\n",
        '+tag = "1.1.0"\n',
        " replicas = 4\n",
    ]


def test_promote_creates_the_table_after_the_source_environment(
    reference: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = reference.read_text(encoding="utf-8")
    assert run(reference, "promote", "trading-engine", "--to", "prod") == 0
    after = reference.read_text(encoding="utf-8")
    staging = '[services.trading-engine.envs.staging]\ntag = "v2.4.0-rc1"\n'
    prod = '\n[services.trading-engine.envs.prod]\ntag = "v2.4.0-rc1"\n'
    assert before.count(staging) == 1
    # Right after staging's last key: the comment and blank line below belong to the next table.
    assert after == before.replace(staging, staging + prod)
    assert len(diff(before, after)) == 4  # one hunk of three added lines
    assert capsys.readouterr().out == (
        f"services.trading-engine.envs.prod.tag in {reference}: unset -> "
        '"v2.4.0-rc1" (from staging)\n'
    )


def test_promote_replaces_an_existing_tag(reference: Path) -> None:
    before = reference.read_text(encoding="utf-8")
    assert run(reference, "promote", "payments-api", "--to", "prod") == 0
    assert diff(before, reference.read_text(encoding="utf-8")) == [
        "@@ -125 +125 @@\n",
        '-tag = "def456abc"\n',
        '+tag = "abc123def"\n',
    ]


def test_promote_at_the_end_of_the_file(reference: Path) -> None:
    before = reference.read_text(encoding="utf-8")
    assert run(reference, "promote", "ledger-worker", "--to", "staging") == 0
    assert diff(before, reference.read_text(encoding="utf-8")) == [
        "@@ -178,0 +179,3 @@\n",
        "+\n",
        "+[services.ledger-worker.envs.staging]\n",
        '+tag = "sha-0a1b2c3"\n',
    ]


def test_set_image_for_a_service_without_environments(small: Path) -> None:
    assert run(small, "set-image", "bare", "dev", "0.1.0") == 0
    assert diff(SMALL, small.read_text(encoding="utf-8")) == [
        "@@ -42,0 +43,3 @@\n",
        "+\n",
        "+[services.bare.envs.dev]\n",
        '+tag = "0.1.0"\n',
    ]


def test_inline_environment_tables_stay_inline(small: Path) -> None:
    assert run(small, "promote", "inline", "--to", "staging") == 0
    assert diff(SMALL, small.read_text(encoding="utf-8")) == [
        "@@ -38 +38 @@\n",
        '-envs = { dev = { tag = "2.0.0" } }\n',
        '+envs = { dev = { tag = "2.0.0" }, staging = {tag = "2.0.0"}}\n',
    ]


def test_crlf_line_endings_survive(tmp_path: Path) -> None:
    path = tmp_path / "services.toml"
    original = SMALL.replace("\n", "\r\n").encode()
    path.write_bytes(original)
    assert run(path, "promote", "hello", "--to", "staging") == 0
    assert path.read_bytes() == original.replace(
        b"tag = '1.0.0'    # literal string, with a comment\r\n",
        b"tag = '1.0.0'    # literal string, with a comment\r\n"
        b'\r\n[services.hello.envs.staging]\r\ntag = "1.0.0"\r\n',
    )


def test_the_same_tag_writes_nothing(reference: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stat = reference.stat()
    assert run(reference, "set-image", "orders-api", "dev", "sha-7f3e2a1") == 0
    assert reference.stat().st_mtime_ns == stat.st_mtime_ns
    assert capsys.readouterr().out == (
        f'services.orders-api.envs.dev.tag in {reference} is already "sha-7f3e2a1": nothing to do\n'
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("set-image", "paymnts-api", "dev", "x1"),
            "unknown service 'paymnts-api' (did you mean 'payments-api'?)",
        ),
        (
            ("set-image", "payments-api", "prd", "x1"),
            "unknown environment 'prd' (did you mean 'prod'?)",
        ),
        (("promote", "payments-api", "--to", "qa"), "unknown environment 'qa'"),
        (
            ("promote", "payments-api", "--to", "dev"),
            "environment 'dev' has no promote_from: nothing to promote",
        ),
        (
            ("promote", "ledger-worker", "--to", "prod"),
            "cannot promote 'ledger-worker' to 'prod': it has no tag in 'staging'",
        ),
    ],
)
def test_refusals_name_the_problem_and_change_nothing(
    reference: Path,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    message: str,
) -> None:
    before = reference.read_bytes()
    assert run(reference, *args) == 2
    captured = capsys.readouterr()
    assert captured.err == f"{reference}: {message}\n"
    assert captured.out == ""
    assert reference.read_bytes() == before


def test_both_names_wrong_reports_both(reference: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(reference, "set-image", "nope", "prd", "x1") == 2
    assert capsys.readouterr().err == (
        f"{reference}: unknown service 'nope'\n"
        f"{reference}: unknown environment 'prd' (did you mean 'prod'?)\n"
    )


@pytest.mark.parametrize("tag", ["latest", ""])
def test_a_tag_the_loader_rejects_is_never_written(
    reference: Path, capsys: pytest.CaptureFixture[str], tag: str
) -> None:
    before = reference.read_bytes()
    assert run(reference, "set-image", "payments-api", "dev", tag) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{reference}:116:1: services.payments-api.envs.dev.tag: ")
    assert reference.read_bytes() == before


def test_a_broken_services_file_is_reported_not_edited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "services.toml"
    path.write_text(SMALL.replace('team = "web"\n', 'team = "wbe"\n', 1), encoding="utf-8")
    before = path.read_bytes()
    assert run(path, "set-image", "hello", "dev", "1.1.0") == 2
    assert "services.hello.team" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_a_missing_services_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "services.toml"
    assert run(path, "set-image", "hello", "dev", "1.1.0") == 2
    assert capsys.readouterr().err == f"{path}: cannot read: No such file or directory\n"
