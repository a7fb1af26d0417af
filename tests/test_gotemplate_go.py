"""gotemplate.py and timespec.py against real Go: text/template, sprig and time.ParseDuration.

tests/data/go/cases.json is the corpus; tests/data/go/gotpl.go evaluates it with Go's own
libraries as Argo CD's ApplicationSet controller configures them, and tests/data/go/golden.json
holds what Go answered. Every run checks the Python port against the golden file; where Go is
installed (CI installs it), the program is built and run too, and the golden file must be
exactly what Go answers today. After changing the corpus, refresh the golden file with
`python -m tests.test_gotemplate_go` (needs Go; see .ci/run for the packages).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from generator.argo import gotemplate
from generator.argo.timespec import DurationError, parse_duration_ns

GO_DIR = Path(__file__).parent / "data" / "go"
CASES_FILE = GO_DIR / "cases.json"
GOLDEN_FILE = GO_DIR / "golden.json"
CORPUS: dict[str, Any] = json.loads(CASES_FILE.read_text(encoding="utf-8"))
# Debian's Go packages are GOPATH-mode libraries: no module proxy is needed (or reachable).
GOPATH = "/usr/share/gocode"


def go_cases() -> list[dict[str, Any]]:
    """The corpus as the Go program reads it: every template case with its data."""
    return [
        {**case, "data": case.get("data", CORPUS["data"])} if "template" in case else case
        for case in CORPUS["cases"]
    ]


def python_result(case: dict[str, Any]) -> dict[str, Any]:
    """What the Python port answers, in the Go program's format."""
    if "duration" in case:
        try:
            return {"ns": parse_duration_ns(case["duration"])}
        except DurationError as exc:
            return {"error": exc.go_message}
    template = case["template"]
    try:
        gotemplate.parse(template)
    except gotemplate.TemplateError as exc:
        return {"error": str(exc), "phase": "parse"}
    try:
        return {"output": gotemplate.render(template, case["data"])}
    except gotemplate.TemplateError as exc:
        return {"error": str(exc), "phase": "execute"}


def label(case: dict[str, Any]) -> str:
    return repr(case.get("template", case.get("duration")))


def build_and_run(workdir: Path) -> list[dict[str, Any]]:
    """Build gotpl.go with the system Go and run it over the corpus."""
    source = workdir / "gotpl.go"
    shutil.copy(GO_DIR / "gotpl.go", source)
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": GOPATH,
        "GOCACHE": str(workdir / "cache"),
        "GOFLAGS": "",
    }
    binary = workdir / "gotpl"
    subprocess.run(
        ["go", "build", "-o", str(binary), str(source)],
        check=True,
        env=env,
        cwd=workdir,
        capture_output=True,
        timeout=600,
    )
    done = subprocess.run(
        [str(binary)],
        input=json.dumps(go_cases()),
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def go_version() -> str:
    done = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def golden_document(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "about": "What Go answers for tests/data/go/cases.json; made by tests/data/go/gotpl.go.",
        "go": go_version(),
        "results": [
            {"case": case.get("template", case.get("duration")), **result}
            for case, result in zip(CORPUS["cases"], results, strict=True)
        ],
    }


# Where the port knowingly refuses what Go evaluates (or what only newer Go evaluates): it
# must refuse loudly, never answer differently.
KNOWN_REFUSALS = {
    "{{ 1i }}": "complex numbers are not supported",
    # Go 1.22 on (Argo CD's Go) ranges over an integer; the reference Go 1.19 refuses it
    "{{ range 3 }}x{{ end }}": "range over an integer (3) is not evaluated by gitopsgen",
}

GOLDEN: dict[str, Any] = (
    json.loads(GOLDEN_FILE.read_text(encoding="utf-8")) if GOLDEN_FILE.exists() else {}
)


def test_the_corpus_is_large_and_covers_durations() -> None:
    cases = CORPUS["cases"]
    assert len([c for c in cases if "template" in c]) >= 60
    assert len([c for c in cases if "duration" in c]) >= 20


def test_golden_file_answers_every_case() -> None:
    assert [r["case"] for r in GOLDEN["results"]] == [
        c.get("template", c.get("duration")) for c in CORPUS["cases"]
    ]


@pytest.mark.parametrize("index", range(len(CORPUS["cases"])), ids=str)
def test_python_port_answers_as_go(index: int) -> None:
    case = go_cases()[index]
    expected = {k: v for k, v in GOLDEN["results"][index].items() if k != "case"}
    got = python_result(case)
    if case.get("template") in KNOWN_REFUSALS:
        assert KNOWN_REFUSALS[case["template"]] in got["error"]
        return
    assert got == expected, label(case)


@pytest.mark.skipif(shutil.which("go") is None, reason="Go is not installed (CI installs it)")
def test_golden_file_is_what_go_answers(tmp_path: Path) -> None:
    results = build_and_run(tmp_path)
    assert golden_document(results)["results"] == GOLDEN["results"]
    mismatches = [
        (label(case), python_result(case), result)
        for case, result in zip(go_cases(), results, strict=True)
        if python_result(case) != result and case.get("template") not in KNOWN_REFUSALS
    ]
    assert mismatches == []


def main() -> int:
    """Rebuild the golden file from Go's answers."""
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as workdir:
        results = build_and_run(Path(workdir))
    document = golden_document(results)
    text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    GOLDEN_FILE.write_text(text, encoding="utf-8")
    differ = sum(
        python_result(case) != result and case.get("template") not in KNOWN_REFUSALS
        for case, result in zip(go_cases(), results, strict=True)
    )
    print(f"wrote {GOLDEN_FILE}: {len(results)} cases, {differ} differ from the Python port")
    return 0


if __name__ == "__main__":
    sys.exit(main())
