"""Runs at once: two edits of one services file both land; two builds of one tree both
succeed and leave it exact; a held lock is reported, with who holds it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.tree import lock
from generator.tree.write import OutputError
from tests.conftest import SPECS

REFERENCE = (SPECS / "reference.toml").read_text(encoding="utf-8")
DIGEST = "sha256:" + "12" * 32


def gitopsgen(*args: str | Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "generator", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "GITOPSGEN_NO_CACHE": "1"},
    )


@pytest.mark.parametrize("trial", range(4))
def test_two_set_image_runs_at_once_both_land(tmp_path: Path, trial: int) -> None:
    config = tmp_path / "services.toml"
    config.write_text(REFERENCE, encoding="utf-8")
    runs = [
        gitopsgen(
            "set-image", "orders-api", "dev", f"sha-{trial}aaaaaa", "--digest", DIGEST, "-c", config
        ),
        gitopsgen(
            "set-image",
            "payments-api",
            "dev",
            f"sha-{trial}bbbbbb",
            "--digest",
            DIGEST,
            "-c",
            config,
        ),
    ]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err.decode()
    text = config.read_text(encoding="utf-8")
    assert f'tag = "sha-{trial}aaaaaa"' in text
    assert f'tag = "sha-{trial}bbbbbb"' in text


def test_two_builds_of_one_tree_at_once_both_succeed(tmp_path: Path) -> None:
    config = tmp_path / "services.toml"
    config.write_text(REFERENCE, encoding="utf-8")
    out = tmp_path / "out"
    runs = [gitopsgen("build", "-c", config, "-o", out) for _ in range(3)]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err.decode()
    check = gitopsgen("check", "-c", config, "-o", out)
    check.communicate(timeout=120)
    assert check.returncode == 0


def test_a_held_lock_is_reported_with_its_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITOPSGEN_LOCK_DIR", str(tmp_path / "locks"))
    target = tmp_path / "services.toml"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from generator.tree import lock\n"
            f"with lock.held('services', Path({str(target)!r}), 'x'):\n"
            "    print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        env={**os.environ},
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"held\n"
        with (
            pytest.raises(OutputError) as caught,
            lock.held("services", target, "services.toml", wait=0.2),
        ):
            pass
        assert str(caught.value) == (
            f"services.toml is in use by another gitopsgen run (pid {holder.pid}), still after"
            " 0.2 s: try again when it has finished"
        )
    finally:
        holder.kill()
        holder.communicate()  # reaps it and closes its pipe
    with lock.held("services", target, "services.toml", wait=5):  # released by the kill
        pass


def test_the_lock_never_follows_a_planted_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locks = tmp_path / "locks"
    locks.mkdir(mode=0o700)
    monkeypatch.setenv("GITOPSGEN_LOCK_DIR", str(locks))
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    target = tmp_path / "services.toml"
    lock.lock_path("services", target).symlink_to(victim)
    with (
        pytest.raises(OutputError, match="cannot create the lock"),
        lock.held("services", target, "services.toml", wait=0.1),
    ):
        pass
    assert victim.read_text(encoding="utf-8") == "precious\n"
    locks.chmod(0o777)  # a folder others may write to is refused outright
    with (
        pytest.raises(OutputError, match="no one else may write to"),
        lock.held("services", target, "services.toml", wait=0.1),
    ):
        pass
