"""The command line: `main(argv) -> int`, one error handler, exit codes 0/1/2/3."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from generator.spec.errors import InputError
from generator.tree import buildcache, foreign, write

if TYPE_CHECKING:
    from generator.resolve import Model

# The heavy modules (cattrs, Jinja, the renderers) are imported only when a command needs them,
# so that a no-op `build` answered by the build cache starts fast.

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


class _DefaultsShown(argparse.ArgumentDefaultsHelpFormatter):
    """`(default: X)` where an option has a default worth saying (not None, not a flag)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False) or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


class _Version(argparse.Action):
    """`--version`: `gitopsgen X.Y.Z`, looked up only when asked (importlib.metadata is slow)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"gitopsgen {version('gitopsgen')}")
        except PackageNotFoundError:  # a source tree that was never installed
            print("gitopsgen (not installed: version unknown)")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gitopsgen", description="Compile services.toml into a GitOps repository."
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, *, output: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            formatter_class=_DefaultsShown,
        )
        sub.add_argument(
            "-c",
            "--config",
            type=Path,
            default=Path("services.toml"),
            help="the services file, relative to the working directory",
        )
        if output:
            sub.add_argument(
                "-o",
                "--output",
                type=Path,
                help="the tree's directory, relative to the working directory (default: [gitops]"
                " output of the services file, relative to its folder; '.' when not set: a"
                " gitops repository's tree is its root, and the generated workflows use that"
                " value too)",
            )
        return sub

    def github_output_option(sub: argparse.ArgumentParser, help_text: str) -> None:
        sub.add_argument("--github-output", type=Path, metavar="FILE", help=help_text)

    def previous_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--previous",
            type=Path,
            metavar="DIR",
            help="judge services and environments leaving against the tree in DIR (e.g. a"
            " checkout of the base branch) instead of the output directory",
        )

    build = command("build", "render and write; prints what changed")
    build.add_argument(
        "--force", action="store_true", help="overwrite generated files edited by hand"
    )
    check = command("check", "exit 1 and list stale, missing or extra files")
    previous_option(check)
    format_option(check)
    diff = command("diff", "unified diff of what build would change")
    previous_option(diff)
    diff.add_argument(
        "--summary",
        type=Path,
        metavar="FILE",
        help="also append the diff as Markdown to FILE (a GitHub job summary)",
    )
    rendered_options(diff)
    render = command(
        "render",
        "the effective manifests of one Application, as kubectl kustomize prints them",
        output=False,
    )
    render.add_argument("service")
    render.add_argument("env")
    validate = command("validate", "run the real validators over the tree")
    format_option(validate)
    for takes_charts in (render, validate):
        takes_charts.add_argument(
            "--charts",
            type=Path,
            metavar="DIR",
            help="Helm chart archives (<name>-<version>.tgz) read before any chart"
            " repository, and where fetched ones are kept (default: a temporary folder)",
        )
    apps = command("apps", "the Applications Argo CD will generate", output=False)
    apps.add_argument("--json", action="store_true", help="print JSON")
    windows = command("windows", "when each environment may sync next", output=False)
    windows.add_argument("--at", metavar="TIME", help="ISO 8601 time (default: now)")
    windows.add_argument("--json", action="store_true", help="print JSON")
    image_commands(command, github_output_option)
    commands.add_parser(
        "schema",
        help="print the services file's JSON Schema, for editors",
        description="print the services file's JSON Schema (services.schema.json), for editors",
    )
    return parser


def image_commands(
    command: Callable[..., argparse.ArgumentParser],
    github_output_option: Callable[[argparse.ArgumentParser, str], None],
) -> None:
    """set-image, promote, intake and verify-image: the commands of an image's life."""
    set_image = command("set-image", "set a service's image tag in one environment", output=False)
    set_image.add_argument("service")
    set_image.add_argument("env")
    set_image.add_argument("tag")
    set_image.add_argument(
        "--digest",
        metavar="sha256:...",
        help="the image digest the tag names (without it, the entry keeps no digest)",
    )
    set_image.add_argument(
        "--expect-digest",
        metavar="DIGEST",
        help="change nothing unless the entry records exactly this digest now ('' for none)",
    )
    promote = command("promote", "copy a tag from the environment promote_from names", output=False)
    promote.add_argument("service")
    promote.add_argument("--to", required=True, dest="env", metavar="ENV")
    github_output_option(
        promote, "append the pull request's title, branch, labels and reviewers as step outputs"
    )
    promote.add_argument(
        "--body-file", type=Path, metavar="FILE", help="write the pull request's body here"
    )
    promote.add_argument(
        "--started-by", metavar="LOGIN", help="who started the promotion (named in the body)"
    )
    promote.add_argument(
        "--expect-digest",
        metavar="DIGEST",
        help="copy nothing unless the source records exactly this digest ('' for none)",
    )
    promote.add_argument(
        "--tested-revision",
        metavar="COMMIT",
        help="the revision verify-promotion checked, for an automatic proposal ('' for none)",
    )
    intake = command("intake", "verify an image's provenance before it is recorded", output=False)
    intake.add_argument("service")
    intake.add_argument("--tag", required=True, help="the image's tag")
    intake.add_argument("--digest", required=True, help="the image's digest, sha256:<64 hex>")
    github_output_option(intake, "append `recorded=<the digest recorded now>` as a step output")
    verify_image = command(
        "verify-image",
        "verify the provenance of the image a promotion would copy",
        output=False,
    )
    verify_image.add_argument("service")
    verify_image.add_argument("--promote-to", required=True, metavar="ENV", dest="env")
    github_output_option(verify_image, "append `recorded=<the verified digest>` as a step output")
    verify_promotion = command(
        "verify-promotion",
        "refuse an automatic promotion unless its revision deployed the tag recorded now",
        output=False,
    )
    verify_promotion.add_argument("service")
    verify_promotion.add_argument("--to", required=True, dest="env", metavar="ENV")
    verify_promotion.add_argument(
        "--revision",
        required=True,
        metavar="COMMIT",
        help="the gitops revision Argo CD synced in the source environment (40 hex digits)",
    )


def rendered_options(diff: argparse.ArgumentParser) -> None:
    """`diff --rendered` and the options that only it takes."""
    diff.add_argument(
        "--rendered",
        action="store_true",
        help="per Application, the objects Kustomize renders that change (no cluster needed),"
        " compared with the tree committed at --base or the tree in --previous",
    )
    diff.add_argument(
        "--base",
        metavar="REV",
        help="with --rendered: the git revision whose committed tree to compare with"
        " (default: HEAD)",
    )
    diff.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default="text",
        help="how to print it: json for programs; markdown with --rendered (text is coloured"
        " on a terminal unless NO_COLOR)",
    )
    diff.add_argument(
        "--comment",
        type=Path,
        metavar="FILE",
        help="with --rendered: write the pull request comment (Markdown, within GitHub's"
        " 65,536 characters) to FILE",
    )
    diff.add_argument(
        "--full",
        type=Path,
        metavar="FILE",
        help="with --rendered: write the whole diff as plain text to FILE",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage error (or the help)
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    # Python's argparse turns `--to=--` into an empty list instead of the string "--" (no
    # option here takes a list): a usage error, said as argparse says its own.
    for name, value in vars(args).items():
        if isinstance(value, list):
            given = sys.argv[1:] if argv is None else list(argv)
            written = [arg.split("=", 1)[0] for arg in given if arg.endswith("=--")]
            option = written[0] if written else "--" + name.replace("_", "-")
            print(
                f"gitopsgen: error: argument {option}: expected a value, not '--'", file=sys.stderr
            )
            return EXIT_INPUT
    try:
        return run(args)
    except InputError as exc:
        report_input_errors(exc, as_json=getattr(args, "format", "text") == "json")
        return EXIT_INPUT
    except BrokenPipeError:  # `gitopsgen diff | head`: the reader has gone, say no more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FINDINGS
    except KeyboardInterrupt:
        print("gitopsgen: interrupted", file=sys.stderr)
        return 130
    except write.OutputError as exc:  # the output directory cannot be used as asked
        for line in str(exc).splitlines():
            print(f"gitopsgen: {line}", file=sys.stderr)
        return EXIT_INPUT
    except Exception as exc:  # the one place where any other error becomes exit 3
        traceback.print_exc()
        print(
            f"gitopsgen: internal error ({type(exc).__name__}): this is a bug in gitopsgen, "
            "not in your input; please report it with the traceback above",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def report_input_errors(exc: InputError, *, as_json: bool) -> None:
    """Located problems: on stderr, or as a JSON document on stdout; annotated in Actions."""
    from generator.commands import machine

    if as_json:
        sys.stdout.write(machine.errors_document(exc.problems))
    else:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
    if machine.in_github_actions():
        machine.print_annotations(map(machine.problem_annotation, exc.problems), sys.stdout)


def format_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="json: one document on stdout (input errors too, with file, line, column, key path"
        " and suggestion)",
    )


def read_config(config: Path) -> bytes:
    """The services file's bytes, read once: what is loaded is what the cache key covers."""
    try:
        return config.read_bytes()
    except OSError:
        from generator.spec.load import load_file

        load_file(config)  # raises the same located error every command gives
        raise


def load_model(config: Path, raw: bytes | None = None) -> Model:
    return load_with_warnings(config, raw)[0]


def load_with_warnings(config: Path, raw: bytes | None = None) -> tuple[Model, list[str]]:
    """Load, check and resolve; warnings go to stderr and are returned for the build cache."""
    from generator.resolve import resolve
    from generator.spec.load import decode, load_text

    data = read_config(config) if raw is None else raw
    loaded = load_text(decode(data, str(config)), str(config))
    warnings = [f"{warning} (warning)" for warning in loaded.warnings]
    for warning in warnings:
        print(warning, file=sys.stderr)
    return resolve(loaded.spec), warnings


def output_of(config: Path) -> Path:
    """`-o` when not given: `[gitops] output` of the services file, relative to its folder."""
    try:
        raw = config.read_bytes()
    except OSError:
        return config.parent  # the command reports the missing file itself
    value = gitops_value(raw, "output")
    output = value if isinstance(value, str) else "."
    return Path(os.path.normpath(config.parent / output))


_GITOPS_TABLE = re.compile(rb"(?ms)^\[gitops\][ \t]*(?:#[^\n]*)?\n(.*?)(?=^[ \t]*\[|\Z)")


def gitops_value(raw: bytes, key: str) -> object:
    """One `[gitops]` key of a services file, read on paths where the build cache answers in
    0.1 s: a file that never spells the key (nor an escape it could hide behind) has none, and
    a `[gitops]` table of its own is parsed alone (1,000 services take tomllib 0.2 s). Any other
    layout is parsed whole; a file that does not parse has none (its load reports it)."""
    import tomllib

    if key.encode() not in raw and b"\\u" not in raw and b"\\U" not in raw:
        return None
    table = _GITOPS_TABLE.search(raw)
    outside = raw if table is None else raw[: table.start()] + raw[table.end() :]
    if table is not None and key.encode() not in outside and b"gitops" not in outside:
        try:
            return tomllib.loads(table.group(1).decode()).get(key)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            pass  # cut where a multi-line string holds a `[` line: parse the whole file
    try:
        gitops = tomllib.loads(raw.decode()).get("gitops", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    return gitops.get(key) if isinstance(gitops, dict) else None


def run(args: argparse.Namespace) -> int:
    if "output" in args and args.output is None:
        args.output = output_of(args.config)
    handler = {
        "build": cmd_build,
        "check": cmd_check,
        "diff": cmd_diff,
        "render": cmd_render,
        "validate": cmd_validate,
        "apps": cmd_apps,
        "windows": cmd_windows,
        "set-image": cmd_set_image,
        "promote": cmd_promote,
        "intake": cmd_intake,
        "verify-image": cmd_verify_image,
        "verify-promotion": cmd_verify_promotion,
        "schema": cmd_schema,
    }[args.command]
    return handler(args)


class _Sync:
    """One build/check/diff run: the cache key, and the plan when the cache did not answer."""

    def __init__(self, args: argparse.Namespace, *, force: bool = False) -> None:
        self.started = time.time_ns()  # before anything is read: see buildcache.save
        self.config: Path = args.config
        self.out: Path = args.output
        self.force = force
        # Where the tree that services may not leave around their rules lives (lifecycle).
        self.previous: Path = getattr(args, "previous", None) or self.out
        self.raw = read_config(self.config)
        caching = buildcache.cache_dir() is not None
        self.key = buildcache.input_key(self.config, self.raw, self.out) if caching else ""
        self.warnings: list[str] = []
        self.allow_foreign: tuple[str, ...] = ()

    def cached(self) -> bool:
        """True when the build cache knows the output is up to date (its warnings repeated)."""
        if self.previous != self.out:  # the cache knows nothing of another tree
            return False
        if write.interrupted(self.out):  # a build died part-way: this one completes it
            return False
        warnings = buildcache.up_to_date(self.key, self.out)
        for warning in warnings or ():
            print(warning, file=sys.stderr)
        return warnings is not None

    def plan(self) -> write.Plan:
        from generator import lifecycle
        from generator.render import producible, render_tree

        model, self.warnings = load_with_warnings(self.config, self.raw)
        self.allow_foreign = model.spec.gitops.allow_foreign
        # What the previous build wrote decides whether a service may leave in one step.
        lifecycle.check(model, self.previous, self.raw.decode(), str(self.config))
        tree = render_tree(model)  # all of it, in memory, before anything is written
        plan = write.plan(
            tree, self.out, force=self.force, protected=[self.config], claimable=producible
        )
        for note in plan.notes:
            print(f"warning: {note}", file=sys.stderr)
        return plan

    def remember(
        self, plan: write.Plan, written: Mapping[str, os.stat_result] | None = None
    ) -> None:
        """After a run that leaves the output equal to the render: let the next one skip it.

        `written`: what this run wrote, with its stat (write.apply), not to be read back.
        """
        if plan.conflicts:
            buildcache.forget(self.out)
        else:
            hashes = {**plan.hashes, write.MANIFEST: write.digest(plan.manifest)}
            buildcache.save(
                self.key, self.out, hashes, self.warnings, since=self.started, written=written
            )


def cmd_build(args: argparse.Namespace) -> int:
    from generator.tree import lock

    with lock.held("tree", args.output, f"the tree {args.output}"):
        return build_locked(args)


def build_locked(args: argparse.Namespace) -> int:
    sync = _Sync(args, force=args.force)
    if sync.cached():
        print("nothing to do: the tree is up to date")
        return EXIT_OK
    plan = sync.plan()
    written = write.apply(plan, args.output)
    sync.remember(plan, written)
    for change, path in plan.changes:
        print(f"{change.value} {path}")
    for conflict in plan.conflicts:
        print(conflict, file=sys.stderr)
    if plan.conflicts:
        print(f"gitopsgen: {len(plan.conflicts)} file(s) left alone, see above", file=sys.stderr)
        return EXIT_FINDINGS
    if not plan.changes:
        print("nothing to do: the tree is up to date")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    require_output_dir(args.output, args.config)
    sync = _Sync(args)
    if sync.cached():
        # Up to date: the manifest lists exactly the rendered files, and the file was checked.
        found = foreign_files(args.output, write.owned(args.output), allowed_foreign(sync.raw))
        return report_check(args, foreign_entries(found))
    plan = sync.plan()
    known = {*plan.files, *plan.hashes, *(path for _, path in plan.changes), *plan.leftovers}
    found = foreign_files(args.output, known, sync.allow_foreign)
    if plan.clean:
        sync.remember(plan)
        return report_check(args, foreign_entries(found))
    entries = [(write.CHECK_LABELS[change], path, "") for change, path in plan.changes]
    entries += [("conflict", conflict.path, conflict.reason) for conflict in plan.conflicts]
    entries += [("leftover", path, write.LEFTOVER) for path in plan.leftovers]
    if plan.interrupted:
        entries.append(("interrupted", write.JOURNAL, write.INTERRUPTED))
    return report_check(args, entries + foreign_entries(found), drift=True)


def foreign_entries(found: list[str]) -> list[tuple[str, str, str]]:
    return [("foreign", path, foreign.FOREIGN) for path in found]


def report_check(
    args: argparse.Namespace, entries: list[tuple[str, str, str]], *, drift: bool = False
) -> int:
    """What check found, `STATE PATH[: why]` per file (or JSON), and the verdict on stderr."""
    from generator.commands import machine

    if drift:
        verdict = f"{args.output} does not match {args.config}: run gitopsgen build"
    elif entries:
        verdict = (
            f"{args.output} holds files {args.config} does not generate: remove them or allow them"
        )
    else:
        verdict = ""
    lines = [f"{state} {path}: {why}" if why else f"{state} {path}" for state, path, why in entries]
    if args.format == "json":
        files = [
            {"path": path, "state": state, "message": why or None} for state, path, why in entries
        ]
        sys.stdout.write(
            machine.dump({"ok": not entries, "directory": str(args.output), "files": files})
        )
    elif entries:
        print("\n".join(lines))
    else:
        print(f"{args.output} is up to date")
    if verdict:
        print(verdict, file=sys.stderr)
    if machine.in_github_actions():
        root = str(args.output)
        machine.print_annotations(
            (
                machine.annotation(line, file=machine.tree_path(root, path))
                for line, (_, path, _) in zip(lines, entries, strict=True)
            ),
            sys.stdout,
        )
    return EXIT_FINDINGS if entries else EXIT_OK


def allowed_foreign(raw: bytes) -> tuple[str, ...]:
    """`[gitops] allow_foreign` of a services file the build cache knows was checked."""
    patterns = gitops_value(raw, "allow_foreign")
    return tuple(patterns) if isinstance(patterns, list) else ()


def foreign_files(out: Path, known: Collection[str], allow: Sequence[str]) -> list[str]:
    return foreign.find(out, known, allow)


def cmd_diff(args: argparse.Namespace) -> int:
    if args.rendered:
        return cmd_rendered_diff(args)
    only_rendered = [
        flag
        for flag, value in (
            ("--base", args.base),
            ("--comment", args.comment),
            ("--full", args.full),
        )
        if value is not None
    ] + (["--format markdown"] if args.format == "markdown" else [])
    if only_rendered:
        raise InputError([f"diff: {', '.join(only_rendered)} only with --rendered"])
    require_output_dir(args.output, args.config)
    sync = _Sync(args)
    if sync.cached():
        if args.summary is not None:
            _summarise(args.summary, "")
        if args.format == "json":
            sys.stdout.write(diff_document(args, [], ""))
        return EXIT_OK
    plan = sync.plan()
    diff = "".join(write.unified_diff(plan))
    changes = [(change.value, path) for change, path in plan.changes]
    sys.stdout.write(diff_document(args, changes, diff) if args.format == "json" else diff)
    if args.summary is not None:
        _summarise(args.summary, diff)
    for conflict in plan.conflicts:
        print(conflict, file=sys.stderr)
    return EXIT_OK if plan.clean else EXIT_FINDINGS


def diff_document(args: argparse.Namespace, changes: list[tuple[str, str]], diff: str) -> str:
    from generator.commands import machine

    return machine.dump(
        {
            "ok": not changes,
            "directory": str(args.output),
            "files": [{"path": path, "change": change} for change, path in changes],
            "diff": diff,
        }
    )


def cmd_rendered_diff(args: argparse.Namespace) -> int:
    from generator.commands import rendered

    if args.base is not None and args.previous is not None:
        raise InputError(["diff --rendered: give --base REV or --previous DIR, not both"])
    result, label = rendered.compare(
        load_model(args.config),
        args.output,
        base=args.base,
        previous=args.previous,
        config=args.config,
    )
    rendered.write_outputs(
        result,
        label,
        output_format=args.format,
        summary=args.summary,
        comment=args.comment,
        full=args.full,
    )
    return EXIT_FINDINGS if result.changes else EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    from generator.commands import rendered

    sys.stdout.write(
        rendered.render_application(load_model(args.config), args.service, args.env, args.charts)
    )
    return EXIT_OK


def _summarise(path: Path, diff: str) -> None:
    from generator.commands import jobsummary

    jobsummary.append(path, diff)


def require_output_dir(out: Path, config: Path) -> None:
    """check, diff and validate compare with a tree: without one there is nothing to compare."""
    if not out.exists():
        load_model(config)  # a broken services file is the first thing to say
        build = f"gitopsgen build -c {config} -o {out}"
        raise InputError([f"{out}: no such directory: build the tree first ({build})"])
    if not out.is_dir():
        raise InputError([f"{out}: not a directory (-o names the tree's directory)"])


def cmd_validate(args: argparse.Namespace) -> int:
    require_output_dir(args.output, args.config)
    try:
        from generator.commands import validate
    except ModuleNotFoundError as exc:  # the validate extra is not installed
        raise InputError(
            [
                f"validate needs the validators ({exc.name} is not installed): install them"
                " with `pip install 'gitopsgen[validate]'`"
            ]
        ) from None

    findings = validate.validate_tree(load_model(args.config), args.output, args.charts)
    from generator.commands import machine

    records = [machine.finding_record(finding, str(args.output)) for finding in findings]
    if args.format == "json":
        sys.stdout.write(
            machine.dump({"ok": not findings, "directory": str(args.output), "findings": records})
        )
    else:
        for finding in findings:
            print(finding)
    if machine.in_github_actions():
        machine.print_annotations(map(machine.finding_annotation, records), sys.stdout)
    if findings:
        print(f"gitopsgen: {len(findings)} finding(s) in {args.output}", file=sys.stderr)
        return EXIT_FINDINGS
    if args.format != "json":
        print(f"{args.output}: no findings (Kustomize, schemas, workflow linters)")
    return EXIT_OK


def cmd_apps(args: argparse.Namespace) -> int:
    from generator.argo import appset

    return appset.run(load_model(args.config), as_json=args.json)


def cmd_windows(args: argparse.Namespace) -> int:
    from generator.argo import windows

    return windows.run(load_model(args.config), at=args.at, as_json=args.json)


def cmd_set_image(args: argparse.Namespace) -> int:
    from generator.commands import tags
    from generator.tree import lock

    with lock.held("services", args.config, str(args.config)):
        tags.set_image(
            args.config,
            args.service,
            args.env,
            args.tag,
            digest=args.digest,
            expect_digest=args.expect_digest,
        )
    return EXIT_OK


def cmd_promote(args: argparse.Namespace) -> int:
    from generator.commands import promotion, tags

    if (args.github_output is None) != (args.body_file is None):
        raise InputError(["promote: --github-output and --body-file go together"])
    from generator.tree import lock

    with lock.held("services", args.config, str(args.config)):
        change = tags.promote(args.config, args.service, args.env, expect_digest=args.expect_digest)
    if args.github_output is not None:
        promotion.write_for_workflow(
            promotion.pull_request(
                change, started_by=args.started_by, tested_revision=args.tested_revision
            ),
            github_output=args.github_output,
            body_file=args.body_file,
        )
    return EXIT_OK


def cmd_intake(args: argparse.Namespace) -> int:
    from generator.commands import intake

    verdict = intake.run(args.config, args.service, tag=args.tag, digest=args.digest)
    print(verdict.message)
    if args.github_output is not None:
        intake.write_output(args.github_output, verdict)
    return EXIT_OK


def cmd_verify_image(args: argparse.Namespace) -> int:
    from generator.commands import intake

    verdict = intake.verify_promotion(args.config, args.service, args.env)
    print(verdict.message)
    if args.github_output is not None:
        intake.write_output(args.github_output, verdict)
    return EXIT_OK


def cmd_verify_promotion(args: argparse.Namespace) -> int:
    from generator.commands import synced

    model = load_model(args.config)
    print(synced.verify(args.config, model, args.service, args.env, args.revision))
    return EXIT_OK


def cmd_schema(_args: argparse.Namespace) -> int:
    from generator.spec import schema

    sys.stdout.write(schema.dumps())
    return EXIT_OK
