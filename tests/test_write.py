"""Writing the tree: ownership, symlinks, a tampered manifest, atomic writes, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator.cli import main
from generator.render import producible
from generator.tree import buildcache, write
from generator.tree.write import Change, Conflict, OutputError
from tests.conftest import tree_of, warnings_of

SPECS = Path(__file__).parent / "data" / "specs"
TREE = {
    "apps/api/base/deployment.yaml": "kind: Deployment\n",
    "apps/api/overlays/dev/kustomization.yaml": "namespace: api\n",
    "argocd/root.yaml": "kind: Application\n",
}


def sync(tree: dict[str, str], out: Path, *, force: bool = False) -> write.Plan:
    plan = write.plan(tree, out, force=force)
    write.apply(plan, out)
    return plan


def files_under(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def manifest_line(path: str, text: str) -> str:
    return f"{write.digest(text.encode())}  {path}\n"


def test_plan_reads_only(tmp_path: Path) -> None:
    plan = write.plan(TREE, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert plan.changes == (
        *((Change.CREATE, path) for path in sorted(TREE)),
        (Change.CREATE, write.MANIFEST),
    )


def test_apply_writes_the_tree_and_the_manifest_last(tmp_path: Path) -> None:
    out = tmp_path / "out"
    sync(TREE, out)
    expected = {path: text.encode() for path, text in TREE.items()}
    expected[write.MANIFEST] = (
        write.MANIFEST_HEADER + "".join(manifest_line(p, TREE[p]) for p in sorted(TREE))
    ).encode()
    assert files_under(out) == expected
    assert write.plan(TREE, out).clean


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    out = tmp_path / "out"
    sync(TREE, out)
    sync({**TREE, "argocd/root.yaml": "kind: Application # v2\n"}, out)
    assert not [p for p in out.rglob("*") if "tmp" in p.name]


def test_new_files_get_the_usual_permissions(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        sync(TREE, tmp_path / "out")
    finally:
        os.umask(previous)
    assert (tmp_path / "out" / "argocd" / "root.yaml").stat().st_mode & 0o777 == 0o644


def test_a_failed_atomic_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "file.yaml"
    target.write_text("old\n", encoding="utf-8")

    def fail(_source: str, destination: str) -> None:
        raise OSError(28, "No space left on device", destination)

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="No space left"):
        write.write_atomic(target, b"new\n")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["file.yaml"]


def test_a_write_error_is_reported_as_an_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replace = os.replace

    def fail(source: str, destination: str) -> None:
        if destination.endswith(write.JOURNAL):  # the journal still fits: a file does not
            replace(source, destination)
            return
        raise OSError(28, "No space left on device", source)  # the temporary file's name

    monkeypatch.setattr(os, "replace", fail)
    # named by the file meant, not by its temporary file
    message = r"/out/apps/api/base/deployment\.yaml: cannot write: No space left on device$"
    with pytest.raises(OutputError, match=message):
        sync(TREE, tmp_path / "out")
    assert not list((tmp_path / "out").rglob("*.gitopsgen-tmp"))


# --- paths that must never be written ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../escape.yaml", "is not a plain relative path inside the output directory"),
        ("/etc/passwd", "is not a plain relative path inside the output directory"),
        ("apps/../../escape.yaml", "is not a plain relative path inside the output directory"),
        ("apps//x.yaml", "is not a plain relative path inside the output directory"),
        ("apps/./x.yaml", "is not a plain relative path inside the output directory"),
        ("apps/", "is not a plain relative path inside the output directory"),
        ("", "is not a plain relative path inside the output directory"),
        (".git/config", "is inside .git"),
        ("sub/.Git/hooks/pre-commit", "is inside .git"),
        ("apps/x\ny.yaml", "contains a control character or a backslash"),
        ("apps\\x.yaml", "contains a control character or a backslash"),
        (".gitopsgen-manifest", "is gitopsgen's own manifest"),
    ],
)
def test_a_rendered_path_outside_the_directory_is_refused(
    tmp_path: Path, path: str, reason: str
) -> None:
    with pytest.raises(OutputError) as error:
        write.plan({path: "x\n"}, tmp_path / "out")
    assert str(error.value) == f"{path}: {reason}: refusing to write it"
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "escape.yaml").exists()


@pytest.mark.parametrize("path", ["a.yaml", "apps/x/.github/y.yml", ".github/CODEOWNERS", "a/..b"])
def test_ordinary_paths_are_fine(path: str) -> None:
    assert write.unsafe_reason(path) is None


def test_the_services_file_is_never_overwritten(tmp_path: Path) -> None:
    config = tmp_path / "services.toml"
    config.write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(OutputError, match=r"services\.toml: is the services file itself"):
        write.plan({"services.toml": "y\n"}, tmp_path, protected=[config])
    assert config.read_text(encoding="utf-8") == "x = 1\n"


# --- symbolic links --------------------------------------------------------------------------


def test_a_symlinked_directory_is_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "apps").symlink_to(outside, target_is_directory=True)
    plan = sync(TREE, out)
    assert plan.conflicts == tuple(
        Conflict(path=p, reason="goes through the symbolic link apps: not followed")
        for p in sorted(TREE)
        if p.startswith("apps/")
    )
    assert list(outside.iterdir()) == []
    assert (out / "argocd" / "root.yaml").exists()  # the rest is written


def test_a_symlinked_file_is_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    out = tmp_path / "out"
    sync(TREE, out)
    link = out / "argocd" / "root.yaml"
    link.unlink()
    link.symlink_to(victim)
    for force in (False, True):
        plan = sync(TREE, out, force=force)
        assert plan.conflicts == (
            Conflict(path="argocd/root.yaml", reason="is a symbolic link: not followed"),
        )
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert link.is_symlink()


def test_a_symlinked_output_directory_is_fine(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    sync(TREE, tmp_path / "link")
    assert write.plan(TREE, tmp_path / "link").clean
    assert (real / "argocd" / "root.yaml").exists()


def test_a_directory_where_a_file_goes_is_a_conflict(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "argocd" / "root.yaml").mkdir(parents=True)
    (out / "apps").write_text("a file where a directory goes\n", encoding="utf-8")
    plan = sync(TREE, out)
    assert plan.conflicts == (
        Conflict(
            path="apps/api/base/deployment.yaml", reason="apps is not a directory: not written"
        ),
        Conflict(
            path="apps/api/overlays/dev/kustomization.yaml",
            reason="apps is not a directory: not written",
        ),
        Conflict(path="argocd/root.yaml", reason="is a directory: not overwritten"),
    )


def test_a_fifo_is_never_opened(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "argocd").mkdir(parents=True)
    os.mkfifo(out / "argocd" / "root.yaml")
    plan = write.plan(TREE, out)  # would block for ever if it opened the fifo
    assert plan.conflicts == (
        Conflict(path="argocd/root.yaml", reason="is not a regular file: not overwritten"),
    )


# --- a manifest that is not to be trusted ------------------------------------------------------


def test_a_tampered_manifest_never_deletes_outside_the_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    sync(TREE, out)
    victim = tmp_path / "victim.yaml"
    victim.write_text("precious\n", encoding="utf-8")
    git_config = out / ".git" / "config"
    git_config.parent.mkdir()
    git_config.write_text("[core]\n", encoding="utf-8")
    manifest = out / write.MANIFEST
    manifest.write_text(
        manifest.read_text(encoding="utf-8")
        + manifest_line("../victim.yaml", "precious\n")
        + manifest_line(str(victim), "precious\n")
        + manifest_line(".git/config", "[core]\n")
        + "garbage\n",
        encoding="utf-8",
    )
    plan = sync(TREE, out)
    assert plan.notes == (
        f"{write.MANIFEST}:5: '../victim.yaml' is not a plain relative path inside the output "
        "directory; ignored",
        f"{write.MANIFEST}:6: '{victim}' is not a plain relative path inside the output "
        "directory; ignored",
        f"{write.MANIFEST}:7: '.git/config' is inside .git; ignored",
        f"{write.MANIFEST}:8: not a `<sha256>  <path>` line; ignored",
    )
    assert plan.changes == ((Change.UPDATE, write.MANIFEST),)
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert git_config.exists()
    assert write.plan(TREE, out).clean


def test_a_manifest_never_deletes_the_services_file(tmp_path: Path) -> None:
    config = tmp_path / "services.toml"
    config.write_text("x = 1\n", encoding="utf-8")
    (tmp_path / write.MANIFEST).write_text(
        write.MANIFEST_HEADER + manifest_line("services.toml", "x = 1\n"), encoding="utf-8"
    )
    plan = write.plan(TREE, tmp_path, protected=[config])
    write.apply(plan, tmp_path)
    assert plan.notes == (
        f"services.toml: listed in {write.MANIFEST} but is the services file itself; left alone",
    )
    assert config.read_text(encoding="utf-8") == "x = 1\n"


def test_a_symlinked_manifest_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "elsewhere").write_text("", encoding="utf-8")
    (out / write.MANIFEST).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OutputError, match="gitopsgen-manifest: is a symbolic link"):
        write.plan(TREE, out)


def test_a_manifest_entry_replaced_by_a_symlink_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    sync(TREE, out)
    victim = tmp_path / "victim.yaml"
    victim.write_text("kind: Application\n", encoding="utf-8")
    (out / "argocd" / "root.yaml").unlink()
    (out / "argocd" / "root.yaml").symlink_to(victim)
    smaller = {p: t for p, t in TREE.items() if p != "argocd/root.yaml"}
    plan = sync(smaller, out, force=True)
    assert plan.notes == (
        f"argocd/root.yaml: listed in {write.MANIFEST} but is a symbolic link; left alone",
    )
    assert (out / "argocd" / "root.yaml").is_symlink()
    assert victim.exists()


# --- diff ------------------------------------------------------------------------------------


def test_diff_marks_a_missing_final_newline(tmp_path: Path) -> None:
    out = tmp_path / "out"
    sync({"a.txt": "one\ntwo"}, out)
    plan = write.plan({"a.txt": "one\nthree"}, out)
    assert "".join(write.unified_diff(plan)).split("--- a/.gitopsgen-manifest")[0] == (
        "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-two\n\\ No newline at end of file\n"
        "+three\n\\ No newline at end of file\n"
    )


# --- determinism across processes --------------------------------------------------------------


def run_script(*args: str | Path, seed: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "gitopsgen"
    env = {**os.environ, "PYTHONHASHSEED": seed, "GITOPSGEN_NO_CACHE": "1"}
    return subprocess.run(
        [str(script), *map(str, args)], capture_output=True, text=True, env=env, check=False
    )


@pytest.mark.parametrize("name", ["reference", "gcp"])
def test_output_does_not_depend_on_the_hash_seed(tmp_path: Path, name: str) -> None:
    trees = []
    for seed in ("1", "4242"):
        out = tmp_path / f"seed-{seed}"
        config = SPECS / f"{name}.toml"
        result = run_script("build", "-c", config, "-o", out, seed=seed)
        assert (result.returncode, result.stderr) == (0, warnings_of(config))
        trees.append(files_under(out))
    assert trees[0] == trees[1]
    assert len(trees[0]) > 10


def test_the_installed_script(tmp_path: Path) -> None:
    out = tmp_path / "out"
    built = run_script("build", "-c", SPECS / "minimal.toml", "-o", out, seed="0")
    assert (built.returncode, built.stderr) == (0, "")
    assert built.stdout.endswith("created .gitopsgen-manifest\n")
    checked = run_script("check", "-c", SPECS / "minimal.toml", "-o", out, seed="0")
    assert (checked.returncode, checked.stdout) == (0, f"{out} is up to date\n")
    bad = run_script("nope", seed="0")
    assert bad.returncode == 2
    assert "invalid choice: 'nope'" in bad.stderr


# --- the build cache's racy files --------------------------------------------------------------


def test_an_edit_in_the_same_clock_tick_as_the_record_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edit so quick that the file's stat still equals the one the record holds."""
    monkeypatch.setenv("GITOPSGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GITOPSGEN_NO_CACHE", raising=False)
    out = tmp_path / "out"
    started = time.time_ns()
    plan = sync(TREE, out)
    hashes = {**plan.hashes, write.MANIFEST: write.digest(plan.manifest)}
    buildcache.save("key", out, hashes, ["w"], since=started)
    assert buildcache.up_to_date("key", out) == ["w"]
    target = out / "argocd" / "root.yaml"
    target.write_text("kind: Applicatiom\n", encoding="utf-8")  # same size
    # make the record hold the edited file's stat, as a coarse clock could have
    (record_path,) = (tmp_path / "cache").glob("*.json")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    st = target.lstat()
    record["files"]["argocd/root.yaml"][:4] = [
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
    ]
    record_path.write_text(json.dumps(record), encoding="utf-8")
    assert buildcache.up_to_date("key", out) is None  # too fresh to trust: hashed, and differs
    target.write_text("kind: Application\n", encoding="utf-8")
    assert buildcache.up_to_date("key", out) is None  # the stat differs now
    buildcache.save("key", out, hashes, ["w"], since=time.time_ns())
    assert buildcache.up_to_date("key", out) == ["w"]
    assert buildcache.up_to_date("other key", out) is None


@pytest.mark.parametrize(
    ("mtime", "made_at", "racy"),
    [
        (10_000_000_000 - 50_000_000, 10_000_000_000, True),  # 50 ms before: within a tick
        (10_000_000_000 - 500_000_000, 10_000_000_000, False),
        (9_000_000_000, 10_000_000_000, True),  # on a whole second: maybe a 1 s filesystem
        (7_000_000_000, 10_000_000_000, False),
        (11_000_000_001, 10_000_000_000, True),  # after the record: certainly
    ],
)
def test_which_timestamps_are_racy(mtime: int, made_at: int, racy: bool) -> None:
    assert buildcache._is_racy(mtime, mtime, made_at) is racy


def test_a_large_tree(tmp_path: Path) -> None:
    big = {f"apps/s{i % 40}/f{i}.yaml": f"n: {i}\n" for i in range(800)}
    out = tmp_path / "out"
    assert len(sync(big, out).changes) == len(big) + 1
    assert files_under(out) == {
        **{p: t.encode() for p, t in big.items()},
        write.MANIFEST: write.manifest_bytes({p: write.digest(t.encode()) for p, t in big.items()}),
    }
    (out / "apps/s1/f1.yaml").write_text("n: edited\n", encoding="utf-8")
    smaller = {p: t for p, t in big.items() if not p.startswith("apps/s2/")}
    plan = sync({**smaller, "apps/s1/f1.yaml": "n: new\n", "apps/s3/f3.yaml": "n: 3!\n"}, out)
    assert plan.conflicts == (Conflict(path="apps/s1/f1.yaml", reason=write.EDITED),)
    assert [p for c, p in plan.changes if c is Change.UPDATE] == [
        "apps/s3/f3.yaml",
        write.MANIFEST,
    ]
    assert len([p for c, p in plan.changes if c is Change.DELETE]) == len(big) - len(smaller)
    assert not (out / "apps" / "s2").exists()


def test_a_file_changed_during_the_run_is_never_vouched_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITOPSGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GITOPSGEN_NO_CACHE", raising=False)
    out = tmp_path / "out"
    started = time.time_ns()
    plan = sync(TREE, out)
    hashes = {**plan.hashes, write.MANIFEST: write.digest(plan.manifest)}
    (out / "argocd" / "root.yaml").write_text("kind: Applicatiom\n", encoding="utf-8")
    buildcache.save("key", out, hashes, [], since=started)  # e.g. an editor saved mid-build
    assert not list((tmp_path / "cache").glob("*.json"))
    assert buildcache.up_to_date("key", out) is None


# --- the manifest claims only what gitopsgen could have written ---------------------------


def test_every_rendered_path_is_one_gitopsgen_may_claim(spec_name: str) -> None:
    assert [path for path in tree_of(spec_name) if not producible(path)] == []


def test_a_forged_manifest_line_cannot_make_a_build_delete_a_hand_written_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "services.toml"
    config.write_text((SPECS / "minimal.toml").read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["build", "-c", str(config), "-o", str(tmp_path)]) == 0
    readme = tmp_path / "README.md"
    readme.write_text("# The gitops repository\n", encoding="utf-8")
    manifest = tmp_path / write.MANIFEST
    forged = f"{write.digest(readme.read_bytes())}  README.md\n"
    manifest.write_text(manifest.read_text(encoding="utf-8") + forged, encoding="utf-8")
    capsys.readouterr()
    assert main(["build", "-c", str(config), "-o", str(tmp_path)]) == 0
    assert readme.read_text(encoding="utf-8") == "# The gitops repository\n"
    assert (
        "warning: .gitopsgen-manifest: 'README.md' is not a path gitopsgen writes: the claim is"
        " ignored and the file left alone\n"
    ) in capsys.readouterr().err
    assert "README.md" not in manifest.read_text(encoding="utf-8")
