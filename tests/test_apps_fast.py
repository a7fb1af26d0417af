"""`gitopsgen apps` reads what it read before, only faster: the YAML, the tree, the templates."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from generator.argo import appset, gotemplate
from generator.kustomize import yamlio
from generator.naming import gitops_repo_url
from generator.render import render_tree
from generator.render.argocd import APPLICATIONSET_PATH
from generator.resolve import Model, resolve
from generator.spec.load import load_text
from tests.conftest import SPECS

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
from synth import services_file  # bench/ is not a package

NAMES = ["reference", "gcp", "minimal", "canary-variants"]


def model_of(name: str) -> Model:
    text = services_file(40) if name == "synthetic" else (SPECS / f"{name}.toml").read_text()
    return resolve(load_text(text, name).spec)


def ruamel(text: str) -> Any:
    """What `apps` read YAML with before: ruamel.yaml's pure-Python safe loader (YAML 1.2)."""
    return YAML(typ="safe", pure=True).load(text)


def texts_read(model: Model) -> list[str]:
    """Every YAML text expanding the model's ApplicationSet reads: itself and each patch."""
    text = render_tree(model)[APPLICATIONSET_PATH]
    spec = ruamel(text)["spec"]
    params = [p for g in spec["generators"] for p in appset.generate(g, repository(model), {})]
    return [text, *(gotemplate.render(spec["templatePatch"], p) for p in params)]


def repository(model: Model) -> appset.Repository:
    tree = render_tree(model)
    url = gitops_repo_url(model.spec.gitops.repo)
    return appset.Repository(tree=tree, url=url, revision=model.spec.gitops.branch)


@pytest.mark.parametrize("name", [*NAMES, "synthetic"])
def test_the_yaml_reads_as_it_did(name: str) -> None:
    model = model_of(name)
    for text in texts_read(model):
        assert appset.load_yaml(text) == ruamel(text) == next(yamlio.load_all(text))


@pytest.mark.parametrize(
    "text",
    [
        "a: &x [1, 2]\nb: *x\n",  # anchors and aliases: PyYAML's constructor
        "a: !!int '3'\n",
        "? [1, 2]\n: x\n",  # an unhashable key: refused as the constructor refuses it
        "a: 1\na: 2\n",
        "a: on\nb: 0o17\nc: 1e3\nd: ~\ne: '1'\nf: |\n  x\ng: 2024-01-02\nh: .inf\n",
        "- {a: [b, {c: d}]}\n- []\n- {}\n- ''\n",
        "",
        "# only a comment\n",
        "---\n---\nk: v\n",
        "k: v\n---\nl: w\n",
    ],
)
def test_the_event_reader_reads_as_yamlio(text: str) -> None:
    try:
        expected: Any = list(yamlio.load_all(text))
    except Exception as exc:
        with pytest.raises(type(exc)):
            appset.load_yaml(text)
        return
    if len(expected) > 1:
        with pytest.raises(appset.ExpansionError, match="expected one YAML document"):
            appset.load_yaml(text)
    else:
        assert appset.load_yaml(text) == (expected[0] if expected else None)


@pytest.mark.parametrize("name", NAMES)
def test_the_tree_is_rendered_only_as_far_as_it_is_read(name: str) -> None:
    model = model_of(name)
    tree = render_tree(model)
    lazy = appset.RenderedTree(model)
    assert lazy[APPLICATIONSET_PATH] == tree[APPLICATIONSET_PATH]
    assert lazy._tree is None  # the ApplicationSet alone was rendered
    assert APPLICATIONSET_PATH in lazy
    assert dict(lazy) == tree
    assert lazy[APPLICATIONSET_PATH] == tree[APPLICATIONSET_PATH]


def test_a_git_generator_reads_the_whole_tree() -> None:
    model = model_of("minimal")
    lazy = appset.RenderedTree(model)
    url = gitops_repo_url(model.spec.gitops.repo)
    repo = appset.Repository(tree=lazy, url=url, revision=model.spec.gitops.branch)
    files = repo.files(url, model.spec.gitops.branch, "apps/*/base/kustomization.yaml")
    assert files
    assert files == {p: t for p, t in render_tree(model).items() if p in files}


@pytest.mark.parametrize("name", [*NAMES, "synthetic"])
def test_the_applications_are_those_of_the_whole_tree(name: str) -> None:
    model = model_of(name)
    url, branch = gitops_repo_url(model.spec.gitops.repo), model.spec.gitops.branch
    assert appset.expand_tree(appset.RenderedTree(model), url, branch) == appset.expand_tree(
        render_tree(model), url, branch
    )


@pytest.mark.parametrize("name", NAMES)
def test_templates_render_as_gotemplate_renders_them(name: str) -> None:
    model = model_of(name)
    spec = ruamel(render_tree(model)[APPLICATIONSET_PATH])["spec"]
    params = [p for g in spec["generators"] for p in appset.generate(g, repository(model), {})]
    templates = [spec["templatePatch"], "plain text", "{{ .name }}-{{ .env }}"]
    for template in templates:
        for p in params:
            assert appset.render_template(template, p, "t") == gotemplate.render(template, p)


def test_a_template_error_is_raised_every_time() -> None:
    for _ in range(2):
        with pytest.raises(gotemplate.TemplateError):
            appset.render_template("{{ range .x }}{{ else }}{{ .y }}{{ end }}", {"x": []}, "t")
        with pytest.raises(gotemplate.TemplateError):
            appset.render_template("{{ .missing }}", {}, "t")
