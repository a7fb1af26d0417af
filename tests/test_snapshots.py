"""The whole rendered tree of each fixture spec, pinned file by file."""

from __future__ import annotations

from syrupy.assertion import SnapshotAssertion

from tests.conftest import tree_of


def test_rendered_tree(spec_name: str, snapshot: SnapshotAssertion) -> None:
    assert tree_of(spec_name) == snapshot
