"""Benchmark (DESIGN section 7): build, no-op rebuild and check against a raw write of the files.

For each size (default 100 and 1,000 services x 3 environments, from bench/synth.py) it times,
end to end as a user runs them (a fresh `python -m generator` process each time):

- raw write: merely writing the rendered files into an empty directory (in-process, the floor);
- full build into an empty directory, with the user's cache as a previous build leaves it (its
  compiled templates, not its record of the output), and with no cache at all;
- no-op rebuild right after the build (its files are too fresh to trust by stat: hashed), and
  in the steady state (stat only); both must write nothing (inodes and mtimes are compared);
- no-op rebuild and `check` without the build cache (what CI sees in a fresh clone), and
  `check` with it.

Each figure is the best of --repeat runs (the machine is shared; the best is the least noisy).
Everything written before a timed step is flushed to disk first, untimed: the build flushes the
whole filesystem once (syncfs) and must not pay for the raw write's or a deletion's data.
- `diff --rendered` after one tag changed (against the tree committed at git HEAD), and with
  every base changed (against a directory whose bases an older template wrote).
- `set-image` (a new tag and digest, as the intake writes them) and `promote` (prod from
  staging), each on a fresh copy of the services file, and `apps`.

Targets: full build <= 3x raw write; no-op < 0.5 s; check < 2 s; cost linear in services;
rendered diff of one tag < 2 s, of every base (3,000 Applications at 1,000) < 30 s;
set-image and promote < 0.5 s; apps < 2 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from synth import services_file  # bench/ is not a package

from generator.render import FAMILIES, render_tree
from generator.resolve import resolve
from generator.spec.load import load_text
from generator.tree import write

RACY_WAIT_S = 2.1  # buildcache.COARSE_RACY_NS: after this, every file is trusted by its stat


def gitopsgen(*args: str | Path, cache: Path | None, ok: tuple[int, ...] = (0,)) -> float:
    """Run the command line in a fresh process; its wall time in seconds."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if cache is None:
        env["GITOPSGEN_NO_CACHE"] = "1"
    else:
        env["GITOPSGEN_CACHE_DIR"] = str(cache)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "generator", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode not in ok:
        raise SystemExit(f"gitopsgen {' '.join(map(str, args))} failed:\n{result.stderr}")
    return elapsed


def forget_records(cache: Path) -> None:
    """Delete the build cache's records of output directories (its *.json), keeping the rest
    (compiled templates), as a previous build on the same machine leaves it."""
    for record in cache.glob("*.json"):
        record.unlink()


def raw_write(tree: dict[str, str], out: Path) -> float:
    """The floor: create the directories and write the bytes, nothing else."""
    start = time.perf_counter()
    made: set[str] = set()
    for path, text in tree.items():
        full = os.path.join(out, path)
        parent = os.path.dirname(full)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        with open(full, "wb") as handle:
            handle.write(text.encode())
    return time.perf_counter() - start


def fingerprint(out: Path) -> dict[str, tuple[int, int, int]]:
    """Inode, size and mtime of every file: equal before and after means nothing was written."""
    found = {}
    for path in out.rglob("*"):
        st = path.lstat()
        found[str(path)] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return found


def best(runs: int, measure: Callable[[int], float]) -> tuple[float, float]:
    times = [measure(i) for i in range(runs)]
    return min(times), statistics.median(times)


def bench_size(count: int, repeat: int, work: Path) -> dict[str, tuple[float, float]]:
    spec_text = services_file(count)
    config = work / f"services-{count}.toml"
    config.write_text(spec_text, encoding="utf-8")
    tree = render_tree(resolve(load_text(spec_text, str(config)).spec))
    size_mb = sum(len(text.encode()) for text in tree.values()) / 1e6
    print(f"\n{count} services x 3 environments: {len(tree)} files, {size_mb:.1f} MB", flush=True)
    results: dict[str, tuple[float, float]] = {}

    def fresh(name: str, i: int) -> Path:
        target = work / f"{name}-{count}-{i}"
        shutil.rmtree(target, ignore_errors=True)
        return target

    cache = work / f"cache-{count}"
    raws: list[float] = []
    builds: list[Path] = []

    def full_build(i: int) -> float:
        # interleaved with the raw write it is compared with: both see the same disk weather
        target = fresh("raw", i)
        os.sync()
        raws.append(raw_write(tree, target))
        out = fresh("out", i)
        builds.append(out)
        forget_records(cache)
        os.sync()
        return gitopsgen("build", "-c", config, "-o", out, cache=cache)

    def cold_build(i: int) -> float:
        out = fresh("cold", i)
        os.sync()
        return gitopsgen("build", "-c", config, "-o", out, cache=None)

    results["full build"] = best(repeat, full_build)
    results["raw write"] = min(raws), statistics.median(raws)
    results["full build, no cache"] = best(repeat, cold_build)
    out = builds[-1]  # the last build: its cache record is the current one
    before = fingerprint(out)

    def timed(command: str, cached: bool) -> Callable[[int], float]:
        where = cache if cached else None
        return lambda _: gitopsgen(command, "-c", config, "-o", out, cache=where)

    results["no-op, just built"] = best(1, timed("build", cached=True))
    time.sleep(RACY_WAIT_S)
    timed("build", cached=True)(0)  # refreshes the record once the files are old enough
    results["no-op rebuild"] = best(repeat, timed("build", cached=True))
    results["check"] = best(repeat, timed("check", cached=True))
    results["no-op, no cache"] = best(repeat, timed("build", cached=False))
    results["check, no cache"] = best(repeat, timed("check", cached=False))
    if fingerprint(out) != before:
        raise SystemExit("a no-op rebuild or check wrote to the output directory")
    results |= rendered_diffs(spec_text, config, out, repeat)
    results |= image_edits(config, repeat)
    results["apps"] = best(repeat, lambda _: gitopsgen("apps", "-c", config, cache=None))
    for name in ("raw write", *(n for n in results if n != "raw write")):
        low, middle = results[name]
        print(f"  {name:<26} {low:7.3f} s   (median {middle:.3f} s)", flush=True)
    return results


def older_bases(out: Path, target: Path) -> None:
    """A copy of the tree whose every base differs (as if an older template had written them)."""
    shutil.copytree(out, target)
    for kustomization in target.glob("apps/*/base/kustomization.yaml"):
        text = kustomization.read_text(encoding="utf-8")
        marked = text.replace(
            "    includeTemplates: true",
            "      example.com/template: v0\n    includeTemplates: true",
            1,
        )
        kustomization.write_text(marked, encoding="utf-8")


def rendered_diffs(
    spec_text: str, config: Path, out: Path, repeat: int
) -> dict[str, tuple[float, float]]:
    """`diff --rendered` after one tag changed (against git HEAD), and with every base changed
    (against a directory), each in a fresh process; exit 1 (there are changes) is expected."""
    subprocess.run(["git", "init", "-q", str(out)], check=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@e"}
    env |= {"GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@e"}
    subprocess.run(["git", "-C", str(out), "add", "-A"], check=True)
    # no automatic gc: packing the loose objects in the background races the copy below
    commit = ["git", "-C", str(out), "-c", "gc.auto=0", "-c", "maintenance.auto=false"]
    commit += ["commit", "-qm", "base"]
    subprocess.run(commit, check=True, env=env)
    one_tag = config.with_name(f"one-tag-{config.name}")
    one_tag.write_text(spec_text.replace('tag = "', 'tag = "x', 1), encoding="utf-8")
    older = out.with_name(f"older-{out.name}")
    older_bases(out, older)

    def tag_change(_: int) -> float:
        return gitopsgen("diff", "--rendered", "-c", one_tag, "-o", out, cache=None, ok=(1,))

    def base_change(_: int) -> float:
        args = ("diff", "--rendered", "-c", config, "-o", out, "--previous", older)
        return gitopsgen(*args, cache=None, ok=(1,))

    return {
        "rendered diff, one tag": best(repeat, tag_change),
        "rendered diff, all bases": best(repeat, base_change),
    }


def image_edits(config: Path, repeat: int) -> dict[str, tuple[float, float]]:
    """`set-image` and `promote` of one service in the middle of the file, each run on a fresh
    copy (so each one edits), in a fresh process as CI's retry loop runs them."""
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    names = sorted(data["services"])
    service = names[len(names) // 2]
    copy = config.with_name(f"edited-{config.name}")

    def fresh() -> Path:
        shutil.copyfile(config, copy)
        return copy

    def set_image(i: int) -> float:
        recorded = data["services"][service]["envs"]["dev"]["digest"]
        digest = "sha256:" + f"{i:02x}" * 32
        args = ("set-image", service, "dev", f"sha-{i:07x}", "--digest", digest)
        elapsed = gitopsgen(*args, "--expect-digest", recorded, "-c", fresh(), cache=None)
        written = tomllib.loads(copy.read_text(encoding="utf-8"))["services"][service]["envs"]
        if written["dev"]["digest"] != digest:
            raise SystemExit(f"set-image did not record {digest}")
        return elapsed

    def promote(_: int) -> float:
        elapsed = gitopsgen("promote", service, "--to", "prod", "-c", fresh(), cache=None)
        written = tomllib.loads(copy.read_text(encoding="utf-8"))["services"][service]["envs"]
        pinned = [(written[env]["tag"], written[env].get("digest")) for env in ("staging", "prod")]
        if pinned[0] != pinned[1]:
            raise SystemExit("promote did not copy staging's tag and digest to prod")
        return elapsed

    return {"set-image": best(repeat, set_image), "promote": best(repeat, promote)}


def phases(count: int, repeat: int) -> None:
    """Where a full build's time goes, in-process (best of `repeat`), for each part's owner."""
    text = services_file(count)
    timings: dict[str, list[float]] = {}

    @contextmanager
    def timed(name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        timings.setdefault(name, []).append(time.perf_counter() - start)

    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(repeat):
            with timed("load (parse, structure, checks)"):
                loaded = load_text(text, "bench")
            with timed("resolve"):
                model = resolve(loaded.spec)
            for family in FAMILIES:
                with timed(f"render: {family.__module__}"):
                    family(model)
            with timed("render_tree (all, with headers)"):
                tree = render_tree(model)
            with timed("plan (read + compare)"):
                write.plan(tree, Path(scratch) / "none")
    print(f"\nphases at {count} services (best of {repeat}, in-process):")
    for name, values in timings.items():
        print(f"  {name:<42} {min(values):7.3f} s")


def verdicts(all_results: dict[int, dict[str, tuple[float, float]]]) -> list[tuple[str, bool]]:
    largest = max(all_results)
    results = all_results[largest]  # the targets are for the largest size
    ratio = results["full build"][0] / results["raw write"][0]
    cold = results["full build, no cache"][0] / results["raw write"][0]
    checks = [
        (f"full build {ratio:.1f}x raw write at {largest} (target <= 3x)", ratio <= 3),
        (
            f"full build without any cache {cold:.1f}x raw write at {largest} (target <= 3x)",
            cold <= 3,
        ),
        (
            f"no-op rebuild {results['no-op rebuild'][0]:.3f} s at {largest} (target < 0.5 s)",
            results["no-op rebuild"][0] < 0.5,
        ),
        (
            f"check {results['check'][0]:.3f} s cached, {results['check, no cache'][0]:.3f} s "
            f"uncached at {largest} (target < 2 s)",
            results["check, no cache"][0] < 2,
        ),
    ]
    checks += [
        (
            f"rendered diff of one tag {results['rendered diff, one tag'][0]:.3f} s at {largest}"
            " (target < 2 s)",
            results["rendered diff, one tag"][0] < 2,
        ),
        (
            f"rendered diff of every base {results['rendered diff, all bases'][0]:.3f} s at"
            f" {largest} (target < 30 s)",
            results["rendered diff, all bases"][0] < 30,
        ),
        (
            f"set-image {results['set-image'][0]:.3f} s, promote {results['promote'][0]:.3f} s"
            f" at {largest} (target < 0.5 s)",
            max(results["set-image"][0], results["promote"][0]) < 0.5,
        ),
        (
            f"apps {results['apps'][0]:.3f} s at {largest} (target < 2 s)",
            results["apps"][0] < 2,
        ),
    ]
    smallest = min(all_results)
    if smallest != largest and 1 in all_results:
        # per-service cost of a full build, without the fixed cost (a one-service build)
        def per_service(size: int) -> float:
            return (all_results[size]["full build"][0] - all_results[1]["full build"][0]) / size

        small = min(size for size in all_results if size > 1)
        growth = per_service(largest) / per_service(small)
        checks.append(
            (
                f"full build per service: {per_service(small) * 1e3:.2f} ms at {small}, "
                f"{per_service(largest) * 1e3:.2f} ms at {largest} ({growth:.2f}x; linear: ~1x)",
                growth < 1.25,
            )
        )
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1, 100, 1000], help="1 gives the fixed cost"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--dir", type=Path, help="where to write (default: the temp directory)")
    parser.add_argument("--phases", action="store_true", help="also time each phase in-process")
    args = parser.parse_args(argv)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load average {load}")
    if args.phases:
        phases(max(args.sizes), args.repeat)
    with tempfile.TemporaryDirectory(prefix="gitopsgen-bench-", dir=args.dir) as work:
        all_results = {size: bench_size(size, args.repeat, Path(work)) for size in args.sizes}
    print()
    missed = 0
    for text, ok in verdicts(all_results):
        print(f"{'ok    ' if ok else 'MISSED'} {text}")
        missed += not ok
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
