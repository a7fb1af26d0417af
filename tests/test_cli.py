"""The command line: build, check and diff end to end, their exact output and exit codes."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from generator.cli import main
from generator.render import render_tree
from generator.resolve import resolve
from generator.spec.load import load_text
from generator.tree import buildcache, write
from tests.conftest import warnings_of

SPECS = Path(__file__).parent / "data" / "specs"
MINIMAL = (SPECS / "minimal.toml").read_text(encoding="utf-8")
REFERENCE = (SPECS / "reference.toml").read_text(encoding="utf-8")
EDITED_MESSAGE = (
    "conflict apps/hello/base/pdb.yaml: edited by hand since gitopsgen wrote it: "
    "not overwritten (--force overwrites)\n"
)


@pytest.fixture(autouse=True, params=["cache", "no-cache"])
def build_cache(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> str:
    """Every test runs with the no-op fast path on and off: the results must not differ."""
    monkeypatch.setenv("GITOPSGEN_CACHE_DIR", str(tmp_path / "cache"))
    if request.param == "no-cache":
        monkeypatch.setenv("GITOPSGEN_NO_CACHE", "1")
    mode: str = request.param
    return mode


def gitopsgen(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def spec(tmp_path: Path, text: str = MINIMAL, name: str = "services.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def tree_of_text(text: str) -> dict[str, str]:
    return render_tree(resolve(load_text(text, "services.toml").spec))


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under a directory: bytes and mtime."""
    return {
        str(path.relative_to(directory)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def build(capsys: pytest.CaptureFixture[str], config: Path, out: Path) -> None:
    code, _, err = gitopsgen(capsys, "build", "-c", config, "-o", out)
    assert (code, err) == (0, warnings_of(config))


# --- build -----------------------------------------------------------------------------------


def test_first_build_lists_every_file_it_creates(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, out = spec(tmp_path), tmp_path / "out"
    code, stdout, stderr = gitopsgen(capsys, "build", "-c", config, "-o", out)
    tree = tree_of_text(MINIMAL)
    assert (code, stderr) == (0, "")
    assert (
        stdout == "".join(f"created {p}\n" for p in sorted(tree)) + "created .gitopsgen-manifest\n"
    )
    for path, text in tree.items():
        assert (out / path).read_text(encoding="utf-8") == text
    manifest = (out / write.MANIFEST).read_text(encoding="utf-8").splitlines()
    assert manifest[0] == write.MANIFEST_HEADER.strip()
    assert manifest[1:] == [f"{write.digest(tree[p].encode())}  {p}" for p in sorted(tree)]


def test_second_build_writes_nothing_and_check_passes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, out = spec(tmp_path), tmp_path / "out"
    build(capsys, config, out)
    before = snapshot(out)
    for _ in range(2):  # the second no-op run may be answered by the build cache
        assert gitopsgen(capsys, "build", "-c", config, "-o", out) == (
            0,
            "nothing to do: the tree is up to date\n",
            "",
        )
        assert snapshot(out) == before  # same bytes, same mtimes: nothing was rewritten
        assert gitopsgen(capsys, "check", "-c", config, "-o", out) == (
            0,
            f"{out} is up to date\n",
            "",
        )
        assert gitopsgen(capsys, "diff", "-c", config, "-o", out) == (0, "", "")


def test_build_is_byte_identical_in_two_directories(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = spec(tmp_path, REFERENCE)
    build(capsys, config, tmp_path / "a")
    build(capsys, config, tmp_path / "b" / "nested")
    first = {p: data for p, (data, _) in snapshot(tmp_path / "a").items()}
    second = {p: data for p, (data, _) in snapshot(tmp_path / "b" / "nested").items()}
    assert first == second


def test_only_changed_files_are_written(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config, out = spec(tmp_path), tmp_path / "out"
    build(capsys, config, out)
    before = snapshot(out)
    new_text = MINIMAL.replace('tag = "1.0.0"', 'tag = "1.0.1"')
    changed = {p for p, t in tree_of_text(new_text).items() if tree_of_text(MINIMAL)[p] != t}
    assert changed  # the tag is somewhere
    config.write_text(new_text, encoding="utf-8")
    code, stdout, stderr = gitopsgen(capsys, "build", "-c", config, "-o", out)
    assert (code, stderr) == (0, "")
    assert stdout == "".join(f"updated {p}\n" for p in sorted(changed)) + (
        "updated .gitopsgen-manifest\n"
    )
    after = snapshot(out)
    for path, (data, mtime) in before.items():
        if path not in changed and path != write.MANIFEST:
            assert after[path] == (data, mtime)


def test_removed_service_is_pruned_and_foreign_files_stay(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, out = spec(tmp_path, REFERENCE), tmp_path / "out"
    build(capsys, config, out)
    (out / "README.md").write_text("hand-written\n", encoding="utf-8")
    (out / "apps" / "orders-api" / "NOTES.md").write_text("mine\n", encoding="utf-8")
    without = REFERENCE[: REFERENCE.index("[services.ledger-worker]")]
    config.write_text(without, encoding="utf-8")
    code, stdout, stderr = gitopsgen(capsys, "build", "-c", config, "-o", out)
    assert (code, stderr) == (0, "")
    gone = sorted(p for p in tree_of_text(REFERENCE) if p not in tree_of_text(without))
    assert "apps/ledger-worker/base/kustomization.yaml" in gone
    assert [line for line in stdout.splitlines() if line.startswith("deleted ")] == [
        f"deleted {p}" for p in gone
    ]
    assert not (out / "apps" / "ledger-worker").exists()  # and its empty directories
    assert (out / "README.md").read_text(encoding="utf-8") == "hand-written\n"
    assert (out / "apps" / "orders-api" / "NOTES.md").read_text(encoding="utf-8") == "mine\n"
    assert gitopsgen(capsys, "check", "-c", config, "-o", out)[0] == 0


def test_a_directory_holding_a_foreign_file_is_not_removed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, out = spec(tmp_path, REFERENCE), tmp_path / "out"
    build(capsys, config, out)
    keep = out / "apps" / "ledger-worker" / "base" / "keep.txt"
    keep.write_text("mine\n", encoding="utf-8")
    config.write_text(REFERENCE[: REFERENCE.index("[services.ledger-worker]")], encoding="utf-8")
    assert gitopsgen(capsys, "build", "-c", config, "-o", out)[0] == 0
    assert sorted(p.name for p in (out / "apps" / "ledger-worker").rglob("*")) == [
        "base",
        "keep.txt",
    ]


def test_a_foreign_file_where_a_generated_one_goes_is_reported_not_overwritten(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, out = spec(tmp_path), tmp_path / "out"
    target = out / "apps" / "hello" / "base" / "pdb.yaml"
    target.parent.mkdir(parents=True)
    target.write_text("my own pdb\n", encoding="utf-8")
    for args in (("build",), ("build", "--force")):
        code, stdout, stderr = gitopsgen(capsys, *args, "-c", config, "-o", out)
        assert code == 1
        assert stderr == (
            "conflict apps/hello/base/pdb.yaml: exists and was not written by gitopsgen: "
            "not overwritten (move it out of the way)\n"
            "gitopsgen: 1 file(s) left alone, see above\n"
        )
        assert target.read_text(encoding="utf-8") == "my own pdb\n"
    assert "apps/hello/base/pdb.yaml" not in (out / write.MANIFEST).read_text(encoding="utf-8")
    code, stdout, _ = gitopsgen(capsys, "check", "-c", config, "-o", out)
    assert code == 1
    assert stdout.splitlines() == [
        "conflict apps/hello/base/pdb.yaml: exists and was not written by gitopsgen: "
        "not overwritten (move it out of the way)"
    ]


def test_a_file_already_holding_the_rendered_bytes_is_adopted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """How a lost manifest heals: files that are exactly the render become owned again."""
    config, out = spec(tmp_path), tmp_path / "out"
    build(capsys, config, out)
    manifest = (out / write.MANIFEST).read_bytes()
    (out / write.MANIFEST).unlink()
    assert gitopsgen(capsys, "build", "-c", config, "-o", out) == (
        0,
        "created .gitopsgen-manifest\n",
        "",
    )
    assert (out / write.MANIFEST).read_bytes() == manifest


# --- hand edits ------------------------------------------------------------------------------


@pytest.mark.parametrize("same_size", [True, False], ids=["same-size", "longer"])
def test_a_hand_edit_is_reported_and_kept_until_forced(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, same_size: bool
) -> None:
    config, out = spec(tmp_path), tmp_path / "out"
    build(capsys, config, out)
    assert gitopsgen(capsys, "build", "-c", config, "-o", out)[0] == 0  # the cache is warm
    target = out / "apps" / "hello" / "base" / "pdb.yaml"
    original = target.read_text(encoding="utf-8")
    # an edit right after a build, of the same size: the build cache must still notice it
    edited = original.replace("PodDisruptionBudget", "PodDisruptionBudgeT")
    if not same_size:
        edited += "# mine\n"
    assert edited != original
    target.write_text(edited, encoding="utf-8")
    for _ in range(2):  # reported every time, not only once
        assert gitopsgen(capsys, "build", "-c", config, "-o", out) == (
            1,
            "",
            EDITED_MESSAGE + "gitopsgen: 1 file(s) left alone, see above\n",
        )
        assert target.read_text(encoding="utf-8") == edited
    code, stdout, stderr = gitopsgen(capsys, "check", "-c", config, "-o", out)
    assert (code, stdout) == (1, EDITED_MESSAGE)
    assert stderr == f"{out} does not match {config}: run gitopsgen build\n"
    assert gitopsgen(capsys, "build", "--force", "-c", config, "-o", out) == (
        0,
        "updated apps/hello/base/pdb.yaml\n",
        "",
    )
    assert target.read_text(encoding="utf-8") == original
    assert gitopsgen(capsys, "check", "-c", config, "-o", out)[0] == 0


def test_an_edit_that_keeps_size_and_mtime_is_still_noticed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every stat trusted (no racy window), the ctime still gives the edit away."""
    monkeypatch.setattr(buildcache, "FINE_RACY_NS", -(10**12))
    monkeypatch.setattr(buildcache, "COARSE_RACY_NS", -(10**12))
    config, out = spec(tmp_path), tmp_path / "out"
    build(capsys, config, out)
    assert gitopsgen(capsys, "build", "-c", config, "-o", out)[0] == 0
    target = out / "apps" / "hello" / "base" / "pdb.yaml"
    before = target.stat()
    target.write_text(target.read_text(encoding="utf-8").replace("P", "Q", 1), encoding="utf-8")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert gitopsgen(capsys, "build", "-c", config, "-o", out)[0] == 1


def test_a_hand_edited_file_no_longer_generated_is_kept_until_forced(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, out = spec(tmp_path, REFERENCE), tmp_path / "out"
    build(capsys, config, out)
    target = out / "apps" / "ledger-worker" / "base" / "deployment.yaml"
    target.write_text(target.read_text(encoding="utf-8") + "# mine\n", encoding="utf-8")
    config.write_text(REFERENCE[: REFERENCE.index("[services.ledger-worker]")], encoding="utf-8")
    code, _, stderr = gitopsgen(capsys, "build", "-c", config, "-o", out)
    assert code == 1
    assert stderr == (
        "conflict apps/ledger-worker/base/deployment.yaml: no longer generated, but edited by "
        "hand since gitopsgen wrote it: not deleted (--force deletes)\n"
        "gitopsgen: 1 file(s) left alone, see above\n"
    )
    assert target.exists()
    assert gitopsgen(capsys, "build", "-c", config, "-o", out)[0] == 1  # still reported
    assert gitopsgen(capsys, "build", "--force", "-c", config, "-o", out) == (
        0,
        "deleted apps/ledger-worker/base/deployment.yaml\nupdated .gitopsgen-manifest\n",
        "",
    )
    assert not (out / "apps" / "ledger-worker").exists()


# --- check and diff --------------------------------------------------------------------------


def test_check_lists_missing_stale_and_extra_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, out = spec(tmp_path, REFERENCE), tmp_path / "out"
    build(capsys, config, out)
    (out / "apps" / "orders-api" / "base" / "pdb.yaml").unlink()
    changed = REFERENCE[: REFERENCE.index("[services.ledger-worker]")].replace(
        'tag = "sha-5c1d9b0"', 'tag = "sha-5c1d9b1"'
    )
    config.write_text(changed, encoding="utf-8")
    old, new = tree_of_text(REFERENCE), tree_of_text(changed)
    stale = sorted(p for p in new if p in old and old[p] != new[p])
    extra = sorted(p for p in old if p not in new)
    assert stale
    assert extra
    code, stdout, stderr = gitopsgen(capsys, "check", "-c", config, "-o", out)
    assert code == 1
    expected = sorted(
        [f"stale {p}" for p in stale] + ["missing apps/orders-api/base/pdb.yaml"],
        key=lambda line: line.split(" ", 1)[1],
    )
    expected += [f"extra {p}" for p in extra] + ["stale .gitopsgen-manifest"]
    assert stdout.splitlines() == expected
    assert stderr == f"{out} does not match {config}: run gitopsgen build\n"
    assert not (out / "apps" / "orders-api" / "base" / "pdb.yaml").exists()  # check wrote nothing


def test_check_of_a_directory_never_built(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, out = spec(tmp_path), tmp_path / "out"
    code, stdout, _ = gitopsgen(capsys, "check", "-c", config, "-o", out)
    assert code == 1
    assert stdout.splitlines() == [f"missing {p}" for p in sorted(tree_of_text(MINIMAL))] + [
        "missing .gitopsgen-manifest"
    ]
    assert not out.exists()


def test_check_reports_a_hand_edited_manifest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, out = spec(tmp_path), tmp_path / "out"
    build(capsys, config, out)
    with (out / write.MANIFEST).open("a", encoding="utf-8") as manifest:
        manifest.write("not a manifest line\n")
    code, stdout, stderr = gitopsgen(capsys, "check", "-c", config, "-o", out)
    assert (code, stdout) == (1, "stale .gitopsgen-manifest\n")
    line = len(tree_of_text(MINIMAL)) + 2
    assert stderr == (
        f"warning: .gitopsgen-manifest:{line}: not a `<sha256>  <path>` line; ignored\n"
        f"{out} does not match {config}: run gitopsgen build\n"
    )


def test_diff_prints_exactly_what_build_would_change(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, out = spec(tmp_path), tmp_path / "out"
    build(capsys, config, out)
    path = "apps/hello/overlays/dev/kustomization.yaml"
    text = (out / path).read_text(encoding="utf-8")
    before = text.splitlines().index("    newTag: 1.0.0")
    config.write_text(MINIMAL.replace('tag = "1.0.0"', 'tag = "1.0.1"'), encoding="utf-8")
    new_tree = tree_of_text(config.read_text(encoding="utf-8"))
    assert [p for p, t in new_tree.items() if tree_of_text(MINIMAL)[p] != t] == [path]
    old_manifest = (out / write.MANIFEST).read_text(encoding="utf-8").splitlines()
    entry = old_manifest.index(f"{write.digest(text.encode())}  {path}")
    new_sha = write.digest(new_tree[path].encode())
    lines = text.splitlines()
    code, stdout, stderr = gitopsgen(capsys, "diff", "-c", config, "-o", out)
    assert (code, stderr) == (1, "")

    def hunk(old: list[str], index: int, new_line: str) -> list[str]:
        first, last = max(index - 3, 0), min(index + 4, len(old))
        header = f"@@ -{first + 1},{last - first} +{first + 1},{last - first} @@"
        context = [f" {line}" for line in old[first:last]]
        at = index - first
        return [header, *context[:at], f"-{old[index]}", f"+{new_line}", *context[at + 1 :]]

    assert stdout.splitlines() == [
        f"--- a/{path}",
        f"+++ b/{path}",
        *hunk(lines, before, "    newTag: 1.0.1"),
        "--- a/.gitopsgen-manifest",
        "+++ b/.gitopsgen-manifest",
        *hunk(old_manifest, entry, f"{new_sha}  {path}"),
    ]
    assert (out / path).read_text(encoding="utf-8") == text  # diff wrote nothing


def test_diff_of_created_and_deleted_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, out = spec(tmp_path), tmp_path / "out"
    build(capsys, config, out)
    pdb = out / "apps" / "hello" / "base" / "pdb.yaml"
    pdb_text = pdb.read_text(encoding="utf-8")
    pdb.unlink()
    code, stdout, _ = gitopsgen(capsys, "diff", "-c", config, "-o", out)
    assert code == 1
    assert stdout == (
        "--- /dev/null\n+++ b/apps/hello/base/pdb.yaml\n"
        f"@@ -0,0 +1,{len(pdb_text.splitlines())} @@\n"
        + "".join(f"+{line}\n" for line in pdb_text.splitlines())
    )


@pytest.mark.tools
def test_git_apply_of_the_diff_gives_exactly_the_build(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    config, out = spec(tmp_path, REFERENCE), tmp_path / "out"
    build(capsys, config, out)
    changed = REFERENCE[: REFERENCE.index("[services.ledger-worker]")].replace(
        'tag = "sha-7f3e2a1"', 'tag = "sha-7f3e2a2"'
    )
    changed += '\n[services.extra]\nteam = "orders"\n[services.extra.envs.dev]\ntag = "v1"\n'
    config.write_text(changed, encoding="utf-8")
    code, patch, _ = gitopsgen(capsys, "diff", "-c", config, "-o", out)
    assert code == 1
    (tmp_path / "changes.patch").write_text(patch, encoding="utf-8")
    applied = subprocess.run(
        [git, "apply", "--verbose", str(tmp_path / "changes.patch")],
        cwd=out,
        capture_output=True,
        text=True,
        check=False,
    )
    assert applied.returncode == 0, applied.stderr
    build(capsys, config, tmp_path / "fresh")
    assert {p: d for p, (d, _) in snapshot(out).items()} == {
        p: d for p, (d, _) in snapshot(tmp_path / "fresh").items()
    }


# --- rendering next to services.toml, bad input, errors --------------------------------------


def test_output_into_the_directory_holding_services_toml(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    config = spec(repo)
    (repo / "README.md").write_text("# our gitops repo\n", encoding="utf-8")
    (repo / ".git").mkdir()
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    before = snapshot(repo)
    monkeypatch.chdir(repo)
    assert gitopsgen(capsys, "build", "-o", ".")[0] == 0
    assert gitopsgen(capsys, "check", "-o", ".")[0] == 0
    after = snapshot(repo)
    assert {p: after[p] for p in before} == before  # services.toml, README, .git untouched
    assert config.read_text(encoding="utf-8") == MINIMAL
    # remove the service's environment: everything generated goes, the hand-written files stay
    config.write_text(MINIMAL[: MINIMAL.index("[services.hello.envs.dev]")], "utf-8")
    assert gitopsgen(capsys, "build", "-o", ".")[0] == 0
    assert {p: snapshot(repo)[p] for p in before if p != "services.toml"} == {
        p: v for p, v in before.items() if p != "services.toml"
    }


def test_bad_input_writes_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config, out = spec(tmp_path), tmp_path / "out"
    build(capsys, config, out)
    before = snapshot(out)
    config.write_text(MINIMAL.replace('tag = "1.0.0"', 'tag = "latest"\nbogus = 1'), "utf-8")
    for command in ("build", "check", "diff"):
        code, stdout, stderr = gitopsgen(capsys, command, "-c", config, "-o", out)
        assert (code, stdout) == (2, "")
        assert stderr.startswith(f"{config}:")
        assert "bogus" in stderr
        assert "Traceback" not in stderr
    assert snapshot(out) == before


def test_a_missing_services_file_is_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, stdout, stderr = gitopsgen(capsys, "build", "-c", tmp_path / "nope.toml", "-o", tmp_path)
    assert (code, stdout) == (2, "")
    assert stderr.startswith(f"{tmp_path / 'nope.toml'}: cannot read the services file: ")


def test_output_that_is_a_file_is_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, out = spec(tmp_path), tmp_path / "out"
    out.write_text("a file\n", encoding="utf-8")
    assert gitopsgen(capsys, "build", "-c", config, "-o", out) == (
        2,
        "",
        f"gitopsgen: {out}: not a directory\n",
    )


@pytest.mark.parametrize(
    "argv", [[], ["bogus"], ["build", "--nope"], ["promote", "svc"], ["build", "-o"]]
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, stdout, stderr = gitopsgen(capsys, *argv)
    assert (code, stdout) == (2, "")
    assert stderr.startswith("usage: gitopsgen")


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = gitopsgen(capsys, "build", "--help")
    assert code == 0
    assert "--force" in stdout


def test_an_internal_error_exits_3_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_model: object) -> dict[str, str]:
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr("generator.render.render_tree", broken)
    config, out = spec(tmp_path), tmp_path / "out"
    code, stdout, stderr = gitopsgen(capsys, "build", "-c", config, "-o", out)
    assert (code, stdout) == (3, "")
    assert "RuntimeError: renderer exploded" in stderr
    assert stderr.endswith(
        "gitopsgen: internal error (RuntimeError): this is a bug in gitopsgen, not in your "
        "input; please report it with the traceback above\n"
    )
    assert not out.exists()


def test_warnings_are_repeated_on_every_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Also when the build cache answers: it remembers them."""
    text = MINIMAL + "\n[services.hello.analysis]\nsuccess_rate = 0.99\n"
    config, out = spec(tmp_path, text), tmp_path / "out"
    runs = [gitopsgen(capsys, "build", "-c", config, "-o", out) for _ in range(3)]
    assert {code for code, _, _ in runs} == {0}
    assert {stderr for _, _, stderr in runs} == {
        f"{config}:28:17: services.hello.analysis: is never used: it runs only with "
        "canary.analysis = true (warning)\n"
    }


def test_the_build_cache_lives_outside_the_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, build_cache: str
) -> None:
    config, out = spec(tmp_path), tmp_path / "out"
    build(capsys, config, out)
    assert set(snapshot(out)) == {*tree_of_text(MINIMAL), write.MANIFEST}
    records = list((tmp_path / "cache").glob("*.json")) if (tmp_path / "cache").exists() else []
    assert len(records) == (1 if build_cache == "cache" else 0)


def test_the_build_cache_key_covers_code_config_and_output(tmp_path: Path) -> None:
    config = spec(tmp_path)
    key = buildcache.input_key(config, b"x", tmp_path / "out")
    assert buildcache.input_key(config, b"y", tmp_path / "out") != key
    assert buildcache.input_key(config, b"x", tmp_path / "other") != key
    assert buildcache.input_key(tmp_path / "other.toml", b"x", tmp_path / "out") != key
    assert (
        buildcache.templates_dir()
        == importlib.import_module("generator.render.templating").templates_dir()
    )
