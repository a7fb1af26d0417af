"""`diff --rendered` and `render`: the effective objects of Applications, without a cluster."""

from __future__ import annotations

import sys
from pathlib import Path

from generator.kustomize.build import render_objects
from generator.render import render_tree
from generator.resolve import Model
from generator.review import changes, report, trees
from generator.spec.errors import InputError, did_you_mean


def compare(
    model: Model, out: Path, *, base: str | None, previous: Path | None
) -> tuple[changes.Report, str]:
    """The rendered diff between the base tree and what the services file renders now."""
    new = trees.MemoryTree(render_tree(model))
    old: trees.Tree = (
        trees.DirectoryTree(previous)
        if previous is not None
        else trees.GitTree(out, base or "HEAD")
    )
    result = changes.compare(
        old,
        new,
        env_order=[env.name for env in model.environments],
        sensitive={service.name: service.sensitive for service in model.services},
    )
    return result, old.label


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


def render_application(model: Model, service: str, env: str) -> str:
    """`kubectl kustomize apps/<service>/overlays/<env>`, byte for byte, from the services file."""
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
    overlay = f"apps/{service}/overlays/{env}"
    return render_objects(changes.Side(tree).build(service, env, overlay))
