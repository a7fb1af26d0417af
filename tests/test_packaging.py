"""The distribution: `--version`, `python -m gitopsgen`, and the wheel (files, metadata).

The wheel is built here by the installed hatchling (`pip wheel --no-build-isolation`): in the
floors session that is the oldest hatchling pyproject.toml allows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path

import pytest
from packaging.metadata import Metadata
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import SPECS, tree_of

ROOT = Path(__file__).parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
VERSION = PROJECT["version"]
DIST_INFO = f"gitopsgen-{VERSION}.dist-info"
BIN = Path(sys.executable).parent


def run(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    "command", [(BIN / "gitopsgen",), (sys.executable, "-m", "gitopsgen")], ids=["script", "-m"]
)
def test_version(command: tuple[str | Path, ...]) -> None:
    done = run(*command, "--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"gitopsgen {VERSION}\n", "")


def test_python_m_gitopsgen_is_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "services.toml").write_bytes((SPECS / "minimal.toml").read_bytes())
    built = run(sys.executable, "-m", "gitopsgen", "build", "-o", "out", cwd=tmp_path)
    assert (built.returncode, built.stderr) == (0, "")
    assert built.stdout.splitlines() == [
        *(f"created {path}" for path in sorted(tree_of("minimal"))),
        "created .gitopsgen-manifest",
    ]
    checked = run(sys.executable, "-m", "gitopsgen", "check", "-o", "out", cwd=tmp_path)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "out is up to date\n", "")
    usage = run(sys.executable, "-m", "gitopsgen", "no-such-command")
    assert usage.returncode == 2
    assert usage.stderr.startswith("usage: gitopsgen [-h] [--version] COMMAND ...\n")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-cache-dir",
        "-q",
        "-w",
        out,
        ROOT,
    )
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("gitopsgen-*.whl")
    assert built.name == f"gitopsgen-{VERSION}-py3-none-any.whl"
    return built


def shipped(directory: Path) -> set[Path]:
    """The files of a package folder that a wheel carries: all but what .gitignore leaves out."""
    return {
        path.relative_to(directory)
        for path in directory.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_the_wheel_carries_the_code_the_templates_and_py_typed(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        license_text = archive.read(f"{DIST_INFO}/licenses/LICENSE")
        entry_points = archive.read(f"{DIST_INFO}/entry_points.txt").decode()
    expected = {
        *(f"generator/{path.as_posix()}" for path in shipped(ROOT / "generator")),
        *(f"generator/templates/{path.as_posix()}" for path in shipped(ROOT / "templates")),
        *(f"gitopsgen/{path.as_posix()}" for path in shipped(ROOT / "gitopsgen")),
        *(
            f"{DIST_INFO}/{name}"
            for name in ("METADATA", "WHEEL", "RECORD", "entry_points.txt", "licenses/LICENSE")
        ),
    }
    assert names == expected
    assert {
        "generator/py.typed",
        "generator/templates/kustomize/deployment.yaml",
        "gitopsgen/__main__.py",
    } <= names
    assert any(name.startswith("generator/schemas/crds/") for name in names)
    assert license_text == (ROOT / "LICENSE").read_bytes()
    assert entry_points == "[console_scripts]\ngitopsgen = generator.cli:main\n"


def test_the_wheel_metadata(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read(f"{DIST_INFO}/METADATA")
    # License-Expression needs metadata 2.4 (PEP 639): packaging refuses it in an older one.
    metadata = Metadata.from_email(raw, validate=True)
    headers = BytesParser(policy=compat32).parsebytes(raw)
    assert Version(headers["Metadata-Version"]) >= Version("2.4")
    assert (metadata.name, str(metadata.version)) == ("gitopsgen", VERSION)
    assert metadata.license_expression == "Apache-2.0"
    assert metadata.license_files == ["LICENSE"]
    assert str(metadata.requires_python) == ">=3.11"
    assert metadata.project_urls == {
        "Repository": "https://github.com/bank-org/gitopsgen",
        "Issues": "https://github.com/bank-org/gitopsgen/issues",
        "Documentation": "https://github.com/bank-org/gitopsgen#readme",
    }
    assert metadata.classifiers == PROJECT["classifiers"]
    assert "Typing :: Typed" in PROJECT["classifiers"]
    # hatchling writes an extra with the extras it names (`gitopsgen[validate]`) spelled out
    declared = {normal(Requirement(text)) for text in PROJECT["dependencies"]} | {
        normal(Requirement(f"{text}; extra == '{extra}'"))
        for extra in PROJECT["optional-dependencies"]
        for text in extra_requirements(extra)
    }
    assert {normal(requirement) for requirement in metadata.requires_dist or []} == declared
    assert metadata.description is not None
    assert metadata.description.startswith("# gitopsgen\n")


def normal(requirement: Requirement) -> str:
    requirement.name = canonicalize_name(requirement.name)
    return str(requirement)


def extra_requirements(extra: str) -> list[str]:
    """An extra's requirements, with those of the extras it names."""
    found = []
    for text in PROJECT["optional-dependencies"][extra]:
        requirement = Requirement(text)
        if requirement.name == "gitopsgen":
            for named in sorted(requirement.extras):
                found.extend(extra_requirements(named))
        else:
            found.append(text)
    return found


def test_the_wheel_alone_renders_the_tree(wheel: Path, tmp_path: Path) -> None:
    """Unpacked and first on the path, the wheel's own code and templates do the build."""
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    work = tmp_path / "work"
    work.mkdir()
    (work / "services.toml").write_bytes((SPECS / "minimal.toml").read_bytes())
    env = {**os.environ, "PYTHONPATH": str(unpacked), "GITOPSGEN_NO_CACHE": "1"}
    where = run(
        sys.executable, "-c", "import generator; print(generator.__file__)", cwd=work, env=env
    )
    assert where.stdout == f"{unpacked / 'generator' / '__init__.py'}\n"
    built = run(sys.executable, "-m", "gitopsgen", "build", "-o", "out", cwd=work, env=env)
    assert (built.returncode, built.stderr) == (0, "")
    written = {
        path.relative_to(work / "out").as_posix(): path.read_text(encoding="utf-8")
        for path in (work / "out").rglob("*")
        if path.is_file()
    }
    assert written.pop(".gitopsgen-manifest")
    assert written == tree_of("minimal")
    version = run(sys.executable, "-m", "gitopsgen", "--version", cwd=work, env=env)
    assert version.stdout == f"gitopsgen {VERSION}\n"
