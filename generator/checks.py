"""The rules of the services file that types alone cannot express (DESIGN section 1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.errors import KeyPath
from generator.model import Spec


def check(spec: Spec, data: dict[str, Any]) -> Iterator[tuple[KeyPath, str]]:
    """Every semantic problem of a structurally valid spec, as (key path, message)."""
    yield from ()


def warnings(spec: Spec) -> Iterator[tuple[KeyPath, str]]:
    """Things that are legal but almost certainly not what the user meant."""
    yield from ()
