"""`diff --rendered` and `render`: the effective objects of Applications, without a cluster."""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

from generator.commands import charts
from generator.kustomize.build import Built, render_objects
from generator.render import render_tree
from generator.resolve import Model
from generator.review import changes, report, trees
from generator.spec.errors import InputError, did_you_mean


def compare(
    model: Model, out: Path, *, base: str | None, previous: Path | None, config: Path
) -> tuple[changes.Report, str]:
    """The rendered diff between the base tree and what the services file renders now."""
    new = trees.MemoryTree(render_tree(model))
    old: trees.Tree
    if previous is not None:
        # Where the services file sits relative to the tree now, it sat in the base's checkout.
        beside = previous / os.path.relpath(config.resolve(), out.resolve())
        old = trees.DirectoryTree(previous, beside)
    else:
        old = trees.GitTree(out, base or "HEAD", config)
    sensitive = {service.name: service.sensitive for service in model.services}
    # A key marked sensitive only in the base (its entry removed, or renamed, with the key) is
    # hidden too: the old value must not reach a pull request comment either.
    for name, keys in base_sensitive(old).items():
        sensitive[name] = sensitive.get(name, frozenset()) | keys
    result = changes.compare(
        old, new, env_order=[env.name for env in model.environments], sensitive=sensitive
    )
    return result, old.label


def base_sensitive(old: trees.Tree) -> dict[str, frozenset[str]]:
    """`sensitive` of the base's services file, where the base tree keeps one beside it."""
    text = old.services_file()
    if text is None:
        return {}
    try:
        services = tomllib.loads(text).get("services", {})
    except tomllib.TOMLDecodeError:
        return {}
    found = {}
    for name, table in services.items() if isinstance(services, dict) else ():
        keys = table.get("sensitive") if isinstance(table, dict) else None
        if isinstance(keys, list):
            found[str(name)] = frozenset(str(key) for key in keys)
    return found


def write_outputs(
    result: changes.Report,
    label: str,
    *,
    output_format: str,
    summary: Path | None,
    comment: Path | None,
    full: Path | None,
) -> None:
    if output_format == "json":
        sys.stdout.write(report.as_json(result, label))
    elif output_format == "markdown":
        sys.stdout.write(report.markdown(result, label))
    else:
        sys.stdout.write(report.text(result, label, colour=report.use_colour(sys.stdout)))
    if summary is not None:
        with summary.open("a", encoding="utf-8") as stream:
            stream.write(report.markdown(result, label, limit=report.SUMMARY_LIMIT))
    if comment is not None:
        comment.write_text(report.markdown(result, label), encoding="utf-8")
    if full is not None:
        full.write_text(report.text(result, label), encoding="utf-8")


def render_application(model: Model, service: str, env: str, charts_dir: Path | None = None) -> str:
    """`kubectl kustomize apps/<service>/overlays/<env>`, byte for byte, from the services file;
    a Helm chart's Application as Helm renders it (the chart from `charts_dir` or fetched)."""
    by_name = {s.name: s for s in model.services}
    if service not in by_name:
        hint = did_you_mean(service, list(by_name))
        raise InputError([f"render: no service {service!r}{hint or ''}"])
    known = sorted(by_name[service].application_envs)
    if env not in known:
        raise InputError(
            [
                f"render: {service} has no Application in {env!r}; it has one in"
                f" {', '.join(known) or 'no environment'}"
            ]
        )
    tree = trees.MemoryTree(render_tree(model))
    chosen = by_name[service]
    placement = next((p for p in chosen.placements if p.env == env), None)
    if chosen.chart is not None and placement is not None:
        documents = charts.render_application(chosen, placement, tree.read, charts_dir)
        return render_objects([Built(obj=doc) for doc in documents])
    overlay = f"apps/{service}/overlays/{env}"
    return render_objects(changes.Side(tree).build(service, env, overlay))
