"""`diff --rendered` and `render`: what each Application changes, in text, Markdown and JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import attrs
import pytest
from syrupy.assertion import SnapshotAssertion

from generator import tools
from generator.cli import main
from generator.commands import tags
from generator.kustomize.build import Built
from generator.render import render_tree
from generator.resolve import Model, resolve
from generator.review import changes, report
from generator.review.trees import MemoryTree
from generator.spec.load import load_text
from tests.conftest import SPECS

REFERENCE = (SPECS / "reference.toml").read_text(encoding="utf-8")
INVOICE = """
[services.invoice-api]
team = "payments"
namespace = "payments"
repo = "bank-org/invoice-api"

[services.invoice-api.envs.dev]
tag = "sha-1a2b3c4"
digest = "sha256:3f4a9e0c7d1b2a5f6e8d9c0b1a2f3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0e"
"""


def model_from(text: str) -> Model:
    return resolve(load_text(text, "services.toml").spec)


def compare(old_text: str, new_text: str) -> changes.Report:
    old, new = model_from(old_text), model_from(new_text)
    return changes.compare(
        MemoryTree(render_tree(old)),
        MemoryTree(render_tree(new)),
        env_order=[env.name for env in new.environments],
        sensitive={service.name: service.sensitive for service in new.services},
    )


def edited(tmp_path: Path, edit: str) -> str:
    """The reference file after a set-image or promote, as the workflows make them."""
    config = tmp_path / "services.toml"
    config.write_text(REFERENCE, encoding="utf-8")
    if edit == "tag":
        tags.set_image(config, "payments-api", "prod", "fed789cba", digest="sha256:" + "1f" * 32)
    else:
        tags.promote(config, "orders-api", "prod")
    return config.read_text(encoding="utf-8")


BASE_CHANGE = REFERENCE.replace('liveness = "/healthz"', 'liveness = "/livez"', 1)


def cases(tmp_path: Path) -> dict[str, tuple[str, str]]:
    return {
        "tag": (REFERENCE, edited(tmp_path, "tag")),
        "promotion": (REFERENCE, edited(tmp_path, "promotion")),
        "base": (REFERENCE, BASE_CHANGE),
        "added": (REFERENCE, REFERENCE + INVOICE),
        "removed": (REFERENCE + INVOICE, REFERENCE),
    }


@pytest.mark.parametrize("case", ["tag", "promotion", "base", "added", "removed"])
def test_text_and_markdown(tmp_path: Path, case: str, snapshot: SnapshotAssertion) -> None:
    old, new = cases(tmp_path)[case]
    result = compare(old, new)
    assert report.text(result, "main") == snapshot(name="text")
    assert report.markdown(result, "main") == snapshot(name="markdown")


def test_headlines(tmp_path: Path) -> None:
    heads = {
        case: [f"{app.name}: {app.headline}" for app in compare(old, new).changes]
        for case, (old, new) in cases(tmp_path).items()
    }
    assert heads == {
        "tag": [
            "payments-api-prod: image ...:def456abc@sha256:bafe24947268f7f6"
            " -> ...:fed789cba@sha256:1f1f1f1f1f1f1f1f"
        ],
        "promotion": [
            "orders-api-prod: image ...:sha-5c1d9b0@sha256:2f610cef1c8d69a5"
            " -> ...:sha-7f3e2a1@sha256:08b738f68d8c8438"
        ],
        "base": [
            f"payments-api-{env}: Rollout payments-api:"
            " containers[payments-api].livenessProbe.httpGet.path"
            for env in ("prod", "staging", "dev")
        ],
        "added": [
            "invoice-api-dev: new Application: 6 objects;"
            " image ...:sha-1a2b3c4@sha256:3f4a9e0c7d1b2a5f"
        ],
        "removed": ["invoice-api-dev: Application removed (6 objects it deployed)"],
    }


def test_an_unchanged_tree_has_no_changes() -> None:
    result = compare(REFERENCE, REFERENCE)
    assert result.changes == ()
    assert report.text(result, "main") == (
        "Rendered manifests: no Application changes (9 unchanged, compared with main)\n"
    )


def test_replicas_resources_and_config_lead_the_headline() -> None:
    new = REFERENCE.replace(
        'config = { DATABASE_HOST = "payments-db.prod.internal", LOG_LEVEL = "warn"',
        'config = { DATABASE_HOST = "payments-db.prod.internal", LOG_LEVEL = "error"',
    ).replace("replicas = 4", 'replicas = 5\nresources = { limits = { memory = "1Gi" } }', 1)
    heads = [f"{app.name}: {app.headline}" for app in compare(REFERENCE, new).changes]
    assert heads == [
        "orders-api-prod: replicas 4 -> 5; orders-api: limits cpu 500m -> unset,"
        " limits memory 256Mi -> 1Gi",
        "payments-api-prod: config LOG_LEVEL changed",
    ]


def test_sensitive_config_values_are_never_shown() -> None:
    def with_secret(value: str) -> str:
        text = REFERENCE.replace(
            'LOG_LEVEL = "warn"', f'LOG_LEVEL = "warn", DB_PASSWORD = "{value}"', 1
        )
        return text.replace(
            "[services.payments-api.canary]",
            'sensitive = ["DB_PASSWORD"]\n\n[services.payments-api.canary]',
            1,
        )

    result = compare(with_secret("hunter2"), with_secret("correct-horse"))
    shown = report.text(result, "main") + report.markdown(result, "main")
    shown += report.as_json(result, "main")
    assert "hunter2" not in shown
    assert "correct-horse" not in shown
    assert "-  DB_PASSWORD: '(sensitive: not shown)'" in shown
    assert "+  DB_PASSWORD: '(sensitive: changed, not shown)'" in shown
    assert result.changes[0].headline == "config DB_PASSWORD changed"


def test_secret_values_are_never_shown() -> None:
    def secret(value: str) -> Built:
        obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
        return Built(obj={**obj, "data": {"token": value}, "stringData": {"k": value}})

    change = changes.compare_application(
        "a", "dev", [secret("c2VjcmV0")], [secret("b3RoZXI=")], frozenset()
    )
    assert change is not None
    text = change.objects[0].before + change.objects[0].after
    assert "c2VjcmV0" not in text
    assert "b3RoZXI=" not in text
    assert change.objects[0].after == (
        "apiVersion: v1\ndata:\n  token: '(sensitive: changed, not shown)'\nkind: Secret\n"
        "metadata:\n  name: s\nstringData:\n  k: '(sensitive: changed, not shown)'\n"
    )


def big_report(
    apps: int, diff_lines: int, headline: str = "image ...:a -> ...:b"
) -> changes.Report:
    body = "".join(f"  line: {i}\n" for i in range(diff_lines))
    return changes.Report(
        changes=tuple(
            changes.AppChange(
                service=f"svc-{i:04d}",
                env="prod",
                status="changed",
                headline=headline,
                objects=(
                    changes.ObjectChange(
                        kind="apps/v1 Deployment",
                        namespace="ns",
                        name=f"svc-{i:04d}",
                        change="changed",
                        before=body,
                        after=body.replace("line", "LINE"),
                    ),
                ),
            )
            for i in range(apps)
        ),
        unchanged=0,
    )


def test_a_comment_past_the_limit_keeps_the_table_and_cuts_the_details() -> None:
    result = big_report(40, 400)
    full = report.text(result, "main")
    assert len(full) > 2 * report.COMMENT_LIMIT
    comment = report.markdown(result, "main")
    assert len(comment) <= report.COMMENT_LIMIT
    assert all(f"| `svc-{i:04d}-prod` |" in comment for i in range(40))
    shown = comment.count("<details>")
    assert 0 < shown < 40
    assert comment.endswith(
        "\n> Cut to fit GitHub's 65,536-character comment limit: the details of"
        f" {40 - shown} of 40 Applications are not shown; the full diff is in this run's"
        " artifact `rendered-diff` (`rendered.diff`).\n"
    )
    assert comment.count("</details>") == shown  # no block is cut in the middle


def test_a_table_past_the_limit_is_cut_too() -> None:
    result = big_report(3000, 1, headline="x" * 60)
    comment = report.markdown(result, "main")
    assert len(comment) <= report.COMMENT_LIMIT
    assert "<details>" not in comment
    kept = comment.count("-prod` |")
    assert f"| ... | {3000 - kept} more Applications: the full diff is in this run's" in comment


def test_markdown_escapes_cells_and_fences() -> None:
    result = big_report(1, 1, headline="a | b <script>")
    app = result.changes[0]
    fenced = changes.ObjectChange(
        kind="v1 ConfigMap", namespace="", name="c", change="added", before="", after="x: ```\n"
    )
    result = changes.Report(changes=(attrs.evolve(app, objects=(fenced,)),), unchanged=0)
    comment = report.markdown(result, "main")
    assert "| `svc-0000-prod` | a \\| b &lt;script> |" in comment
    assert "````diff\n+ v1 ConfigMap c\n@@ -0,0 +1 @@\n+x: ```\n````" in comment


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert report.use_colour(Terminal())  # type: ignore[arg-type]
    monkeypatch.setenv("NO_COLOR", "1")
    assert not report.use_colour(Terminal())  # type: ignore[arg-type]
    result = compare(REFERENCE, BASE_CHANGE)
    coloured = report.text(result, "main", colour=True)
    assert "\x1b[31m-            path: /healthz\x1b[0m" in coloured
    assert "\x1b[32m+            path: /livez\x1b[0m" in coloured


# ---------------------------------------------------------------------------------------------
# The command line, against a git repository and a directory


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    (tmp_path / "services.toml").write_text(REFERENCE, encoding="utf-8")
    assert main(["build", "-c", str(tmp_path / "services.toml"), "-o", str(tmp_path / "out")]) == 0
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    capsys.readouterr()
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_compares_with_head_by_default(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, out = repo / "services.toml", repo / "out"
    tags.set_image(config, "payments-api", "prod", "fed789cba", digest="sha256:" + "1f" * 32)
    capsys.readouterr()
    code, text, _ = run(capsys, "diff", "--rendered", "-c", config, "-o", out)
    assert code == 1
    assert text.splitlines()[:3] == [
        "Rendered manifests: 1 Application changes, 8 unchanged (compared with HEAD)",
        "",
        "payments-api-prod: image ...:def456abc@sha256:bafe24947268f7f6"
        " -> ...:fed789cba@sha256:1f1f1f1f1f1f1f1f",
    ]
    assert run(capsys, "diff", "--rendered", "-c", config, "-o", out, "--base", "HEAD")[1] == text
    comment, full, summary = repo / "comment.md", repo / "rendered.diff", repo / "summary.md"
    summary.write_text("# before\n", encoding="utf-8")
    code, as_json, _ = run(
        capsys,
        "diff",
        "--rendered",
        "-c",
        config,
        "-o",
        out,
        "--format",
        "json",
        "--comment",
        comment,
        "--full",
        full,
        "--summary",
        summary,
    )
    assert code == 1
    data = json.loads(as_json)
    assert [app["application"] for app in data["applications"]] == ["payments-api-prod"]
    assert data["applications"][0]["objects"][0]["kind"] == "argoproj.io/v1alpha1 Rollout"
    assert comment.read_text(encoding="utf-8").startswith(
        report.MARKER + "\n### Rendered manifests"
    )
    assert full.read_text(encoding="utf-8") == text
    assert summary.read_text(encoding="utf-8") == "# before\n" + comment.read_text(encoding="utf-8")


def test_cli_compares_with_a_directory(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = repo.parent / "base-checkout"
    shutil.copytree(repo / "out", base)
    config = repo / "services.toml"
    tags.promote(config, "orders-api", "prod")
    capsys.readouterr()
    code, text, _ = run(
        capsys, "diff", "--rendered", "-c", config, "-o", repo / "out", "--previous", base
    )
    assert code == 1
    assert f"(compared with {base})" in text.splitlines()[0]
    assert "orders-api-prod: image ...:sha-5c1d9b0" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base", "no-such-rev"], "--base no-such-rev: not a revision of the repository at"),
        (
            ["--base", "HEAD", "--previous", "x"],
            "diff --rendered: give --base REV or --previous DIR, not both",
        ),
        (["--previous", "missing"], "missing: no such directory (the tree to compare against)"),
    ],
)
def test_cli_refuses_bad_bases(
    repo: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    resolved = [str(repo / a) if a in ("missing", "x") else a for a in args]
    code, _, err = run(
        capsys, "diff", "--rendered", "-c", repo / "services.toml", "-o", repo / "out", *resolved
    )
    assert code == 2
    assert message in err


def test_rendered_only_options_need_rendered(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys,
        "diff",
        "-c",
        repo / "services.toml",
        "-o",
        repo / "out",
        "--comment",
        "c",
        "--format",
        "markdown",
    )
    assert (code, err) == (2, "diff: --comment, --format markdown only with --rendered\n")


def test_outside_git_needs_previous(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "services.toml").write_text(REFERENCE, encoding="utf-8")
    code, _, err = run(
        capsys, "diff", "--rendered", "-c", tmp_path / "services.toml", "-o", tmp_path / "out"
    )
    assert code == 2
    assert err.endswith(
        f"{tmp_path / 'out'}: not inside a git repository; compare with --previous DIR instead"
        " of --base\n"
    )


@pytest.mark.tools
def test_render_prints_what_kubectl_prints(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text, _ = run(capsys, "render", "payments-api", "prod", "-c", repo / "services.toml")
    real = tools.run_tool(
        ["kubectl", "kustomize", str(repo / "out/apps/payments-api/overlays/prod")]
    )
    assert code == 0
    assert text == real.stdout


@pytest.mark.parametrize(
    ("service", "env", "message"),
    [
        (
            "payments-apii",
            "prod",
            "render: no service 'payments-apii' (did you mean 'payments-api'?)\n",
        ),
        (
            "ledger-worker",
            "prod",
            "render: ledger-worker has no Application in 'prod'; it has one in dev\n",
        ),
    ],
)
def test_render_names_what_exists(
    repo: Path, capsys: pytest.CaptureFixture[str], service: str, env: str, message: str
) -> None:
    code, _, err = run(capsys, "render", service, env, "-c", repo / "services.toml")
    assert code == 2
    assert err.endswith(message)


# ---------------------------------------------------------------------------------------------
# Found by review: what must never be missed or shown


def with_token(value: str, *, marked: bool = True) -> str:
    text = REFERENCE.replace('LOG_LEVEL = "warn"', f'LOG_LEVEL = "warn", API_TOKEN = "{value}"', 1)
    if marked:
        text = text.replace(
            "[services.payments-api.canary]",
            'sensitive = ["API_TOKEN"]\n\n[services.payments-api.canary]',
            1,
        )
    return text


def test_a_key_sensitive_only_in_the_base_stays_hidden(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Removing a sensitive key removes its `sensitive` entry too: the old value still must
    not reach the comment."""
    config, out = tmp_path / "services.toml", tmp_path / "out"
    config.write_text(with_token("hunter2-old-secret"), encoding="utf-8")
    assert main(["build", "-c", str(config), "-o", str(out)]) == 0
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    config.write_text(REFERENCE, encoding="utf-8")
    capsys.readouterr()
    for extra in ([], ["--previous", str(repo_copy(out, tmp_path))]):
        code, text, _ = run(capsys, "diff", "--rendered", "-c", config, "-o", out, *extra)
        assert code == 1
        assert "hunter2" not in text
        assert "-  API_TOKEN: '(sensitive: not shown)'" in text


def repo_copy(out: Path, tmp_path: Path) -> Path:
    """A base checkout: the tree and its services file beside it, as the render check has."""
    base = tmp_path / "base"
    shutil.copytree(out, base / "out")
    (base / "services.toml").write_text(with_token("hunter2-old-secret"), encoding="utf-8")
    return base / "out"


def test_a_sensitive_name_set_as_a_plain_env_var_is_hidden_too() -> None:
    old = with_token("x")
    prod = 'config = { DATABASE_HOST = "payments-db.prod.internal"'
    # The key moves from the environment's config to its plain env: the env var wins there.
    new = old.replace(', API_TOKEN = "x"', "", 1)
    new = new.replace(prod, 'env = { API_TOKEN = "hunter3-new" }\n' + prod, 1)
    shown = report.text(compare(old, new), "main")
    assert "hunter3" not in shown
    assert "value: '(sensitive: changed, not shown)'" in shown


def test_an_applications_own_settings_are_part_of_its_change() -> None:
    new = REFERENCE.replace(
        "auto_sync = false                      # manual sync only", "auto_sync = true", 1
    )
    result = compare(REFERENCE, new)
    heads = {app.name: app.headline for app in result.changes}
    assert heads["payments-api-prod"].startswith("autoSync false -> true")
    assert result.changes[0].objects[0].kind == "argoproj.io/v1alpha1 ApplicationSet element"


def test_an_overlay_without_an_application_is_not_one() -> None:
    model = model_from(REFERENCE)
    files = render_tree(model)
    stray = {
        path.replace("/overlays/dev/", "/overlays/sandbox/"): text
        for path, text in files.items()
        if "apps/orders-api/overlays/dev/" in path
    }
    result = changes.compare(
        MemoryTree({**files, **stray}),
        MemoryTree(files),
        env_order=["dev", "staging", "prod"],
        sensitive={},
    )
    assert result.changes == ()


def test_zero_is_not_false() -> None:
    def account(value: object) -> Built:
        obj = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "s"}}
        return Built(obj={**obj, "automountServiceAccountToken": value})

    assert changes.compare_application("a", "dev", [account(False)], [account(0)], frozenset())
    assert not changes.compare_application(
        "a", "dev", [account(False)], [account(False)], frozenset()
    )


def test_a_base_tree_that_is_not_yaml_is_exit_2(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = repo.parent / "broken"
    shutil.copytree(repo / "out", base)
    (base / "apps/orders-api/overlays/prod/patches/workload.yaml").write_text(
        "key: [unclosed\n", encoding="utf-8"
    )
    config = repo / "services.toml"
    code, _, err = run(
        capsys, "diff", "--rendered", "-c", config, "-o", repo / "out", "--previous", base
    )
    assert code == 2
    assert f"{base}: apps/orders-api/overlays/prod: kustomize would fail:" in err
