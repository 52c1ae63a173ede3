"""What every settings model shares: frozen, strict, unknown keys refused; and the error a bad
params file (or a service bundle's settings.json) raises, naming the file, the dotted key and
the conf/ file where that key is defined."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, ValidationError

M = TypeVar("M", bound=BaseModel)

# conf/ groups (conf/<group>/*.yaml); every other top-level key is the root config's (or the profile's)
GROUPS = ("data", "backbone", "trainer", "train", "kg", "corpus", "encoder", "retrieval", "serving", "monitoring",
          "safety")


class Settings(BaseModel):
    """A section of the composed config. Strict: YAML already gives ints, floats, booleans and
    strings, so a value of the wrong type is a mistake to report, never something to coerce
    (an int is still accepted where a float is expected)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def tagged(key: str, *models: type[Settings]) -> Any:
    """A section whose shape depends on one key's value (the backbone's `source`, the encoder's
    `name`): each model declares that key as a one-value Literal. The union's internal tags
    (`source=package`) never collide with keys of the file, so error paths can drop them."""
    options = {model.model_fields[key].annotation.__args__[0]: model for model in models}

    def pick(value: Any) -> str | None:
        found = value.get(key) if isinstance(value, Mapping) else getattr(value, key, None)
        return f"{key}={found}" if found in options else None

    expected = ", ".join(repr(option) for option in options)
    branches = (Annotated[model, Tag(f"{key}={option}")] for option, model in options.items())
    chooser = Discriminator(pick, custom_error_type="union_tag", custom_error_message=f"{key}: {expected}",
                            custom_error_context={"key": key, "expected": expected})
    return Annotated[functools.reduce(operator.or_, branches), chooser]


class ParamsError(ValueError):
    """A params file (or a bundle's settings.json) that does not match the settings models.
    `problems`: (dotted key, what is wrong) pairs, in the order found."""

    def __init__(self, source: str, problems: list[tuple[str, str]], hint: Callable[[str], str] | None = None):
        self.source, self.problems = source, problems
        lines = [f"{source}: {key}: {what}" + (f" ({hint(key)})" if hint else "") for key, what in problems]
        super().__init__("\n".join(lines))


def conf_home(key: str) -> str:
    """Where a dotted key of the composed params is defined in conf/."""
    top = key.split(".", 1)[0].split("[", 1)[0]
    if top in GROUPS:
        return f"defined in conf/{top}/*.yaml"
    if top == "profile":
        return "set by each conf/profile/*.yaml"
    return "a root key: defined in conf/config.yaml"


def validate(model: type[M], data: Any, source: str, hint: Callable[[str], str] | None = conf_home) -> M:
    """`model` from `data`, or a ParamsError naming `source` and every bad key."""
    if not isinstance(data, Mapping):
        raise ParamsError(source, [("(top level)", f"expected a mapping of settings, got {_shown(data)}")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ParamsError(source, problems(exc, data), hint) from None


def problems(exc: ValidationError, data: Any) -> list[tuple[str, str]]:
    """(dotted key, message) per error, without pydantic's union-branch names in the key."""
    out: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        loc = _key_path(error["loc"], data)
        what = _describe(error)
        if error["type"] == "union_tag" and isinstance(error.get("input"), Mapping):  # the key choosing the shape
            loc = (*loc, error["ctx"]["key"])
        key = _dotted(loc) or "(top level)"
        out.setdefault(key, what)  # one message per key: the first is the telling one
    return list(out.items())


def _key_path(loc: tuple, data: Any) -> tuple:
    """The keys of `loc` that exist in the input: a discriminated union puts its tag (e.g. the
    backbone's `package`) between a section and its keys; that tag is not a key of the file."""
    path: list = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, Mapping) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(part)
            node = node[part]
        elif last:
            path.append(part)  # a missing key, or a key the model has never heard of
    return tuple(path)


def _dotted(loc: tuple) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


_EXPECTED = {"int": "an integer", "float": "a number", "bool": "true or false", "string": "a string",
             "dict": "a mapping", "model": "a mapping", "model_attributes": "a mapping", "list": "a list",
             "none_required": "null"}


def _describe(error: dict) -> str:
    kind, got = error["type"], _shown(error.get("input"))
    if kind == "missing":
        return "missing key"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "literal_error":
        return f"expected one of {error['ctx']['expected']}, got {got}"
    if kind == "union_tag":
        section, key = error.get("input"), error["ctx"]["key"]
        if not isinstance(section, Mapping):
            return f"expected a mapping, got {got}"
        if key not in section:
            return "missing key"
        return f"expected one of {error['ctx']['expected']}, got {_shown(section[key])}"
    for prefix in ("_type", "_parsing", "_from_float"):
        if kind.endswith(prefix) and kind.removesuffix(prefix) in _EXPECTED:
            return f"expected {_EXPECTED[kind.removesuffix(prefix)]}, got {got}"
    message = error["msg"]
    if kind == "value_error":  # a validator's own sentence
        return message.removeprefix("Value error, ")
    return f"{message.removeprefix('Input ')}, got {got}"


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
