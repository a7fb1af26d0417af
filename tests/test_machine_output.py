"""`--format json` and GitHub Actions annotations: what programs and pull requests read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.cli import main
from generator.commands import machine
from generator.tree import foreign
from tests.conftest import SPECS

MINIMAL = (SPECS / "minimal.toml").read_text(encoding="utf-8")


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def built(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    config, out = tmp_path / "services.toml", tmp_path / "out"
    config.write_text(MINIMAL, encoding="utf-8")
    assert main(["build", "-c", str(config), "-o", str(out)]) == 0
    capsys.readouterr()
    return config, out


def test_input_errors_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "services.toml"
    config.write_text(MINIMAL.replace('team = "web"', 'team = "wbe"'), encoding="utf-8")
    code, out, err = run(capsys, "check", "-c", config, "-o", tmp_path, "--format", "json")
    assert (code, err) == (2, "")
    assert json.loads(out) == {
        "ok": False,
        "errors": [
            {
                "file": str(config),
                "line": 21,
                "column": 1,
                "key_path": "services.hello.team",
                "message": "team 'wbe' does not exist (did you mean 'web'?)",
                "suggestion": "web",
            }
        ],
    }


def test_input_errors_are_annotated_in_github_actions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    config = tmp_path / "services.toml"
    config.write_text(MINIMAL.replace('team = "web"', 'team = "wbe"'), encoding="utf-8")
    code, out, err = run(capsys, "check", "-c", config, "-o", tmp_path)
    assert code == 2
    assert (
        err
        == f"{config}:21:1: services.hello.team: team 'wbe' does not exist (did you mean 'web'?)\n"
    )
    assert out == (
        f"::error file={config},line=21,col=1,title=gitopsgen::services.hello.team: team 'wbe'"
        " does not exist (did you mean 'web'?)\n"
    )


def test_check_as_json(built: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, out = built
    code, text, _ = run(capsys, "check", "-c", config, "-o", out, "--format", "json")
    assert (code, json.loads(text)) == (0, {"ok": True, "directory": str(out), "files": []})
    (out / "apps/hello/base/pdb.yaml").unlink()
    (out / "apps/stray.yaml").write_text("x: 1\n", encoding="utf-8")
    code, text, err = run(capsys, "check", "-c", config, "-o", out, "--format", "json")
    assert code == 1
    assert json.loads(text)["files"] == [
        {"path": "apps/hello/base/pdb.yaml", "state": "missing", "message": None},
        {"path": "apps/stray.yaml", "state": "foreign", "message": foreign.FOREIGN},
    ]
    assert err == f"{out} does not match {config}: run gitopsgen build\n"


def test_check_findings_are_annotated(
    built: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, out = built
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    (out / "apps/hello/base/pdb.yaml").unlink()
    code, text, _ = run(capsys, "check", "-c", config, "-o", out)
    assert code == 1
    assert text.splitlines() == [
        "missing apps/hello/base/pdb.yaml",
        f"::error file={out}/apps/hello/base/pdb.yaml,title=gitopsgen::missing"
        " apps/hello/base/pdb.yaml",
    ]


def test_diff_as_json(built: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, out = built
    config.write_text(MINIMAL.replace('tag = "1.0.0"', 'tag = "1.0.1"'), encoding="utf-8")
    code, text, _ = run(capsys, "diff", "-c", config, "-o", out, "--format", "json")
    document = json.loads(text)
    assert code == 1
    assert document["files"] == [
        {"path": "apps/hello/overlays/dev/kustomization.yaml", "change": "updated"},
        {"path": ".gitopsgen-manifest", "change": "updated"},
    ]
    assert "-    newTag: 1.0.0\n+    newTag: 1.0.1\n" in document["diff"]
    code, _, err = run(capsys, "diff", "-c", config, "-o", out, "--format", "markdown")
    assert (code, err) == (2, "diff: --format markdown only with --rendered\n")


@pytest.mark.parametrize(
    ("finding", "record"),
    [
        (
            "apps/a/overlays/dev: kustomize: boom",
            {
                "file": "out/apps/a/overlays/dev",
                "line": None,
                "column": None,
                "message": "kustomize: boom",
            },
        ),
        (
            ".github/workflows/x.yml:3:7: actionlint: bad",
            {
                "file": "out/.github/workflows/x.yml",
                "line": 3,
                "column": 7,
                "message": "actionlint: bad",
            },
        ),
    ],
)
def test_validate_findings_as_records(finding: str, record: dict[str, object]) -> None:
    assert machine.finding_record(finding, "out") == record


def test_annotations_escape_what_the_runner_would_read() -> None:
    assert machine.annotation("50%\nnext", file="a,b:c", line=1, col=2) == (
        "::error file=a%2Cb%3Ac,line=1,col=2,title=gitopsgen::50%25%0Anext"
    )
