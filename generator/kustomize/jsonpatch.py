"""RFC 6902 JSON patches, as Kustomize applies them (it uses evanphx/json-patch)."""

from __future__ import annotations

import copy
from typing import Any


class PatchError(Exception):
    """An operation does not apply to the document (Kustomize fails the build)."""


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"invalid JSON pointer {pointer!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _index(container: list[Any], token: str, *, adding: bool) -> int:
    if adding and token == "-":
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise PatchError(f"invalid array index {token!r}")
    index = int(token)
    limit = len(container) if adding else len(container) - 1
    if index > limit:
        raise PatchError(f"array index {index} out of bounds")
    return index


def _parent(doc: Any, tokens: list[str], pointer: str) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, adding=False)]
        else:
            raise PatchError(f"doc is missing path: {pointer}")
    return node


def _get(doc: Any, pointer: str) -> Any:
    tokens = _tokens(pointer)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"doc is missing path: {pointer}")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, adding=False)]
    raise PatchError(f"doc is missing path: {pointer}")


def _add(doc: Any, pointer: str, value: Any) -> Any:
    tokens = _tokens(pointer)
    if not tokens:
        return value
    parent = _parent(doc, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, adding=True), value)
    else:
        raise PatchError(f"add operation does not apply: doc is missing path: {pointer}")
    return doc


def _remove(doc: Any, pointer: str) -> Any:
    tokens = _tokens(pointer)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _parent(doc, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list):
        del parent[_index(parent, last, adding=False)]
    else:
        raise PatchError(f"remove operation does not apply: doc is missing path: {pointer}")
    return doc


def _replace(doc: Any, pointer: str, value: Any) -> Any:
    _get(doc, pointer)  # replace needs the path to exist
    tokens = _tokens(pointer)
    if not tokens:
        return value
    parent = _parent(doc, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    else:
        parent[_index(parent, last, adding=False)] = value
    return doc


def apply(doc: Any, operations: list[Any]) -> Any:
    """`doc` with the operations applied in order (the operations' values are copied in)."""
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation:
            raise PatchError(f"not a JSON patch operation: {operation!r}")
        op, path = operation["op"], operation.get("path", "")
        if not isinstance(path, str):
            raise PatchError(f"{op} operation with a path that is not a string")
        if op == "add":
            doc = _add(doc, path, copy.deepcopy(operation.get("value")))
        elif op == "replace":
            doc = _replace(doc, path, copy.deepcopy(operation.get("value")))
        elif op == "remove":
            doc = _remove(doc, path)
        elif op == "test":
            if _get(doc, path) != operation.get("value"):
                raise PatchError(f"testing value {path} failed")
        elif op in ("move", "copy"):
            if not isinstance(operation.get("from"), str):
                raise PatchError(f"{op} operation without a 'from' pointer")
            value = copy.deepcopy(_get(doc, operation["from"]))
            if op == "move":
                doc = _remove(doc, operation["from"])
            doc = _add(doc, path, value)
        else:
            raise PatchError(f"unknown JSON patch operation {op!r}")
    return doc
