"""The command line: `main(argv) -> int`, one error handler, exit codes 0/1/2/3."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from generator import write
from generator.errors import InputError
from generator.load import load_file
from generator.render import render_tree
from generator.resolve import Model, resolve

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gitopsgen", description="Compile services.toml into a GitOps repository."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, *, output: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("-c", "--config", type=Path, default=Path("services.toml"), help="the services file")
        if output:
            sub.add_argument("-o", "--output", type=Path, default=Path("out"), help="the output directory")
        return sub

    build = command("build", "render and write; prints what changed")
    build.add_argument("--force", action="store_true", help="overwrite generated files edited by hand")
    command("check", "exit 1 and list stale, missing or extra files")
    command("diff", "unified diff of what build would change")
    command("validate", "run the real validators over the tree")
    apps = command("apps", "the Applications Argo CD will generate", output=False)
    apps.add_argument("--json", action="store_true", help="print JSON")
    windows = command("windows", "when each environment may sync next", output=False)
    windows.add_argument("--at", metavar="TIME", help="ISO 8601 time (default: now)")
    windows.add_argument("--json", action="store_true", help="print JSON")
    set_image = command("set-image", "set a service's image tag in one environment", output=False)
    set_image.add_argument("service")
    set_image.add_argument("env")
    set_image.add_argument("tag")
    promote = command("promote", "copy a tag from the environment promote_from names", output=False)
    promote.add_argument("service")
    promote.add_argument("--to", required=True, dest="env", metavar="ENV")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except InputError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_INPUT
    except Exception:  # noqa: BLE001 - the one place an unexpected error becomes exit 3
        print("gitopsgen: internal error, please report it:", file=sys.stderr)
        traceback.print_exc()
        return EXIT_INTERNAL


def load_model(config: Path) -> Model:
    loaded = load_file(config)
    for warning in loaded.warnings:
        print(f"{warning} (warning)", file=sys.stderr)
    return resolve(loaded.spec)


def rendered(args: argparse.Namespace) -> dict[str, str]:
    tree = render_tree(load_model(args.config))
    write.check_paths(tree, {args.config.resolve()}, args.output)
    return tree


def run(args: argparse.Namespace) -> int:
    handler = {
        "build": cmd_build,
        "check": cmd_check,
        "diff": cmd_diff,
        "validate": cmd_validate,
        "apps": cmd_apps,
        "windows": cmd_windows,
        "set-image": cmd_set_image,
        "promote": cmd_promote,
    }[args.command]
    return handler(args)


def cmd_build(args: argparse.Namespace) -> int:
    tree = rendered(args)
    plan = write.plan(tree, args.output, force=args.force)
    write.apply(tree, args.output, plan)
    for change, path in plan.changes:
        print(f"{change.value} {path}")
    for conflict in plan.conflicts:
        print(conflict, file=sys.stderr)
    if plan.clean:
        print("nothing to do: the tree is up to date")
    return EXIT_FINDINGS if plan.conflicts else EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    tree = rendered(args)
    plan = write.plan(tree, args.output)
    labels = {write.Change.CREATE: "missing", write.Change.UPDATE: "stale", write.Change.DELETE: "extra"}
    for change, path in plan.changes:
        print(f"{labels[change]} {path}")
    for conflict in plan.conflicts:
        print(conflict)
    if plan.clean:
        print(f"{args.output} is up to date")
        return EXIT_OK
    print(f"{args.output} does not match {args.config}: run gitopsgen build", file=sys.stderr)
    return EXIT_FINDINGS


def cmd_diff(args: argparse.Namespace) -> int:
    tree = rendered(args)
    plan = write.plan(tree, args.output)
    sys.stdout.writelines(write.unified_diff(tree, plan))
    for conflict in plan.conflicts:
        print(conflict, file=sys.stderr)
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from generator import validate

    findings = validate.validate_tree(load_model(args.config), args.output)
    for finding in findings:
        print(finding)
    return EXIT_FINDINGS if findings else EXIT_OK


def cmd_apps(args: argparse.Namespace) -> int:
    from generator import apps

    return apps.run(load_model(args.config), as_json=args.json)


def cmd_windows(args: argparse.Namespace) -> int:
    from generator import windows

    return windows.run(load_model(args.config), at=args.at, as_json=args.json)


def cmd_set_image(args: argparse.Namespace) -> int:
    from generator import tags

    return tags.set_image(args.config, args.service, args.env, args.tag)


def cmd_promote(args: argparse.Namespace) -> int:
    from generator import tags

    return tags.promote(args.config, args.service, args.env)
