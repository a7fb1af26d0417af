"""The shortcuts that make a full build fast (DESIGN section 7) give the slow paths' result."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.render import hclout, templating
from generator.tree import buildcache, write

TREE = {
    "apps/api/base/deployment.yaml": "kind: Deployment\n",
    "apps/api/overlays/dev/kustomization.yaml": "namespace: api\n",
    "argocd/root.yaml": "kind: Application\n",
}


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("GITOPSGEN_CACHE_DIR", str(directory))
    monkeypatch.delenv("GITOPSGEN_NO_CACHE", raising=False)
    return directory


def stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def test_apply_returns_the_stat_of_every_file_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "out"
    written = write.apply(write.plan(TREE, out), out)
    assert sorted(written) == sorted([*TREE, write.MANIFEST])
    for path, st in written.items():
        assert stat_key(st) == stat_key(os.lstat(out / path))  # as it stands, after the rename
    (out / "argocd/root.yaml").write_text("kind: Edited\n", encoding="utf-8")
    rewritten = write.apply(write.plan(TREE, out, force=True), out)
    assert list(rewritten) == ["argocd/root.yaml"]  # only what it wrote (the manifest holds)


@pytest.mark.usefixtures("cache_dir")
def test_the_build_cache_does_not_read_back_what_the_run_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    started = time.time_ns()
    plan = write.plan(TREE, out)
    written = write.apply(plan, out)
    hashes = {**plan.hashes, write.MANIFEST: write.digest(plan.manifest)}

    def no_reading(path: str) -> str:
        raise AssertionError(f"{path} was read back")

    with monkeypatch.context() as patch:
        patch.setattr(buildcache, "_sha256", no_reading)
        buildcache.save("key", out, hashes, ["w"], since=started, written=written)
    assert buildcache.up_to_date("key", out) == ["w"]


@pytest.mark.usefixtures("cache_dir")
def test_an_edit_between_the_write_and_the_record_is_caught(tmp_path: Path) -> None:
    """The record holds the stat of the write itself, so a later edit shows as a difference."""
    out = tmp_path / "out"
    plan = write.plan(TREE, out)
    written = write.apply(plan, out)
    (out / "argocd/root.yaml").write_text("kind: Applicatiom\n", encoding="utf-8")  # same size
    hashes = {**plan.hashes, write.MANIFEST: write.digest(plan.manifest)}
    buildcache.save("key", out, hashes, [], since=time.time_ns(), written=written)
    assert buildcache.up_to_date("key", out) is None


@pytest.fixture
def fresh_environment() -> Iterator[None]:
    """A Jinja environment made under the test's settings, and forgotten after it."""
    templating.environment.cache_clear()
    templating.compiled.cache_clear()
    yield
    templating.environment.cache_clear()
    templating.compiled.cache_clear()


@pytest.mark.usefixtures("fresh_environment")
def test_compiled_templates_are_kept_per_generator_version(cache_dir: Path) -> None:
    stale = cache_dir / "templates" / ("0" * 32)
    stale.mkdir(parents=True)
    first = templating.render(
        "argocd/root.yaml", name="root", project="default", repo_url="u", branch="main"
    )
    (current,) = (cache_dir / "templates").iterdir()  # the stale version's are gone
    assert current.name == buildcache.code_fingerprint()[:32]
    assert list(current.glob("*.cache"))
    templating.environment.cache_clear()
    templating.compiled.cache_clear()
    again = templating.render(
        "argocd/root.yaml", name="root", project="default", repo_url="u", branch="main"
    )
    assert again == first


@pytest.mark.usefixtures("fresh_environment")
def test_templates_render_when_the_cache_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("GITOPSGEN_CACHE_DIR", str(blocker))
    monkeypatch.delenv("GITOPSGEN_NO_CACHE", raising=False)
    text = templating.render(
        "argocd/root.yaml", name="root", project="default", repo_url="u", branch="main"
    )
    assert "name: root" in text


def reference_scan(text: str) -> tuple[int, str | None, str]:
    """The formatter's scan, one character at a time: what hclout._scan must agree with."""
    contexts: list[str] = []
    brackets, equals, after_equals, i = 0, -1, 0, 0
    while i < len(text):
        char = text[i]
        if contexts and contexts[-1] == "s":
            if char == "\\":
                i += 2
                continue
            if text.startswith(("$${", "%%{"), i):
                i += 3
                continue
            if text.startswith(("${", "%{"), i):
                contexts.append("i")
                brackets += 1
                i += 2
                continue
            if char == '"':
                contexts.pop()
        elif char == '"':
            contexts.append("s")
        elif char in "{[(":
            contexts.append("b")
            brackets += 1
        elif char in "}])":
            if contexts:
                contexts.pop()
            brackets -= 1
        elif char == "#" or text.startswith("//", i):
            raise ValueError("trailing comment")
        elif char == "=" and equals == -1 and hclout._is_assignment(text, i):
            equals, after_equals = i, brackets
        i += 1
    if equals > 0 and brackets - after_equals == 0:
        return brackets, text[:equals].rstrip(), text[equals + 1 :].lstrip()
    return brackets, None, ""


def test_the_hcl_scanner_agrees_with_a_character_by_character_scan() -> None:
    pieces = ['"', "\\", "$", "%", "{", "}", "[", "]", "(", ")", "=", "!", "<", ">", "/", "a", " "]
    rng = random.Random(7)
    lines = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(20000)]
    for line in ["a", *lines]:
        if line.startswith(("#", "//")) or "<<" in line or "/*" in line:
            continue
        try:
            expected: tuple[int, str | None, str] | str = reference_scan(line)
        except ValueError:
            expected = "refused"
        try:
            scanned = hclout._scan(line)
            got: tuple[int, str | None, str] | str = (scanned.brackets, scanned.key, scanned.value)
        except ValueError:
            got = "refused"
        assert got == expected, line
