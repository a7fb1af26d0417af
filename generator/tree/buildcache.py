"""The no-op fast path: know that the output is up to date without loading or rendering anything.

After a run that leaves the output directory exactly equal to the render, a record is kept
OUTSIDE the output directory (in the user's cache directory, never in the committed tree):

- the key: a sha256 of the services file's bytes and path, the output directory's path, and
  the generator itself (its Python files, its templates, the Jinja and Python versions);
- the warnings the services file gave (repeated on every run, as a full load would);
- for every generated file and the manifest: inode, size, mtime and ctime (plus its sha256),
  and for every directory on their way: its inode, as a directory.

The next run with the same key trusts that record when every stat still matches, git-index
style. A file whose timestamps are too close to the moment the record was made is "racy"
(an edit within the clock's granularity could keep them equal): its bytes are hashed
instead. Anything unexpected (no record, another key, a different stat, a corrupt record, a
read-only cache directory) simply means "not known to be up to date": the caller renders as
usual. The record never influences what is written, so the output stays deterministic.

`GITOPSGEN_CACHE_DIR` moves the records; `GITOPSGEN_NO_CACHE=1` turns the fast path off. The
same directory keeps the compiled templates (templating.compiled_templates), under this
module's code_fingerprint.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import stat
import sys
import time
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

FORMAT = 1
# Timestamps this close to when the record was made are not trusted: a file's timestamps come
# from the kernel's coarse clock, which lags by up to a jiffy (<= 10 ms) on filesystems with
# sub-second timestamps (ext4, xfs, btrfs, tmpfs, APFS); whole-second ones (and FAT's 2 s)
# get the wide window. A timestamp that falls exactly on a second counts as whole-second.
FINE_RACY_NS = 100_000_000
COARSE_RACY_NS = 2_000_000_000
PACKAGE = Path(__file__).parent.parent  # the generator package


def cache_dir() -> Path | None:
    if os.environ.get("GITOPSGEN_NO_CACHE"):
        return None
    explicit = os.environ.get("GITOPSGEN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "gitopsgen"


def templates_dir() -> Path:
    """`templates/` inside the installed package, or beside it in a checkout."""
    packaged = PACKAGE / "templates"
    return packaged if packaged.is_dir() else PACKAGE.parent / "templates"


def _files_under(directory: Path, pattern: str) -> list[Path]:
    return sorted(
        p for p in directory.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts
    )


@cache
def code_fingerprint() -> str:
    """A hash of everything besides the services file that decides the rendered bytes."""
    digest = hashlib.sha256(f"{FORMAT}\0{sys.version}\0".encode())
    jinja = importlib.util.find_spec("jinja2")
    sources = _files_under(PACKAGE, "*.py") + _files_under(templates_dir(), "*")
    if jinja is not None and jinja.origin:
        sources.append(Path(jinja.origin))  # carries Jinja's __version__
    for source in sources:
        data = source.read_bytes()
        digest.update(f"{source.relative_to(source.anchor)}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


def input_key(config: Path, config_bytes: bytes, out: Path) -> str:
    digest = hashlib.sha256(code_fingerprint().encode())
    for part in (str(config.resolve()).encode(), str(out.resolve()).encode(), config_bytes):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _record_path(out: Path) -> Path | None:
    directory = cache_dir()
    if directory is None:
        return None
    name = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:32]
    return directory / f"{name}.json"


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _parents(paths: Iterable[str]) -> set[str]:
    parents: set[str] = set()
    for path in paths:
        directory = path.rpartition("/")[0]
        while directory and directory not in parents:
            parents.add(directory)
            directory = directory.rpartition("/")[0]
    return parents


def save(
    key: str,
    out: Path,
    hashes: dict[str, str],
    warnings: list[str],
    *,
    since: int,
    written: Mapping[str, os.stat_result] | None = None,
) -> None:
    """Remember that `out` holds exactly these files (path -> sha256), as they are now.

    `since` is when the run began (time.time_ns()): a file changed after that, by this run's
    own writes or by anyone else, has its bytes checked against its sha256 before its stat is
    recorded; the stat is taken first, so an edit after the check shows in the stat.

    `written` holds the files this run has just written, with their stat taken through the
    descriptor that wrote them (write.apply): their bytes are known to be the hashed ones, so
    they are neither stat'ed again nor read back.
    """
    record_path = _record_path(out)
    if record_path is None:
        return
    written = written or {}
    prefix = f"{out.resolve()}{os.sep}"  # plain strings: pathlib is slow for 10,000s of paths
    made_at = time.time_ns()  # before the stats: an edit after a stat is newer than this
    try:
        stats = {
            path: written[path] if path in written else os.lstat(prefix + path) for path in hashes
        }
        fresh = [
            path
            for path, st in stats.items()
            if path not in written and _is_racy(st.st_mtime_ns, st.st_ctime_ns, since)
        ]
        # changed during this run by anyone else: check the bytes
        if any(_sha256(prefix + path) != hashes[path] for path in fresh):
            forget(out)  # someone else changed a file during this run: vouch for nothing
            return
        files = {path: [*_stat_key(st), hashes[path]] for path, st in stats.items()}
        dirs = {d: os.lstat(prefix + d).st_ino for d in sorted(_parents(hashes))}
        record = {
            "format": FORMAT,
            "key": key,
            "made_at": made_at,
            "warnings": warnings,
            "files": files,
            "dirs": dirs,
        }
        record_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = record_path.with_name(f"{record_path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(record), encoding="utf-8")
        os.replace(temporary, record_path)
    except OSError:
        forget(out)  # no record: the next run renders


def _sha256(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def forget(out: Path) -> None:
    record_path = _record_path(out)
    if record_path is not None:
        try:
            record_path.unlink()
        except OSError:
            return


def up_to_date(key: str, out: Path) -> list[str] | None:
    """The warnings to repeat when `out` is known to be exactly the render; else None."""
    record = _load(out)
    if record is None or record.get("format") != FORMAT or record.get("key") != key:
        return None
    prefix = f"{out.resolve()}{os.sep}"
    try:
        racy = _stat_mismatch_or_racy(record, prefix)
        if racy is None:
            return None
        for path, sha in racy:
            if _sha256(prefix + path) != sha:
                return None
    except (OSError, ValueError, TypeError, KeyError):
        return None
    now = time.time_ns()
    if any(not _is_racy(*_racy_times(record, path), now) for path, _ in racy):
        # some files have since become old enough to trust by their stat alone: say so
        files: dict[str, list[Any]] = record["files"]
        hashes = {path: entry[4] for path, entry in files.items()}
        save(key, out, hashes, record["warnings"], since=int(record["made_at"]))
    return [str(warning) for warning in record["warnings"]]


def _is_racy(mtime: int, ctime: int, made_at: int) -> bool:
    """Could an edit after the stat made at `made_at` have left these timestamps unchanged?"""
    second = 1_000_000_000
    coarse = mtime % second == 0 or ctime % second == 0
    return max(mtime, ctime) >= made_at - (COARSE_RACY_NS if coarse else FINE_RACY_NS)


def _racy_times(record: dict[str, Any], path: str) -> tuple[int, int]:
    _, _, mtime, ctime, _ = record["files"][path]
    return int(mtime), int(ctime)


def _load(out: Path) -> dict[str, Any] | None:
    record_path = _record_path(out)
    if record_path is None:
        return None
    try:
        loaded = json.loads(record_path.read_bytes())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _stat_mismatch_or_racy(record: dict[str, Any], prefix: str) -> list[tuple[str, str]] | None:
    """None when a stat differs; else the files whose bytes must be hashed to be sure."""
    for directory, inode in record["dirs"].items():
        st = os.lstat(prefix + directory)
        if not stat.S_ISDIR(st.st_mode) or st.st_ino != inode:
            return None
    made_at = int(record["made_at"])
    racy: list[tuple[str, str]] = []
    for path, (inode, size, mtime, ctime, sha) in record["files"].items():
        st = os.lstat(prefix + path)
        if not stat.S_ISREG(st.st_mode) or _stat_key(st) != [inode, size, mtime, ctime]:
            return None
        if _is_racy(mtime, ctime, made_at):
            racy.append((path, sha))
    return racy
