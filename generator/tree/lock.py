"""Advisory locks: one build of an output directory at a time, one edit of a services file.

Two builds of one tree would interleave their writes and manifests; two `set-image` runs on
one services file would each read it, edit it and write it back, and the later would undo the
earlier (a lost update). Each takes an exclusive flock(2) on a lock file named after the
resolved path it guards, kept outside the tree (no file appears in the gitops repository), in
`$GITOPSGEN_LOCK_DIR` or the temporary directory; the kernel releases it when the process
ends, however it ends, so a killed run never leaves a stale lock. A run that finds it held
waits (`wait` seconds), saying for whom, then gives up with exit code 2.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from generator.tree.write import OutputError

WAIT_SECONDS = 120.0
POLL_SECONDS = 0.05


def lock_dir() -> Path:
    explicit = os.environ.get("GITOPSGEN_LOCK_DIR")
    if explicit:
        return Path(explicit)
    return Path(tempfile.gettempdir()) / f"gitopsgen-locks-{os.getuid()}"


def lock_path(kind: str, target: Path) -> Path:
    key = hashlib.sha256(f"{kind}\0{target.resolve()}".encode()).hexdigest()[:32]
    return lock_dir() / f"{kind}-{key}.lock"


@contextlib.contextmanager
def held(kind: str, target: Path, what: str, *, wait: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the `kind` lock of `target` (`what`: how messages name it) for the block."""
    path = lock_path(kind, target)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _refuse_shared(path.parent)
        # Never through a symbolic link: a planted one would have us write where it points.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create the lock for {what}: {exc.strerror}") from None
    try:
        _acquire(fd, what, wait)
        os.pwrite(fd, f"{os.getpid():<20}\n".encode(), 0)  # fixed width: no truncation
        yield
    finally:
        os.close(fd)  # releases the lock


def _refuse_shared(directory: Path) -> None:
    """The lock folder must be the user's own, a real folder no one else may write to:
    another user's folder in a shared temporary directory could hold planted files."""
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise OutputError(
            f"{directory}: the lock folder must be a folder of this user's that no one else"
            " may write to (set GITOPSGEN_LOCK_DIR to one)"
        )


def _acquire(fd: int, what: str, wait: float) -> None:
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        holder = _holder(fd)
        if time.monotonic() >= deadline:
            raise OutputError(
                f"{what} is in use by another gitopsgen run{holder}, still after {wait:g} s:"
                " try again when it has finished"
            )
        if not told:
            print(
                f"gitopsgen: waiting for another gitopsgen run{holder} on {what}", file=sys.stderr
            )
            told = True
        time.sleep(POLL_SECONDS)


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode().strip())
        return f" (pid {pid})"
    return ""
