"""The pinned gitopsgen the generated workflows install (`gitops.generator`).

Two forms pin the code exactly (anything else is refused, so no job installs whatever an
index serves under the name):

- a VCS URL at a full commit: `gitopsgen @ git+https://github.com/OWNER/REPO@<40 hex>`
  (PEP 508 direct reference; pip checks out exactly that commit);
- an exact version with hashes: `gitopsgen==1.2.3 --hash=sha256:<64 hex> [--hash=...]`
  (pip's hash-checking mode: https://pip.pypa.io/en/stable/topics/secure-installs/).

The value names no extra: each job adds `[validate]` only where it runs the validators.
"""

from __future__ import annotations

import re

from attrs import frozen

PACKAGE = "gitopsgen"
VALIDATE_EXTRA = "validate"
HELM_EXTRA = "helm"  # Helm (its Go SDK) for `validate` to render a services file's charts

_VCS = re.compile(
    rf"{PACKAGE} *@ *(?P<url>git\+https://[A-Za-z0-9.-]+(?::[0-9]+)?"
    r"/[A-Za-z0-9._~/-]+?(?:\.git)?@(?P<commit>[0-9a-f]{40}))"
)
_INDEX = re.compile(
    rf"{PACKAGE}==(?P<version>[0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?)"
    r"(?P<hashes>(?: +--hash=sha256:[0-9a-f]{64})+)"
)
EXAMPLES = (
    f"'{PACKAGE} @ git+https://github.com/OWNER/{PACKAGE}@<full 40-hex commit>' or "
    f"'{PACKAGE}==X.Y.Z --hash=sha256:<64 hex>'"
)


@frozen(kw_only=True)
class GeneratorPin:
    """gitopsgen at one commit (`url`) or one released file set (`version` + `hashes`)."""

    url: str | None = None
    version: str | None = None
    hashes: tuple[str, ...] = ()

    def requirement(self, *, validate: bool, helm: bool = False) -> str:
        """The requirement line for pip, with the `validate` extra when the job needs it (and
        `helm` beside it where the services file has charts for it to render)."""
        extras = [VALIDATE_EXTRA] if validate else []
        extras += [HELM_EXTRA] if validate and helm else []
        name = f"{PACKAGE}[{','.join(extras)}]" if extras else PACKAGE
        if self.url is not None:
            return f"{name} @ {self.url}"
        hashes = "".join(f" --hash=sha256:{digest}" for digest in self.hashes)
        return f"{name}=={self.version}{hashes}"


def parse(value: str) -> GeneratorPin | str:
    """The pin, or the problem with `value` (a sentence the loader locates)."""
    text = value.strip()
    if vcs := _VCS.fullmatch(text):
        return GeneratorPin(url=vcs["url"])
    if index := _INDEX.fullmatch(text):
        hashes = tuple(re.findall(r"sha256:([0-9a-f]{64})", index["hashes"]))
        return GeneratorPin(version=index["version"], hashes=hashes)
    if re.match(rf"{PACKAGE}\s*\[", text):
        return (
            f"{value!r} names an extra: leave it out (the workflows add [{VALIDATE_EXTRA}] "
            f"where they run the validators); pin it as {EXAMPLES}"
        )
    return f"{value!r} is not pinned: write {EXAMPLES}"
