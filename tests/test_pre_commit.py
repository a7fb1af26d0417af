"""The pre-commit hooks (.pre-commit-hooks.yaml), run by the real pre-commit in a gitops repo.

The hook repository is this project as it is in the working tree (committed or not), committed
once into a temporary repository. pre-commit installs it (pip, from PyPI) into an environment
of its own: the cases that run a `.pre-commit-config.yaml` pinned by `rev:`, as a gitops
repository does (its tree at its root: `args: [-c, services.toml, -o, .]`), share one
PRE_COMMIT_HOME, so one install. `pre-commit try-repo` keeps its store in a temporary
directory, so it installs on every run: one case runs it twice, with the hooks' defaults.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

pytestmark = pytest.mark.tools

ROOT = Path(__file__).parent.parent
MINIMAL = Path(__file__).parent / "data" / "specs" / "minimal.toml"
DIGEST = "sha256:" + "ab" * 32
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}
CHECK = "gitopsgen check (the tree matches services.toml)"
BUILD = "gitopsgen build (regenerate the tree)"


def git(cwd: Path, *args: str, env: Mapping[str, str]) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


class PreCommit:
    """A gitops repository whose `.pre-commit-config.yaml` names the hooks at one commit."""

    def __init__(self, home: Path, hook_repo: Path, rev: str, env: Mapping[str, str]) -> None:
        self.home, self.hook_repo, self.rev, self.env = home, hook_repo, rev, env

    def gitops_repo(self, path: Path) -> Path:
        path.mkdir()
        git(path, "init", "-q", "-b", "main", env=self.env)
        shutil.copy(MINIMAL, path / "services.toml")
        (path / ".pre-commit-config.yaml").write_text(
            "repos:\n"
            f"  - repo: {self.hook_repo}\n"
            f"    rev: {self.rev}\n"
            "    hooks:\n"
            "      - id: gitopsgen-build\n"
            "        args: [-c, services.toml, -o, .]\n"
            "      - id: gitopsgen-check\n"
            "        args: [-c, services.toml, -o, .]\n",
            encoding="utf-8",
        )
        commit_all(path, self.env, "services.toml alone")
        return path

    def run(self, repo: Path, hook: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "run", hook, "--all-files", "--color", "never"],
            cwd=repo,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )


@pytest.fixture(scope="module")
def pre_commit(tmp_path_factory: pytest.TempPathFactory) -> PreCommit:
    base = tmp_path_factory.mktemp("pre-commit")
    env = {
        **os.environ,
        **GIT_ENV,
        "PRE_COMMIT_HOME": str(base / "home"),
        # the build cache of the hooks' gitopsgen: in the test's temp area, not the home
        "GITOPSGEN_CACHE_DIR": str(base / "cache"),
    }
    env.pop("VIRTUAL_ENV", None)
    # The hook repository: this project's files as they are now (committed or not), one commit.
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard", env=env)
    hook_repo = base / "gitopsgen"
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (hook_repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, hook_repo / name)
    git(hook_repo, "init", "-q", "-b", "main", env=env)
    git(hook_repo, "add", "-A", env=env)
    git(hook_repo, "commit", "-q", "-m", "the hooks under test", env=env)
    rev = git(hook_repo, "rev-parse", "HEAD", env=env).strip()
    return PreCommit(base / "home", hook_repo, rev, env)


def commit_all(repo: Path, env: Mapping[str, str], message: str) -> None:
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-q", "--no-verify", "-m", message, env=env)


def test_check_fails_on_a_stale_tree_and_build_fixes_it(
    pre_commit: PreCommit, tmp_path: Path
) -> None:
    repo = pre_commit.gitops_repo(tmp_path / "gitops")
    built = pre_commit.run(repo, "gitopsgen-build")  # installs the hooks' environment
    assert built.returncode == 1, built.stdout + built.stderr
    commit_all(repo, pre_commit.env, "the tree")
    gitopsgen = [sys.executable, "-m", "gitopsgen"]
    subprocess.run(
        [*gitopsgen, "set-image", "hello", "dev", "sha-7654321", "--digest", DIGEST],
        cwd=repo,
        check=True,
        capture_output=True,
    )

    checked = pre_commit.run(repo, "gitopsgen-check")
    assert checked.returncode == 1
    assert checked.stdout == (
        f"{CHECK}{'.' * (79 - len(CHECK) - len('Failed'))}Failed\n"
        "- hook id: gitopsgen-check\n"
        "- exit code: 1\n"
        "\n"
        "stale apps/hello/overlays/dev/kustomization.yaml\n"
        "stale .gitopsgen-manifest\n"
        ". does not match services.toml: run gitopsgen build\n"
        "\n"
    )

    built = pre_commit.run(repo, "gitopsgen-build")
    assert built.returncode == 1
    assert built.stdout == (
        f"{BUILD}{'.' * (79 - len(BUILD) - len('Failed'))}Failed\n"
        "- hook id: gitopsgen-build\n"
        "- exit code: 1\n"
        "- files were modified by this hook\n"
        "\n"
        "updated apps/hello/overlays/dev/kustomization.yaml\n"
        "updated .gitopsgen-manifest\n"
        "gitopsgen build changed the tree: review and stage the changes\n"
        "\n"
    )
    overlay = (repo / "apps/hello/overlays/dev/kustomization.yaml").read_text(encoding="utf-8")
    assert f'    newTag: sha-7654321\n    digest: "{DIGEST}"\n' in overlay

    built = pre_commit.run(repo, "gitopsgen-build")
    assert (built.returncode, built.stdout) == (0, passed(BUILD))
    checked = pre_commit.run(repo, "gitopsgen-check")
    assert (checked.returncode, checked.stdout) == (0, passed(CHECK))


def test_build_fails_when_it_only_created_files(pre_commit: PreCommit, tmp_path: Path) -> None:
    """Files the hook creates are not in `git diff`, which is all pre-commit compares: the first
    build of a tree changes no tracked file, and the hook still fails."""
    repo = pre_commit.gitops_repo(tmp_path / "gitops")

    checked = pre_commit.run(repo, "gitopsgen-check")
    assert checked.returncode == 1
    assert "missing apps/hello/base/deployment.yaml\n" in checked.stdout

    built = pre_commit.run(repo, "gitopsgen-build")
    assert built.returncode == 1
    assert "- files were modified by this hook" not in built.stdout
    assert "created apps/hello/base/deployment.yaml\n" in built.stdout
    assert built.stdout.endswith(
        "created .gitopsgen-manifest\n"
        "gitopsgen build changed the tree: review and stage the changes\n\n"
    )

    commit_all(repo, pre_commit.env, "the tree")
    checked = pre_commit.run(repo, "gitopsgen-check")
    assert (checked.returncode, checked.stdout) == (0, passed(CHECK))
    built = pre_commit.run(repo, "gitopsgen-build")
    assert (built.returncode, built.stdout) == (0, passed(BUILD))


def test_try_repo_with_the_default_arguments(pre_commit: PreCommit, tmp_path: Path) -> None:
    """`pre-commit try-repo` (which installs the hooks afresh each time), with the hooks'
    defaults: `-c services.toml`, and the tree where its `[gitops] output` says, `out/`."""
    repo = pre_commit.gitops_repo(tmp_path / "gitops")
    services = repo / "services.toml"
    text = services.read_text(encoding="utf-8")
    services.write_text(text.replace("[gitops]\n", '[gitops]\noutput = "out"\n', 1), "utf-8")
    commit_all(repo, pre_commit.env, "the tree goes to out/")
    gitopsgen = [sys.executable, "-m", "gitopsgen"]
    subprocess.run([*gitopsgen, "build"], cwd=repo, check=True, capture_output=True)
    commit_all(repo, pre_commit.env, "the tree in out/")
    subprocess.run(
        [*gitopsgen, "set-image", "hello", "dev", "sha-7654321", "--digest", DIGEST],
        cwd=repo,
        check=True,
        capture_output=True,
    )
    try_repo = [sys.executable, "-m", "pre_commit", "try-repo", str(pre_commit.hook_repo)]
    options = ["--all-files", "--color", "never"]

    def tried(*hook: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*try_repo, *hook, *options],
            cwd=repo,
            env=pre_commit.env,
            capture_output=True,
            text=True,
            check=False,
        )

    checked = tried("gitopsgen-check")
    assert checked.returncode == 1
    assert checked.stdout.endswith(
        f"{CHECK}{'.' * (79 - len(CHECK) - len('Failed'))}Failed\n"
        "- hook id: gitopsgen-check\n"
        "- exit code: 1\n"
        "\n"
        "stale apps/hello/overlays/dev/kustomization.yaml\n"
        "stale .gitopsgen-manifest\n"
        "out does not match services.toml: run gitopsgen build\n"
        "\n"
    )

    both = tried()  # every hook of the manifest, by id: build, then check
    assert both.returncode == 1
    assert both.stdout.endswith(
        f"{BUILD}{'.' * (79 - len(BUILD) - len('Failed'))}Failed\n"
        "- hook id: gitopsgen-build\n"
        "- exit code: 1\n"
        "- files were modified by this hook\n"
        "\n"
        "updated apps/hello/overlays/dev/kustomization.yaml\n"
        "updated .gitopsgen-manifest\n"
        "gitopsgen build changed the tree: review and stage the changes\n"
        "\n" + passed(CHECK)
    )


def test_the_hooks_manifest_is_valid() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "validate-manifest",
            str(ROOT / ".pre-commit-hooks.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def passed(name: str) -> str:
    return f"{name}{'.' * (79 - len(name) - len('Passed'))}Passed\n"
