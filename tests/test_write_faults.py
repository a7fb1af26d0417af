"""A build that dies part-way: the next one recognises the tree as its own and completes it,
byte for byte, without --force. Kills are injected between two file writes; a full disk is a
tiny tmpfs where the machine lets the tests mount one."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.cli import main
from generator.tree import write
from tests.conftest import SPECS

REFERENCE = (SPECS / "reference.toml").read_text(encoding="utf-8")
# Changes most files of the tree (every image, role and registry name).
OTHER_ACCOUNT = REFERENCE.replace('account = "111111111111"', 'account = "333333333333"')


class Killed(BaseException):
    """What SIGKILL does to a build between two writes, as far as the tree can tell."""


def files_under(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def build(config: Path, out: Path) -> int:
    return main(["build", "-c", str(config), "-o", str(out)])


@pytest.fixture
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The tree a clean build of the reference file writes."""
    root = tmp_path_factory.mktemp("clean")
    (root / "services.toml").write_text(REFERENCE, encoding="utf-8")
    assert build(root / "services.toml", root / "out") == 0
    return files_under(root / "out")


def die_at(monkeypatch: pytest.MonkeyPatch, nth: int, leave_temporary: bool = True) -> None:
    """The nth file write (not counting the journal) never happens: the process dies there,
    its temporary file half written."""
    replace = write._replace
    count = 0

    def dying(path: str, data: bytes, *, durable: bool) -> os.stat_result:
        nonlocal count
        if not path.endswith(write.JOURNAL):
            count += 1
            if count == nth:
                directory, name = os.path.split(path)
                if leave_temporary:
                    Path(directory, f".{name}.4242.gitopsgen-tmp").write_bytes(data[:7])
                raise Killed
        return replace(path, data, durable=durable)

    monkeypatch.setattr(write, "_replace", dying)


@pytest.mark.parametrize("nth", [1, 2, 5, 9])
def test_a_build_killed_between_two_writes_is_completed_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean: dict[str, bytes], nth: int
) -> None:
    config, out = tmp_path / "services.toml", tmp_path / "out"
    config.write_text(REFERENCE, encoding="utf-8")
    assert build(config, out) == 0
    config.write_text(OTHER_ACCOUNT, encoding="utf-8")
    with monkeypatch.context() as patched:
        die_at(patched, nth)
        with pytest.raises(Killed):
            build(config, out)
    assert (out / write.JOURNAL).is_file()
    # The user goes back to the file as it was: the files the dead build replaced hold bytes
    # the manifest never recorded, yet none is "edited by hand".
    config.write_text(REFERENCE, encoding="utf-8")
    assert main(["check", "-c", str(config), "-o", str(out)]) == 1
    assert build(config, out) == 0
    assert files_under(out) == clean
    # and the input the dead build had is built as well, still without --force
    config.write_text(OTHER_ACCOUNT, encoding="utf-8")
    assert build(config, out) == 0


def test_check_reports_what_an_interrupted_build_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config, out = tmp_path / "services.toml", tmp_path / "out"
    config.write_text(REFERENCE, encoding="utf-8")
    assert build(config, out) == 0
    config.write_text(REFERENCE.replace('tag = "sha-5c1d9b0"', 'tag = "sha-5c1d9b1"'))
    with monkeypatch.context() as patched:
        die_at(patched, 1)
        with pytest.raises(Killed):
            build(config, out)
    capsys.readouterr()
    assert main(["check", "-c", str(config), "-o", str(out)]) == 1
    overlay = "apps/orders-api/overlays/prod"
    assert capsys.readouterr().out.splitlines() == [
        f"stale {overlay}/kustomization.yaml",
        "stale .gitopsgen-manifest",
        f"leftover {overlay}/.kustomization.yaml.4242.gitopsgen-tmp: a temporary file of an"
        " interrupted build: the next build removes it",
        "interrupted .gitopsgen-journal: a build was interrupted: the next build completes the"
        " tree and removes it",
    ]
    assert build(config, out) == 0
    assert not (out / write.JOURNAL).exists()
    assert not list(out.rglob("*.gitopsgen-tmp"))
    assert main(["check", "-c", str(config), "-o", str(out)]) == 0


def test_a_new_folder_the_dead_build_made_and_left_empty_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, out = tmp_path / "services.toml", tmp_path / "out"
    config.write_text(REFERENCE, encoding="utf-8")
    assert build(config, out) == 0
    invoice = '[services.invoice-api]\nteam = "payments"\n'
    added = f'{REFERENCE}\n{invoice}\n[services.invoice-api.envs.dev]\ntag = "1.0"\n'
    config.write_text(added, encoding="utf-8")
    with monkeypatch.context() as patched:
        die_at(patched, 1, leave_temporary=False)
        with pytest.raises(Killed):
            build(config, out)
    assert (out / "apps/invoice-api/base").is_dir()  # made before the first write
    config.write_text(REFERENCE, encoding="utf-8")
    assert build(config, out) == 0
    assert not (out / "apps/invoice-api").exists()


def test_an_unwritable_folder_fails_the_build_and_the_next_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean: dict[str, bytes]
) -> None:
    config, out = tmp_path / "services.toml", tmp_path / "out"
    config.write_text(REFERENCE, encoding="utf-8")
    assert build(config, out) == 0
    config.write_text(OTHER_ACCOUNT, encoding="utf-8")
    opened = os.open
    refused = str(out / "apps/payments-api/base")

    def permission(path: str, flags: int, mode: int = 0o777) -> int:
        # as root, chmod does not stop a write: the refusal is injected where it would come
        if str(path).startswith(refused) and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return opened(path, flags, mode)

    with monkeypatch.context() as patched:
        patched.setattr(os, "open", permission)
        assert build(config, out) == 2
    assert (out / write.JOURNAL).is_file()
    config.write_text(REFERENCE, encoding="utf-8")
    assert build(config, out) == 0
    assert files_under(out) == clean


@pytest.fixture
def tiny_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs, where the machine lets the tests mount one (root, CI included)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_filesystem_fails_the_build_and_the_next_recovers(
    tiny_filesystem: Path,
    tmp_path: Path,
    clean: dict[str, bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    config, out = tmp_path / "services.toml", tiny_filesystem / "out"
    config.write_text(REFERENCE, encoding="utf-8")
    assert build(config, out) == 0
    # a config value of 100 KiB in every environment's overlay of a service: the disk fills
    big = REFERENCE.replace('LOG_LEVEL = "debug"', f'LOG_LEVEL = "debug", BLOB = "{"x" * 200_000}"')
    assert big != REFERENCE
    config.write_text(big, encoding="utf-8")
    capsys.readouterr()
    assert build(config, out) == 2
    error = capsys.readouterr().err
    assert "cannot write: No space left on device" in error
    assert ".gitopsgen-tmp" not in error  # the file meant, not its temporary file
    assert not list(out.rglob("*.gitopsgen-tmp"))
    config.write_text(REFERENCE, encoding="utf-8")
    assert build(config, out) == 0
    assert files_under(out) == clean


def test_two_interrupted_builds_in_a_row_are_still_recognised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, out = tmp_path / "services.toml", tmp_path / "out"
    config.write_text(REFERENCE, encoding="utf-8")
    assert build(config, out) == 0
    config.write_text(OTHER_ACCOUNT, encoding="utf-8")
    with monkeypatch.context() as patched:
        die_at(patched, 2)  # the first dead build wrote one file
        with pytest.raises(Killed):
            build(config, out)
    with monkeypatch.context() as patched:
        die_at(patched, 1)  # the second one, on the same input, died before its first write
        with pytest.raises(Killed):
            build(config, out)
    # a third input again: the first dead build's file is neither "edited by hand" nor lost
    third = OTHER_ACCOUNT.replace('region = "me-south-1"', 'region = "eu-west-1"')
    assert third != OTHER_ACCOUNT
    config.write_text(third, encoding="utf-8")
    assert build(config, out) == 0
    config.write_text(REFERENCE, encoding="utf-8")
    assert build(config, out) == 0


def test_a_forged_journal_cannot_make_a_build_delete_a_hand_written_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "services.toml"
    config.write_text(REFERENCE, encoding="utf-8")
    assert build(config, tmp_path) == 0
    readme = tmp_path / "README.md"
    readme.write_text("# The gitops repository\n", encoding="utf-8")
    hand = tmp_path / ".github/workflows/hand.yml"
    hand.write_text("name: hand\n", encoding="utf-8")
    forged = "".join(
        f"{write.digest(path.read_bytes())}  {path.relative_to(tmp_path).as_posix()}\n"
        for path in (readme, hand)
    )
    (tmp_path / write.JOURNAL).write_text(write.JOURNAL_HEADER + forged, encoding="utf-8")
    capsys.readouterr()
    assert build(config, tmp_path) == 0
    assert readme.read_text(encoding="utf-8") == "# The gitops repository\n"
    assert hand.read_text(encoding="utf-8") == "name: hand\n"
    err = capsys.readouterr().err
    assert (
        "warning: .gitopsgen-journal: 'README.md' is not a path gitopsgen writes: the claim is"
        " ignored and the file left alone\n"
    ) in err
    assert not (tmp_path / write.JOURNAL).exists()
