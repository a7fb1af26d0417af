"""`gitopsgen apps` and the small Go template evaluator behind its ApplicationSet expansion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from generator import cli
from generator.argo.appset import ExpansionError, git_pathspec, merge_patch, sanitize_name
from generator.argo.gotemplate import TemplateError, render, to_json
from tests.conftest import SPECS

MINIMAL_JSON = [
    {
        "name": "hello-dev",
        "project": "dev",
        "cluster": "https://kubernetes.default.svc",
        "namespace": "hello",
        "path": "apps/hello/overlays/dev",
        "auto_sync": True,
        "revision": "main",
        "repo": "https://github.com/acme/gitops.git",
        "cascade": True,
    }
]


def test_apps_json_for_the_minimal_spec(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["apps", "-c", str(SPECS / "minimal.toml"), "--json"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert json.loads(out) == MINIMAL_JSON
    assert out == json.dumps(MINIMAL_JSON, indent=2) + "\n"


def test_apps_table_for_the_minimal_spec(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["apps", "-c", str(SPECS / "minimal.toml")])
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.splitlines() == [
        "NAME       PROJECT  CLUSTER                         NAMESPACE  PATH"
        "                     SYNC",
        "hello-dev  dev      https://kubernetes.default.svc  hello      apps/hello/overlays/dev"
        "  auto",
    ]
    assert out.endswith("\n")


def test_apps_json_for_the_reference_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["apps", "-c", str(SPECS / "reference.toml"), "--json"]) == 0
    apps = json.loads(capsys.readouterr().out)
    assert [(a["name"], a["auto_sync"]) for a in apps] == [
        ("ledger-worker-dev", True),
        ("orders-api-dev", True),
        ("payments-api-dev", True),
        ("trading-engine-dev", True),
        ("orders-api-staging", True),
        ("payments-api-staging", True),
        ("trading-engine-staging", True),
        ("orders-api-prod", False),
        ("payments-api-prod", False),
    ]


# ---------------------------------------------------------------------------------------------
# Go templates


DATA: dict[str, Any] = {
    "env": "dev",
    "on": True,
    "off": False,
    "empty": "",
    "n": 3.0,
    "retry": {"limit": 3, "backoff": {"duration": "5s", "factor": 2}},
    "path": {"segments": ["apps", "hello", "overlays", "dev"]},
    "nothing": [],
    "ignored": [{"kind": "VirtualService", "jqPathExpressions": [".spec.http[].route[].weight"]}],
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ .env }}", "dev"),
        ("{{.env}}-x", "dev-x"),
        ("{{ index .path.segments 1 }}-{{ .env }}", "hello-dev"),
        ("{{ .n }}", "3"),
        ("{{ .on }}", "true"),
        ("{{ toJson .retry }}", '{"backoff":{"duration":"5s","factor":2},"limit":3}'),
        ('{{ toJson "<&>" }}', '"\\u003c\\u0026\\u003e"'),
        ("a\n  {{- if .on }}\n  b\n  {{- end }}\nc", "a\n  b\nc"),
        ("a\n  {{- if .off }}\n  b\n  {{- end }}\nc", "a\nc"),
        ("{{ if .empty }}yes{{ else }}no{{ end }}", "no"),
        ("x {{- .env -}} y", "xdevy"),
        ('{{ index .retry "limit" }}', "3"),
        # the parameters file's ignoreDifferences: an empty list is false in Go
        ("{{ if .nothing }}yes{{ else }}no{{ end }}", "no"),
        (
            "{{ if .ignored }}{{ toJson .ignored }}{{ end }}",
            '[{"jqPathExpressions":[".spec.http[].route[].weight"],"kind":"VirtualService"}]',
        ),
    ],
)
def test_go_template_subset(template: str, expected: str) -> None:
    assert render(template, DATA) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ .env | upper }}", "DEV"),
        ("{{ range .path.segments }}[{{ . }}]{{ end }}", "[apps][hello][overlays][dev]"),
        ("{{ .retry }}", "map[backoff:map[duration:5s factor:2] limit:3]"),
        ("{{ $x := 1 }}{{ $x }}", "1"),
        ('{{ "}}" }}{{ "\\x41" }}{{ `\\n` }}', "}}A\\n"),
        ("{{ if false }}{{ .missing }}{{ end }}ok", "ok"),
    ],
)
def test_go_template_evaluates_what_go_evaluates(template: str, expected: str) -> None:
    assert render(template, DATA) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ .missing }}", 'at <.missing>: map has no entry for key "missing"'),
        ("{{ .env.deeper }}", "can't evaluate field deeper in type interface {}"),
        ("{{ if .on }}never closed", "template: base:1: unexpected EOF"),
        ("{{ end }}", "template: base:1: unexpected {{end}}"),
        ("{{ index .path.segments 9 }}", "error calling index: index out of range: 9"),
        # never executed, but Go parses every branch
        ("{{ if false }}{{ nofunc }}{{ end }}", 'template: base:1: function "nofunc" not defined'),
        ('a\n{{ if false }}{{ "\\x4" }}{{ end }}', "template: base:2: invalid syntax"),
        ("{{ randAlpha 3 }}", "randAlpha is not evaluated by gitopsgen"),
    ],
)
def test_go_template_fails_as_go_fails(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(template, DATA)
    assert message in str(caught.value)


def test_a_branch_that_would_reach_a_template_as_code_is_refused_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gitops branch lands inside the ApplicationSet's Go template: braces never get
    there (the services file refuses them, located), so Argo CD never sees such a template."""
    spec = (SPECS / "minimal.toml").read_text(encoding="utf-8")
    spec = spec.replace('repo = "acme/gitops"\n', "repo = \"acme/gitops\"\nbranch = 'ma{{in'\n", 1)
    config = tmp_path / "services.toml"
    config.write_text(spec, encoding="utf-8")
    assert cli.main(["apps", "-c", str(config)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"{config}:4:1: gitops.branch: 'ma{{{{in' is not a branch name gitopsgen accepts: ASCII"
        " letters, digits, '.', '_', '/' and '-', starting with a letter or digit\n"
    )


def test_a_template_argo_cd_refuses_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match='function "in" not defined'):
        render("ma{{in", {})


def test_string_literals_with_braces_and_escapes_expand() -> None:
    assert render('x{{"}}"}}{{"\\x41"}}', {}) == "x}}A"


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        # Argo CD decodes every parameter number to float64; text/template prints it with
        # fmt's %v: strconv's shortest 'g', exponent form from 1e+06 on and below 1e-04.
        (3, "3"),
        (3.0, "3"),
        (0.995, "0.995"),
        (123456, "123456"),
        (1000000, "1e+06"),
        (1234567.5, "1.2345675e+06"),
        (-1000000.0, "-1e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1e21, "1e+21"),
    ],
)
def test_numbers_print_as_go_prints_a_float64(value: float, printed: str) -> None:
    assert render("{{ .x }}", {"x": value}) == printed


def test_to_json_prints_whole_floats_as_integers() -> None:
    assert to_json({"b": 2.0, "a": [1.5, "x"]}) == '{"a":[1.5,"x"],"b":2}'


@pytest.mark.parametrize(
    ("value", "printed"),
    [(0.00001, "0.00001"), (1e-7, "1e-7"), (1e21, "1e+21"), (1e20, "100000000000000000000")],
)
def test_to_json_prints_floats_as_go_encoding_json(value: float, printed: str) -> None:
    # 'f' format unless the exponent is < -6 or >= 21, then 'e' with e-07 cleaned to e-7
    assert to_json(value) == printed


# ---------------------------------------------------------------------------------------------
# Generators and patches


def test_git_pathspec_star_crosses_directories_like_git_ls_files() -> None:
    spec = git_pathspec("apps/*/overlays/dev/argocd-app.json")
    assert spec.match("apps/hello/overlays/dev/argocd-app.json")
    assert spec.match("apps/a/b/overlays/dev/argocd-app.json")
    assert not spec.match("apps/hello/overlays/prod/argocd-app.json")
    with pytest.raises(ExpansionError):
        git_pathspec("apps/?/x.json")


def test_sanitize_name() -> None:
    assert sanitize_name("directory_2") == "directory-2"
    assert sanitize_name("argocd-app.json") == "argocd-app.json"


def test_merge_patch_merges_maps_replaces_lists_and_deletes_on_null() -> None:
    target = {"spec": {"a": 1, "list": [1, 2], "gone": True, "keep": {"x": 1}}}
    patch = {"spec": {"list": [3], "gone": None, "keep": {"y": 2}, "new": "n"}}
    assert merge_patch(target, patch) == {
        "spec": {"a": 1, "list": [3], "keep": {"x": 1, "y": 2}, "new": "n"}
    }


def test_apps_table_and_json_list_the_same_service_applications(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The guard's Applications (argocd/policies/) are plain files, not generated: not listed.
    assert cli.main(["apps", "-c", str(SPECS / "reference.toml"), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert all(list(app) == list(MINIMAL_JSON[0]) for app in listed)
    assert cli.main(["apps", "-c", str(SPECS / "reference.toml")]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[0] for row in rows] == [app["name"] for app in listed]
