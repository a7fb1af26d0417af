"""The in-process Kustomize against the real one: every overlay, byte for byte, and its rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import tools
from generator.kustomize import jsonpatch, yamlio
from generator.kustomize.build import (
    BuildError,
    Kustomizer,
    Unsupported,
    config_map_hash,
    render_objects,
    split_image,
    updated_image,
)
from generator.render import render_tree
from generator.resolve import resolve
from generator.review.changes import Side
from generator.review.trees import DirectoryTree
from generator.spec.load import load_text
from tests.conftest import SPEC_NAMES, tree_of

ROOT = Path(__file__).parent.parent
QUOTING = Path(__file__).parent / "data" / "kustomize" / "quoting.toml"


def tree_from(path: Path) -> dict[str, str]:
    return render_tree(resolve(load_text(path.read_text(encoding="utf-8"), str(path)).spec))


def trees() -> dict[str, dict[str, str]]:
    found = {name: tree_of(name) for name in (*SPEC_NAMES, "canary-variants")}
    found["quoting"] = tree_from(QUOTING)
    found["project"] = tree_from(ROOT / "services.toml")
    return found


TREES = trees()
OVERLAY_DIRS = [
    (name, path.rsplit("/", 1)[0])
    for name, tree in TREES.items()
    for path in sorted(tree)
    if "/overlays/" in path and path.endswith("/kustomization.yaml")
]
OVERLAYS = [
    pytest.param(name, overlay, id=f"{name}-{overlay.split('/')[1]}-{overlay.split('/')[3]}")
    for name, overlay in OVERLAY_DIRS
]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kustomize-trees")
    for name, tree in TREES.items():
        for path, text in tree.items():
            target = root / name / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    return root


@pytest.mark.tools
@pytest.mark.parametrize(("spec", "overlay"), OVERLAYS)
def test_in_process_build_prints_what_kubectl_kustomize_prints(
    written: Path, spec: str, overlay: str
) -> None:
    real = tools.run_tool(["kubectl", "kustomize", str(written / spec / overlay)])
    assert real.returncode == 0, real.stderr
    mine = render_objects(Kustomizer(TREES[spec].get).build(overlay))
    # Parsed and compared object by object first, for a readable failure; then the bytes.
    assert list(yamlio.load_all(mine)) == list(yamlio.load_all(real.stdout))
    assert mine == real.stdout


def test_every_kind_of_overlay_is_covered() -> None:
    """The comparison above sees Rollouts (each traffic kind), Deployments, digests, a retired
    overlay, tag-only images, hashed ConfigMaps with and without data."""
    built = {
        (spec, overlay): render_objects(Kustomizer(TREES[spec].get).build(overlay))
        for spec, overlay in OVERLAY_DIRS
    }
    text = "".join(built.values())
    assert "kind: Rollout" in text
    assert "kind: Deployment" in text
    assert "kind: VirtualService" in text
    assert "@sha256:" in text
    assert "" in built.values()  # a retired environment renders nothing
    assert "-config-6ct58987ht" in text  # an empty ConfigMap's hash


def test_config_map_hash_ignores_the_name_as_kustomize_does() -> None:
    empty = {"kind": "ConfigMap", "metadata": {"name": "a"}}
    assert config_map_hash(empty) == "6ct58987ht"
    assert config_map_hash({**empty, "metadata": {"name": "b"}}) == "6ct58987ht"
    data = {"DATABASE_HOST": "payments-db.prod.internal", "ENABLE_TRACING": "true"}
    assert config_map_hash({**empty, "data": {**data, "LOG_LEVEL": "warn"}}) == "696gmc8cdm"


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("nginx", ("nginx", "", "")),
        ("nginx:1.2", ("nginx", "1.2", "")),
        ("registry:5000/app", ("registry:5000/app", "", "")),
        ("registry:5000/app:v1", ("registry:5000/app", "v1", "")),
        ("app@sha256:ab", ("app", "", "sha256:ab")),
        ("r.io/app:v1@sha256:ab", ("r.io/app", "v1", "sha256:ab")),
    ],
)
def test_split_image_follows_kustomize(image: str, expected: tuple[str, str, str]) -> None:
    assert split_image(image) == expected


def test_image_update_keeps_tag_and_digest() -> None:
    entry = {"name": "r.io/app", "newTag": "v2", "digest": "sha256:cd"}
    assert updated_image("r.io/app:v1", entry) == "r.io/app:v2@sha256:cd"
    assert updated_image("r.io/app-other:v1", entry) == "r.io/app-other:v1"
    assert updated_image("r.io/app", {"name": "r.io/app", "digest": "sha256:cd"}) == (
        "r.io/app@sha256:cd"
    )


def test_go_yaml_key_order_compares_digit_runs_as_numbers() -> None:
    text = yamlio.dump({"a10": 1, "a9": 2, "B": 3, "a": 4, "_x": 5})
    # sorter.go: a non-letter sorts before a letter, so `_x` comes before `B`.
    assert text == "_x: 5\nB: 3\na: 4\na9: 2\na10: 1\n"


@pytest.mark.parametrize(
    ("number", "text"),
    [(0.995, "0.995"), (1e6, "1e+06"), (123456.0, "123456"), (1e-5, "1e-05"), (2.0, "2")],
)
def test_floats_print_as_go_formats_them(number: float, text: str) -> None:
    assert yamlio.go_float(number) == text


def test_plain_scalars_read_as_go_yaml_v3_reads_them() -> None:
    doc = next(yamlio.load_all("a: on\nb: yes\nc: 1e3\nd: 2024-01-02\ne: 0x1F\nf: '5'\ng: ~\n"))
    assert doc == {
        "a": "on",
        "b": "yes",
        "c": 1000.0,
        "d": "2024-01-02",
        "e": 31,
        "f": "5",
        "g": None,
    }


def kustomizer(files: dict[str, str]) -> Kustomizer:
    return Kustomizer(files.get)


def test_a_feature_it_does_not_implement_is_refused_not_guessed() -> None:
    files = {"o/kustomization.yaml": "resources: []\ncommonAnnotations: {a: b}\n"}
    with pytest.raises(Unsupported, match=r"^o/kustomization.yaml: commonAnnotations$"):
        kustomizer(files).build("o")


def test_reading_outside_the_allowed_prefixes_is_refused() -> None:
    files = {
        "apps/a/overlays/dev/kustomization.yaml": "resources: [../../../b/base]\n",
        "apps/b/base/kustomization.yaml": "resources: []\n",
    }
    with pytest.raises(
        Unsupported, match=r"^reads apps/b/base, outside apps/a/base/ and apps/a/overlays/dev/$"
    ):
        kustomizer(files).build(
            "apps/a/overlays/dev", within=("apps/a/base/", "apps/a/overlays/dev/")
        )


def test_a_patch_that_does_not_apply_fails_like_kustomize() -> None:
    files = {
        "o/kustomization.yaml": (
            "resources: [cm.yaml]\npatches:\n- path: p.yaml\n  target: {kind: ConfigMap}\n"
        ),
        "o/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        "o/p.yaml": "- op: replace\n  path: /data/missing\n  value: 1\n",
    }
    with pytest.raises(BuildError, match=r"^o/p.yaml: doc is missing path: /data/missing$"):
        kustomizer(files).build("o")


def test_json_patch_operations() -> None:
    doc = {"a": [1, 2], "b": {"c": 1}}
    ops = [
        {"op": "add", "path": "/a/-", "value": 3},
        {"op": "add", "path": "/a/0", "value": 0},
        {"op": "replace", "path": "/b/c", "value": 2},
        {"op": "copy", "from": "/b", "path": "/d"},
        {"op": "move", "from": "/d/c", "path": "/e"},
        {"op": "remove", "path": "/a/1"},
        {"op": "test", "path": "/e", "value": 2},
    ]
    assert jsonpatch.apply(doc, ops) == {"a": [0, 2, 3], "b": {"c": 2}, "d": {}, "e": 2}
    with pytest.raises(jsonpatch.PatchError, match="array index 9 out of bounds"):
        jsonpatch.apply({"a": []}, [{"op": "replace", "path": "/a/9", "value": 1}])


@pytest.mark.tools
def test_an_unsupported_overlay_is_built_by_kubectl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rendered diff hands what the port refuses to the real Kustomize."""
    base = "apps/a/base"
    overlay = "apps/a/overlays/dev"
    files = {
        f"{base}/kustomization.yaml": "resources: [cm.yaml]\n",
        f"{base}/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        f"{overlay}/kustomization.yaml": "resources: [../../base]\ncommonAnnotations: {a: b}\n",
    }
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    built = Side(DirectoryTree(tmp_path)).build("a", "dev", overlay)
    assert [item.obj for item in built] == [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"annotations": {"a": "b"}, "name": "x"},
        }
    ]
    assert capsys.readouterr().err == (
        f"note: {tmp_path}: {overlay}: built with kubectl kustomize"
        f" ({overlay}/kustomization.yaml: commonAnnotations)\n"
    )


CM_HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"


@pytest.mark.parametrize(
    ("cm", "error", "message"),
    [
        (
            CM_HEAD + "base: &b {a: 1}\ndata:\n  <<: *b\n",
            Unsupported,
            r"^o/cm.yaml: line 6: a YAML merge key$",
        ),
        (
            CM_HEAD + "binaryData: {a: !!binary aGk=}\n",
            Unsupported,
            r"^o/cm.yaml: line 4: the YAML tag tag:yaml.org,2002:binary$",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: '1', a: '2'}\n",
            BuildError,
            r"^o/cm.yaml: not valid YAML: .*mapping key 'a' already defined",
        ),
        (
            "apiVersion: v1\nkind: List\nitems: []\n",
            Unsupported,
            r"^o/cm.yaml: a List of objects$",
        ),
    ],
)
def test_yaml_whose_meaning_the_port_does_not_reproduce_is_not_guessed(
    cm: str, error: type[Exception], message: str
) -> None:
    files = {"o/kustomization.yaml": "resources: [cm.yaml]\n", "o/cm.yaml": cm}
    with pytest.raises(error, match=message):
        kustomizer(files).build("o")


def test_a_component_or_two_kustomization_files_are_not_built_as_one() -> None:
    component = {"o/kustomization.yaml": "kind: Component\n"}
    with pytest.raises(Unsupported, match=r"^o/kustomization.yaml: kind Component$"):
        kustomizer(component).build("o")
    both = {"o/kustomization.yaml": "resources: []\n", "o/kustomization.yml": "resources: []\n"}
    with pytest.raises(BuildError, match=r"^o: more than one kustomization file$"):
        kustomizer(both).build("o")


def test_patch_targets_match_as_regular_expressions() -> None:
    files = {
        "o/kustomization.yaml": (
            "resources: [cm.yaml]\npatches:\n- path: p.yaml\n  target: {kind: Config.*}\n"
        ),
        "o/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        "o/p.yaml": "- op: add\n  path: /data\n  value: {a: b}\n",
    }
    [built] = kustomizer(files).build("o")
    assert built.obj["data"] == {"a": "b"}
