"""The two trees a rendered diff compares: in memory, a directory, or a git revision.

Each lists the files under `apps/` with a git blob id, so that an Application whose inputs
(its overlay and its base) are byte-identical on both sides is skipped without being built.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from generator.argo import appset as simulation  # its event reader: 3,000 elements fast
from generator.kustomize import yamlio
from generator.kustomize.build import clone
from generator.spec.errors import InputError

APPS = "apps/"
APPLICATIONSET = "argocd/applicationset.yaml"  # render/argocd.py APPLICATIONSET_PATH


def blob_id(data: bytes) -> str:
    """The id git gives a file of these bytes (`git hash-object`)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class Tree:
    """Files under apps/ by path, with their blob ids; contents read on demand."""

    def __init__(self, label: str, blobs: Mapping[str, str]) -> None:
        self.label = label
        self.blobs = dict(blobs)
        self._by_service: dict[str, list[tuple[str, str]]] | None = None
        self._applicationset: Any = False  # not read yet

    def read(self, path: str) -> str | None:
        raise NotImplementedError

    def overlays(self) -> dict[tuple[str, str], str]:
        """(service, env) -> overlay directory, for every Application of the tree.

        With an ApplicationSet, its elements say which overlays Argo CD deploys (an overlay
        kept by allow_foreign without one is not an Application); without, every overlay.
        """
        elements = self.elements()
        found = {}
        for path in self.blobs:
            parts = path.split("/")
            # a Kustomize overlay, or a Helm chart's: its values-<env>.yaml (chart_values)
            if (
                len(parts) == 5
                and parts[2] == "overlays"
                and parts[4]
                in (
                    "kustomization.yaml",
                    f"values-{parts[3]}.yaml",
                )
            ):
                overlay = "/".join(parts[:4])
                if elements is None or overlay in elements:
                    found[(parts[1], parts[3])] = overlay
        return found

    def applicationset(self) -> tuple[str, dict[str, dict[str, Any]]] | None:
        """The ApplicationSet without its elements (as YAML), and the elements by path."""
        if self._applicationset is False:
            # Both sides of a diff usually hold the same ApplicationSet: read it once.
            blob = self.blobs.get(APPLICATIONSET)
            if blob is not None and blob in _SPLIT:
                self._applicationset = _SPLIT[blob]
            else:
                self._applicationset = _split_applicationset(self.read(APPLICATIONSET))
                if blob is not None:
                    _SPLIT[blob] = self._applicationset
        found: tuple[str, dict[str, dict[str, Any]]] | None = self._applicationset
        return found

    def services_file(self) -> str | None:
        """The services file the tree was built from, when the base keeps it (else None)."""
        return None

    def elements(self) -> dict[str, dict[str, Any]] | None:
        found = self.applicationset()
        return None if found is None else found[1]

    def inputs(self, service: str, env: str) -> tuple[tuple[str, str], ...]:
        """The files an overlay's build may read (a read outside them is refused)."""
        if self._by_service is None:  # indexed once: 3,000 overlays must not scan 15,000 files each
            self._by_service = {}
            for path, blob in sorted(self.blobs.items()):
                self._by_service.setdefault(path.split("/")[1], []).append((path, blob))
        prefixes = input_prefixes(service, env)
        return tuple(
            item for item in self._by_service.get(service, ()) if item[0].startswith(prefixes)
        )


_SPLIT: dict[str, Any] = {}  # blob id -> _split_applicationset of that text


def _split_applicationset(text: str | None) -> tuple[str, dict[str, dict[str, Any]]] | None:
    """The list generator's elements by `path`, and the rest of the ApplicationSet."""
    if text is None:
        return None
    try:
        document = simulation.load_yaml(text)
    except (yaml.YAMLError, yamlio.UnsupportedYaml, simulation.ExpansionError) as exc:
        raise InputError([f"{APPLICATIONSET}: not YAML gitopsgen reads: {exc}"]) from None
    if not isinstance(document, dict):
        return None
    appset = clone(document)
    elements: dict[str, dict[str, Any]] = {}
    for generator in (appset.get("spec") or {}).get("generators") or ():
        listed = generator.get("list") if isinstance(generator, dict) else None
        if isinstance(listed, dict):
            for element in listed.pop("elements", None) or ():
                if isinstance(element, dict) and isinstance(element.get("path"), str):
                    elements[element["path"]] = element
    return yamlio.dump(appset), elements


def input_prefixes(service: str, env: str) -> tuple[str, str]:
    return (f"apps/{service}/base/", f"apps/{service}/overlays/{env}/")


class MemoryTree(Tree):
    """What services.toml renders now."""

    def __init__(self, files: Mapping[str, str]) -> None:
        self.files = {
            path: text
            for path, text in files.items()
            if path.startswith(APPS) or path == APPLICATIONSET
        }
        super().__init__(
            "services.toml",
            {path: blob_id(text.encode()) for path, text in self.files.items()},
        )

    def read(self, path: str) -> str | None:
        return self.files.get(path)


class DirectoryTree(Tree):
    """A written tree: the output directory, or a checkout of the base branch."""

    def __init__(self, root: Path, services_file: Path | None = None) -> None:
        self._services_file = services_file
        if not root.is_dir():
            raise InputError([f"{root}: no such directory (the tree to compare against)"])
        self.root = root
        self.texts: dict[str, str] = {}
        blobs = {}
        apps = root / "apps"
        for folder, dirs, names in os.walk(apps):
            dirs.sort()
            for name in names:
                full = Path(folder, name)
                if full.is_symlink() or not full.is_file():
                    continue  # gitopsgen never writes links; Kustomize would not follow them here
                data = full.read_bytes()
                path = full.relative_to(root).as_posix()
                blobs[path] = blob_id(data)
                self.texts[path] = data.decode("utf-8", errors="replace")
        appset = root / APPLICATIONSET
        if appset.is_file() and not appset.is_symlink():
            data = appset.read_bytes()
            blobs[APPLICATIONSET] = blob_id(data)
            self.texts[APPLICATIONSET] = data.decode("utf-8", errors="replace")
        super().__init__(str(root), blobs)

    def read(self, path: str) -> str | None:
        return self.texts.get(path)

    def services_file(self) -> str | None:
        path = self._services_file
        if path is None or not path.is_file():
            return None
        return path.read_text(encoding="utf-8", errors="replace")


class GitTree(Tree):
    """The tree as committed at a revision: `git ls-tree`, then `git cat-file --batch`."""

    def __init__(self, out: Path, revision: str, services_file: Path | None = None) -> None:
        top, prefix = _repository_of(out)
        self.top, self.revision = top, revision
        self._services_path: str | None = None
        if services_file is not None:
            try:
                relative = services_file.resolve().relative_to(top.resolve()).as_posix()
                self._services_path = relative
            except ValueError:
                self._services_path = None
        listing = _git(
            top,
            "ls-tree",
            "-r",
            "-z",
            "--full-tree",
            revision,
            "--",
            f"{prefix}apps",
            f"{prefix}{APPLICATIONSET}",
        )
        if listing is None:
            raise InputError(
                [f"--base {revision}: not a revision of the repository at {top} (git rev-parse)"]
            )
        blobs = {}
        for entry in listing.split(b"\0"):
            if not entry:
                continue
            meta, _, name = entry.partition(b"\t")
            mode, kind, sha = meta.split()
            if kind == b"blob" and mode != b"120000":  # a symlink is not a file Kustomize reads
                blobs[name.decode()[len(prefix) :]] = sha.decode()
        self._texts: dict[str, str] = {}
        super().__init__(f"{revision}", blobs)

    def read(self, path: str) -> str | None:
        if path not in self.blobs:
            return None
        if path not in self._texts:
            self.prefetch([path])
        return self._texts[path]

    def services_file(self) -> str | None:
        if self._services_path is None:
            return None
        shown = _git(self.top, "show", f"{self.revision}:{self._services_path}")
        return None if shown is None else shown.decode("utf-8", errors="replace")

    def prefetch(self, paths: list[str]) -> None:
        """Read many blobs with one `git cat-file --batch`."""
        wanted = [p for p in paths if p in self.blobs and p not in self._texts]
        if not wanted:
            return
        request = "".join(f"{self.blobs[p]}\n" for p in wanted).encode()
        proc = subprocess.run(
            ["git", "-C", str(self.top), "cat-file", "--batch"],
            input=request,
            capture_output=True,
            check=True,
        )
        data, offset = proc.stdout, 0
        for path in wanted:
            header_end = data.index(b"\n", offset)
            size = int(data[offset:header_end].split()[2])
            start = header_end + 1
            self._texts[path] = data[start : start + size].decode("utf-8", errors="replace")
            offset = start + size + 1


def _git(top: Path, *args: str) -> bytes | None:
    try:
        proc = subprocess.run(["git", "-C", str(top), *args], capture_output=True, check=False)
    except OSError:
        raise InputError(["--base needs git on PATH, or compare with --previous DIR"]) from None
    return proc.stdout if proc.returncode == 0 else None


def _repository_of(out: Path) -> tuple[Path, str]:
    """The work tree holding `out`, and `out`'s path inside it (`''` or `out/`)."""
    existing = out.resolve()
    while not existing.exists():
        existing = existing.parent
    top = _git(existing, "rev-parse", "--show-toplevel")
    if top is None:
        raise InputError(
            [f"{out}: not inside a git repository; compare with --previous DIR instead of --base"]
        )
    root = Path(top.decode().strip())
    relative = out.resolve().relative_to(root.resolve()).as_posix()
    return root, "" if relative == "." else f"{relative}/"
