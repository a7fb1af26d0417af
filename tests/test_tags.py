"""`set-image` and `promote`: the file changes by exactly the intended lines, or not at all."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from generator.cli import main
from generator.commands import tags
from tests.conftest import SPECS

# Digests as the registry reports them (any 64 lowercase hex digits will do).
NEW = "sha256:" + "1a" * 32
OTHER = "sha256:" + "2b" * 32
# What reference.toml records.
PAYMENTS_DEV = "sha256:fe94675c9e5ec0ef44093f527b03392133eba16c2186482e81d314028d185db3"
PAYMENTS_PROD = "sha256:bafe24947268f7f6ea29282e28672b4ee23072b10997bb711878d2108c424950"
ORDERS_DEV = "sha256:08b738f68d8c8438cedd78054f679d393c8e7ff35130db564355113cb2113748"
TRADING = "sha256:e6a8a77071463f03078aeb96d51339bb3af0df1613e324bed2ff472e0b04ee01"
DIGEST_COMMENT = "  # the image the tag named: overlays deploy it"

SMALL = """\
# A services file with the layouts the commands must keep.
[gitops]
repo = "acme/gitops"
generator = "gitopsgen @ git+https://github.com/bank-org/gitopsgen@fd0cbc4f9db151ed07109a4340d6145c805f7f00"
[cloud]
provider = "aws"
region = "eu-west-1"
account = "222222222222"

[platform]
owners = ["@acme/platform"]

[environments.dev]
cluster = "https://dev.example"

[environments.staging]
cluster = "https://staging.example"
promote_from = "dev"

[environments.prod]
cluster = "https://prod.example"
promote_from = "staging"

[teams.web]
owners = ["@acme/web"]

[services.hello]
team = "web"

[services.hello.envs.dev]
tag = '1.0.0'    # literal string, with a comment

[services.hello.envs.prod]
replicas = 4

[services.inline]
team = "web"
envs = { dev = { tag = "2.0.0" } }

[services.bare]
team = "web"
port = 0
"""


def diff(old: str, new: str, context: int = 0) -> list[str]:
    """The unified diff's hunk lines, without the file header lines."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), n=context
    )
    return [line for line in lines if not line.startswith(("---", "+++"))]


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    path = tmp_path / "services.toml"
    shutil.copy(SPECS / "reference.toml", path)
    return path


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "services.toml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def run(path: Path, *args: str) -> int:
    return main([*args, "-c", str(path)])


def test_set_image_changes_only_the_tag_and_digest_lines(
    reference: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = reference.read_text(encoding="utf-8")
    assert run(reference, "set-image", "payments-api", "dev", "sha-1234567", "--digest", NEW) == 0
    assert diff(before, reference.read_text(encoding="utf-8")) == [
        "@@ -118,2 +118,2 @@\n",
        '-tag = "abc123def"\n',
        f'-digest = "{PAYMENTS_DEV}"{DIGEST_COMMENT}\n',
        '+tag = "sha-1234567"\n',
        f'+digest = "{NEW}"{DIGEST_COMMENT}\n',
    ]
    assert capsys.readouterr() == (
        f'services.payments-api.envs.dev.tag in {reference}: "abc123def" -> "sha-1234567"\n'
        f'services.payments-api.envs.dev.digest in {reference}: "{PAYMENTS_DEV}" -> "{NEW}"\n',
        "",
    )


def test_set_image_without_a_digest_drops_the_old_one(
    reference: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The old digest named the old tag's image: kept, it would deploy that image."""
    before = reference.read_text(encoding="utf-8")
    assert run(reference, "set-image", "orders-api", "dev", "sha-1234567") == 0
    assert diff(before, reference.read_text(encoding="utf-8")) == [
        "@@ -142,2 +142 @@\n",
        '-tag = "sha-7f3e2a1"\n',
        f'-digest = "{ORDERS_DEV}"\n',
        '+tag = "sha-1234567"\n',
    ]
    assert capsys.readouterr() == (
        f'services.orders-api.envs.dev.tag in {reference}: "sha-7f3e2a1" -> "sha-1234567"\n'
        f'services.orders-api.envs.dev.digest in {reference}: "{ORDERS_DEV}" -> unset\n',
        f"{reference}:142:1: services.orders-api.envs.dev.tag: has no digest: the tag is"
        " mutable, so the image it names can change under it; record the digest with"
        " gitopsgen set-image orders-api dev sha-1234567 --digest sha256:... (warning)\n",
    )


def test_set_image_without_a_digest_drops_it_even_for_the_same_tag(reference: Path) -> None:
    """The entry is always exactly what set-image was given; a re-pushed tag is a new image."""
    before = reference.read_text(encoding="utf-8")
    assert run(reference, "set-image", "orders-api", "dev", "sha-7f3e2a1") == 0
    assert diff(before, reference.read_text(encoding="utf-8")) == [
        "@@ -143 +142,0 @@\n",
        f'-digest = "{ORDERS_DEV}"\n',
    ]


def test_set_image_inserts_the_digest_after_the_tag(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(small, "set-image", "hello", "dev", "1.1.0", "--digest", NEW) == 0
    assert diff(SMALL, small.read_text(encoding="utf-8"), context=1) == [
        "@@ -30,3 +30,4 @@\n",
        " [services.hello.envs.dev]\n",
        "-tag = '1.0.0'    # literal string, with a comment\n",
        "+tag = '1.1.0'    # literal string, with a comment\n",
        f'+digest = "{NEW}"\n',
        " \n",
    ]
    assert capsys.readouterr() == (
        f'services.hello.envs.dev.tag in {small}: "1.0.0" -> "1.1.0"\n'
        f'services.hello.envs.dev.digest in {small}: unset -> "{NEW}"\n',
        "",
    )


def test_set_image_records_the_digest_of_the_tag_already_there(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(small, "set-image", "hello", "dev", "1.0.0", "--digest", NEW) == 0
    assert diff(SMALL, small.read_text(encoding="utf-8")) == [
        "@@ -31,0 +32 @@\n",
        f'+digest = "{NEW}"\n',
    ]
    assert capsys.readouterr().out == (
        f'services.hello.envs.dev.digest in {small}: unset -> "{NEW}"\n'
    )


def test_set_image_keeps_a_literal_digest_literal(small: Path) -> None:
    small.write_text(SMALL.replace("# literal string, with a comment\n", f"\ndigest = '{OTHER}'\n"))
    before = small.read_text(encoding="utf-8")
    assert run(small, "set-image", "hello", "dev", "1.1.0", "--digest", NEW) == 0
    assert diff(before, small.read_text(encoding="utf-8")) == [
        "@@ -31,2 +31,2 @@\n",
        "-tag = '1.0.0'    \n",
        f"-digest = '{OTHER}'\n",
        "+tag = '1.1.0'    \n",
        f"+digest = '{NEW}'\n",
    ]


def test_set_image_keeps_literal_quoting_and_the_comment(small: Path) -> None:
    assert run(small, "set-image", "hello", "dev", "1.1.0") == 0
    assert diff(SMALL, small.read_text(encoding="utf-8")) == [
        "@@ -31 +31 @@\n",
        "-tag = '1.0.0'    # literal string, with a comment\n",
        "+tag = '1.1.0'    # literal string, with a comment\n",
    ]


def test_set_image_adds_the_tag_under_an_existing_table(small: Path) -> None:
    assert run(small, "set-image", "hello", "prod", "1.1.0") == 0
    assert diff(SMALL, small.read_text(encoding="utf-8"), context=1) == [
        "@@ -33,2 +33,3 @@\n",
        " [services.hello.envs.prod]\n",
        '+tag = "1.1.0"\n',
        " replicas = 4\n",
    ]


def test_set_image_adds_tag_and_digest_under_an_existing_table(small: Path) -> None:
    assert run(small, "set-image", "hello", "prod", "1.1.0", "--digest", NEW) == 0
    assert diff(SMALL, small.read_text(encoding="utf-8"), context=1) == [
        "@@ -33,2 +33,4 @@\n",
        " [services.hello.envs.prod]\n",
        '+tag = "1.1.0"\n',
        f'+digest = "{NEW}"\n',
        " replicas = 4\n",
    ]


def test_set_image_writes_a_dotted_digest_beside_a_dotted_tag(small: Path) -> None:
    text = SMALL + 'envs.dev.tag = "0.1.0"\n'  # under [services.bare]
    small.write_text(text, encoding="utf-8")
    assert run(small, "set-image", "bare", "dev", "0.2.0", "--digest", NEW) == 0
    assert diff(text, small.read_text(encoding="utf-8")) == [
        "@@ -43 +43,2 @@\n",
        '-envs.dev.tag = "0.1.0"\n',
        '+envs.dev.tag = "0.2.0"\n',
        f'+envs.dev.digest = "{NEW}"\n',
    ]


def test_set_image_inside_an_inline_table(small: Path) -> None:
    assert run(small, "set-image", "inline", "dev", "2.1.0", "--digest", NEW) == 0
    after = small.read_text(encoding="utf-8")
    assert diff(SMALL, after) == [
        "@@ -38 +38 @@\n",
        '-envs = { dev = { tag = "2.0.0" } }\n',
        f'+envs = {{ dev = {{ tag = "2.1.0", digest = "{NEW}"}} }}\n',
    ]
    assert run(small, "set-image", "inline", "dev", "2.2.0") == 0
    assert diff(after, small.read_text(encoding="utf-8")) == [
        "@@ -38 +38 @@\n",
        f'-envs = {{ dev = {{ tag = "2.1.0", digest = "{NEW}"}} }}\n',
        '+envs = { dev = { tag = "2.2.0" } }\n',
    ]


def test_promote_creates_the_table_after_the_source_environment(
    reference: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = reference.read_text(encoding="utf-8")
    assert run(reference, "promote", "trading-engine", "--to", "prod") == 0
    after = reference.read_text(encoding="utf-8")
    pinned = f'tag = "v2.4.0-rc1"\ndigest = "{TRADING}"\n'
    staging = f"[services.trading-engine.envs.staging]\n{pinned}"
    prod = f"\n[services.trading-engine.envs.prod]\n{pinned}"
    assert before.count(staging) == 1
    # Right after staging's last key: the comment and blank line below belong to the next table.
    assert after == before.replace(staging, staging + prod)
    assert len(diff(before, after)) == 5  # one hunk of four added lines
    assert capsys.readouterr() == (
        f"services.trading-engine.envs.prod.tag in {reference}: unset -> "
        '"v2.4.0-rc1" (from staging)\n'
        f"services.trading-engine.envs.prod.digest in {reference}: unset -> "
        f'"{TRADING}" (from staging)\n',
        "",
    )


def test_promote_replaces_an_existing_tag_and_digest(reference: Path) -> None:
    before = reference.read_text(encoding="utf-8")
    assert run(reference, "promote", "payments-api", "--to", "prod") == 0
    assert diff(before, reference.read_text(encoding="utf-8")) == [
        "@@ -129,2 +129,2 @@\n",
        '-tag = "def456abc"\n',
        f'-digest = "{PAYMENTS_PROD}"\n',
        '+tag = "abc123def"\n',
        f'+digest = "{PAYMENTS_DEV}"\n',
    ]


def test_promote_at_the_end_of_the_file_copies_a_tag_without_digest(
    reference: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = reference.read_text(encoding="utf-8")
    assert run(reference, "promote", "ledger-worker", "--to", "staging") == 0
    assert diff(before, reference.read_text(encoding="utf-8")) == [
        "@@ -188,0 +189,3 @@\n",
        "+\n",
        "+[services.ledger-worker.envs.staging]\n",
        '+tag = "sha-0a1b2c3"\n',
    ]
    assert capsys.readouterr().err == (
        f"{reference}:191:1: services.ledger-worker.envs.staging.tag: has no digest: the tag"
        " is mutable, so the image it names can change under it; record the digest with"
        " gitopsgen set-image ledger-worker staging sha-0a1b2c3 --digest sha256:... (warning)\n"
    )


def test_promote_from_a_source_without_digest_drops_the_targets_digest(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SMALL.replace(
        "[services.hello.envs.prod]\n",
        f'[services.hello.envs.staging]\ntag = "0.9.0"\ndigest = "{OTHER}"\n\n'
        "[services.hello.envs.prod]\n",
    )
    small.write_text(text, encoding="utf-8")
    assert run(small, "promote", "hello", "--to", "staging") == 0
    assert diff(text, small.read_text(encoding="utf-8")) == [
        "@@ -34,2 +34 @@\n",
        '-tag = "0.9.0"\n',
        f'-digest = "{OTHER}"\n',
        '+tag = "1.0.0"\n',
    ]
    assert capsys.readouterr() == (
        f'services.hello.envs.staging.tag in {small}: "0.9.0" -> "1.0.0" (from dev)\n'
        f'services.hello.envs.staging.digest in {small}: "{OTHER}" -> unset (from dev)\n',
        f"{small}:34:1: services.hello.envs.staging.tag: has no digest: the tag is mutable, so"
        " the image it names can change under it; record the digest with gitopsgen set-image"
        " hello staging 1.0.0 --digest sha256:... (warning)\n",
    )


def test_the_change_carries_the_digest(reference: Path) -> None:
    change = tags.set_image(reference, "orders-api", "prod", "sha-1234567", digest=NEW)
    assert (change.target.tag, change.target.digest) == ("sha-1234567", NEW)
    assert (change.old, change.old_digest) == (
        "sha-5c1d9b0",
        "sha256:2f610cef1c8d69a52d994b4376d750eb9471099113a1535a8f8016474177c0a8",
    )
    assert change.spec.services["orders-api"].envs["prod"].digest == NEW
    change = tags.promote(reference, "orders-api", "staging")
    assert (change.target.tag, change.target.digest, change.target.source) == (
        "sha-7f3e2a1",
        ORDERS_DEV,
        "dev",
    )
    assert tags.set_image(reference, "orders-api", "dev", "sha-7f3e2a1").target.digest is None


def test_set_image_for_a_service_without_environments(small: Path) -> None:
    assert run(small, "set-image", "bare", "dev", "0.1.0") == 0
    assert diff(SMALL, small.read_text(encoding="utf-8")) == [
        "@@ -42,0 +43,3 @@\n",
        "+\n",
        "+[services.bare.envs.dev]\n",
        '+tag = "0.1.0"\n',
    ]


def test_inline_environment_tables_stay_inline(small: Path) -> None:
    assert run(small, "promote", "inline", "--to", "staging") == 0
    assert diff(SMALL, small.read_text(encoding="utf-8")) == [
        "@@ -38 +38 @@\n",
        '-envs = { dev = { tag = "2.0.0" } }\n',
        '+envs = { dev = { tag = "2.0.0" }, staging = {tag = "2.0.0"}}\n',
    ]


def test_crlf_line_endings_survive_a_digest(tmp_path: Path) -> None:
    path = tmp_path / "services.toml"
    original = SMALL.replace("\n", "\r\n").encode()
    path.write_bytes(original)
    assert run(path, "set-image", "hello", "dev", "1.0.0", "--digest", NEW) == 0
    tag_line = b"tag = '1.0.0'    # literal string, with a comment\r\n"
    assert path.read_bytes() == original.replace(
        tag_line, tag_line + b'digest = "' + NEW.encode() + b'"\r\n'
    )


def test_a_digest_after_a_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "services.toml"
    text = SMALL.replace('[services.bare]\nteam = "web"\nport = 0\n', "")
    text += '[services.bare]\nteam = "web"\n\n[services.bare.envs.dev]\ntag = "0.1.0"'
    path.write_text(text, encoding="utf-8")
    assert run(path, "set-image", "bare", "dev", "0.1.0", "--digest", NEW) == 0
    assert path.read_text(encoding="utf-8") == f'{text}\ndigest = "{NEW}"\n'


def test_crlf_line_endings_survive(tmp_path: Path) -> None:
    path = tmp_path / "services.toml"
    original = SMALL.replace("\n", "\r\n").encode()
    path.write_bytes(original)
    assert run(path, "promote", "hello", "--to", "staging") == 0
    assert path.read_bytes() == original.replace(
        b"tag = '1.0.0'    # literal string, with a comment\r\n",
        b"tag = '1.0.0'    # literal string, with a comment\r\n"
        b'\r\n[services.hello.envs.staging]\r\ntag = "1.0.0"\r\n',
    )


def test_the_same_tag_writes_nothing(reference: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stat = reference.stat()
    assert run(reference, "set-image", "ledger-worker", "dev", "sha-0a1b2c3") == 0
    assert reference.stat().st_mtime_ns == stat.st_mtime_ns
    assert capsys.readouterr().out == (
        f"services.ledger-worker.envs.dev.tag in {reference} is already"
        ' "sha-0a1b2c3": nothing to do\n'
    )


def test_the_same_tag_and_digest_write_nothing(
    reference: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stat = reference.stat()
    assert (
        run(reference, "set-image", "orders-api", "dev", "sha-7f3e2a1", "--digest", ORDERS_DEV) == 0
    )
    assert run(reference, "promote", "orders-api", "--to", "staging") == 0
    assert reference.stat().st_mtime_ns == stat.st_mtime_ns
    assert capsys.readouterr() == (
        f'services.orders-api.envs.dev.tag in {reference} is already "sha-7f3e2a1" with digest'
        f' "{ORDERS_DEV}": nothing to do\n'
        f'services.orders-api.envs.staging.tag in {reference} is already "sha-7f3e2a1" with'
        f' digest "{ORDERS_DEV}": nothing to do\n',
        "",
    )


@pytest.mark.parametrize(
    ("digest", "reason"),
    [
        ("sha512:" + "ab" * 64, "the algorithm is 'sha512', not 'sha256'"),
        ("sha256:" + "ab" * 31, "it has 62 hex digits after the ':', not 64"),
        ("sha256:" + "AB" * 32, "it contains uppercase letters"),
        ("ab" * 32, "it does not start with 'sha256:'"),
    ],
)
def test_a_malformed_digest_is_refused_before_anything_is_written(
    reference: Path, capsys: pytest.CaptureFixture[str], digest: str, reason: str
) -> None:
    before = reference.read_bytes()
    assert run(reference, "set-image", "payments-api", "dev", "sha-1", "--digest", digest) == 2
    assert capsys.readouterr() == (
        "",
        f"set-image: --digest {digest!r} is not an image digest: {reason}; write 'sha256:' and"
        " 64 lowercase hex digits\n",
    )
    assert reference.read_bytes() == before


def test_a_malformed_digest_and_a_wrong_name_are_reported_together(
    reference: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(reference, "set-image", "nope", "dev", "sha-1", "--digest", "sha256:x") == 2
    assert capsys.readouterr().err == (
        f"{reference}: unknown service 'nope'\n"
        "set-image: --digest 'sha256:x' is not an image digest: it contains 'x' (hex digits are"
        " 0-9 and a-f); write 'sha256:' and 64 lowercase hex digits\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("set-image", "paymnts-api", "dev", "x1"),
            "unknown service 'paymnts-api' (did you mean 'payments-api'?)",
        ),
        (
            ("set-image", "payments-api", "prd", "x1"),
            "unknown environment 'prd' (did you mean 'prod'?)",
        ),
        (("promote", "payments-api", "--to", "qa"), "unknown environment 'qa'"),
        (
            ("promote", "payments-api", "--to", "dev"),
            "environment 'dev' has no promote_from: nothing to promote",
        ),
        (
            ("promote", "ledger-worker", "--to", "prod"),
            "cannot promote 'ledger-worker' to 'prod': it has no tag in 'staging'",
        ),
    ],
)
def test_refusals_name_the_problem_and_change_nothing(
    reference: Path,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    message: str,
) -> None:
    before = reference.read_bytes()
    assert run(reference, *args) == 2
    captured = capsys.readouterr()
    assert captured.err == f"{reference}: {message}\n"
    assert captured.out == ""
    assert reference.read_bytes() == before


def test_both_names_wrong_reports_both(reference: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(reference, "set-image", "nope", "prd", "x1") == 2
    assert capsys.readouterr().err == (
        f"{reference}: unknown service 'nope'\n"
        f"{reference}: unknown environment 'prd' (did you mean 'prod'?)\n"
    )


@pytest.mark.parametrize("tag", ["latest", ""])
def test_a_tag_the_loader_rejects_is_never_written(
    reference: Path, capsys: pytest.CaptureFixture[str], tag: str
) -> None:
    before = reference.read_bytes()
    assert run(reference, "set-image", "payments-api", "dev", tag) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{reference}:118:1: services.payments-api.envs.dev.tag: ")
    assert reference.read_bytes() == before


def test_a_broken_services_file_is_reported_not_edited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "services.toml"
    path.write_text(SMALL.replace('team = "web"\n', 'team = "wbe"\n', 1), encoding="utf-8")
    before = path.read_bytes()
    assert run(path, "set-image", "hello", "dev", "1.1.0") == 2
    assert "services.hello.team" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_a_missing_services_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "services.toml"
    assert run(path, "set-image", "hello", "dev", "1.1.0") == 2
    assert capsys.readouterr().err == f"{path}: cannot read: No such file or directory\n"
