"""The table of consumers (spec/consumers.py): complete, and enforced — a value that a
consumer of a key would interpret is refused at that key, with its location."""

from __future__ import annotations

import typing
from typing import Any

import attrs
import pytest
import tomlkit

from generator.spec import consumers
from generator.spec.consumers import Consumer
from generator.spec.errors import InputError
from generator.spec.load import load_text
from tests.conftest import SPECS
from tests.test_schema import MODEL

CHARTS = (SPECS / "charts.toml").read_text(encoding="utf-8")
# Where a table of each class sits in the charts fixture (or is added there).
PLACES: dict[str, tuple[str | int, ...]] = {
    "Gitops": ("gitops",),
    "Cloud": ("cloud",),
    "Platform": ("platform",),
    "Environment": ("environments", "prod"),
    "Team": ("teams", "web"),
    "Service": ("services", "hello"),
    "ServiceEnv": ("services", "hello", "envs", "dev"),
    "Chart": ("services", "cache", "chart"),
}


def test_every_key_of_the_model_has_its_consumers() -> None:
    keys = {f"{cls.__name__}.{field.name}" for cls in MODEL for field in attrs.fields(cls)}
    assert sorted(keys - set(consumers.CONSUMERS)) == [], "decide where these keys go"
    assert sorted(set(consumers.CONSUMERS) - keys) == [], "these keys no longer exist"


def is_text(kind: Any) -> bool:
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    return kind is str or args == [str] or (typing.get_origin(kind) is tuple and args[:1] == [str])


def injections() -> list[Any]:
    cases = []
    for cls in MODEL:
        if cls.__name__ not in PLACES:
            continue
        hints = typing.get_type_hints(cls)
        for field in attrs.fields(cls):
            if not is_text(hints[field.name]):
                continue
            for consumer in consumers.consumers_of(cls, field.name):
                for value in consumers.INTERPRETED.get(consumer, ()):
                    cases.append(
                        pytest.param(
                            cls.__name__,
                            field.name,
                            typing.get_origin(hints[field.name]) is tuple,
                            value,
                            id=f"{cls.__name__}.{field.name}-{consumer.name}-{value!r}",
                        )
                    )
    return cases


@pytest.mark.parametrize(("cls", "key", "listed", "value"), injections())
def test_what_a_consumer_would_interpret_is_refused_at_the_key(
    cls: str, key: str, listed: bool, value: str
) -> None:
    document = tomlkit.parse(CHARTS)
    table: Any = document
    for part in PLACES[cls]:
        table = table[part]
    table[key] = [value] if listed else value
    dotted = ".".join(str(part) for part in (*PLACES[cls], key))
    with pytest.raises(InputError) as caught:
        load_text(tomlkit.dumps(document), "s.toml")
    located = [str(p) for p in caught.value.problems if f": {dotted}" in str(p)]
    assert located, [str(p) for p in caught.value.problems]


def test_the_yaml_rule_is_every_strings() -> None:
    assert Consumer.YAML in consumers.INTERPRETED
