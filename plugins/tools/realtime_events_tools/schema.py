"""From a Python function to a Realtime function schema, and back to call arguments.

:func:`function_schema` reads a function's signature, type hints and docstring
and builds a pydantic model of its parameters. The model does two jobs: its
JSON schema (cleaned of pydantic's ``title`` noise and with ``$ref`` inlined)
is what the model sees, and it validates the arguments the model sends.

Parameter descriptions come from ``Annotated[..., Field(description=...)]``,
from a plain string in ``Annotated[..., "..."]``, or from the docstring's
``Args:`` section (Google), ``:param x:`` lines (Sphinx) or ``Parameters``
section (NumPy), in that order of preference.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo

__all__ = [
    "FunctionSchema",
    "clean_schema",
    "function_schema",
    "parse_docstring",
    "validation_message",
]

#: What the Realtime API accepts as a function name.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_SECTION = re.compile(
    r"^(args|arguments|parameters|params|keyword args|keyword arguments|returns?|yields?"
    r"|raises|exceptions?|examples?|notes?|see also|warnings?|attributes|references)\s*:?\s*$",
    re.IGNORECASE,
)
_PARAM_SECTIONS = frozenset(
    {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments"}
)
_GOOGLE_ARG = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ARG = re.compile(r"^\*{0,2}(\w+)\s*(?::.*)?$")
_SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_SPHINX_FIELD = re.compile(r"^:\w+")


@dataclass(frozen=True)
class FunctionSchema:
    """A function's name, description and parameter schema, and its argument validator."""

    name: str
    description: str
    #: The JSON schema of the parameters, as the Realtime API takes it.
    parameters: dict[str, Any]
    #: The pydantic model that validates arguments.
    model: type[BaseModel]
    #: (field name in ``model``, parameter name, positional-only) per parameter.
    fields: tuple[tuple[str, str, bool], ...]

    def bind(self, arguments: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """Validate ``arguments`` and return them as ``(args, kwargs)`` for the function.

        Raises :class:`pydantic.ValidationError` when they don't fit the schema.
        Values keep their Python types (nested models, enums, dates...).
        """
        instance = self.model.model_validate(arguments)
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for field, parameter, positional in self.fields:
            value = getattr(instance, field)
            if positional:
                args.append(value)
            else:
                kwargs[parameter] = value
        return args, kwargs


def function_schema(
    fn: Callable[..., Any], *, name: str | None = None, description: str | None = None
) -> FunctionSchema:
    """Build the schema of ``fn`` from its signature, type hints and docstring.

    Parameters without a type hint accept any JSON value. ``*args`` and
    ``**kwargs`` can't be described to the model and raise :class:`TypeError`.
    """
    name = name or getattr(fn, "__name__", None) or type(fn).__name__
    if not NAME_PATTERN.match(name):
        raise ValueError(f"invalid tool name {name!r}: use 1-64 letters, digits, '_' or '-'")
    summary, documented = parse_docstring(inspect.getdoc(fn) or "")
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except (NameError, TypeError) as exc:
        raise TypeError(f"can't resolve the type hints of {name}: {exc}") from exc

    definitions: dict[str, Any] = {}
    fields: list[tuple[str, str, bool]] = []
    for index, parameter in enumerate(inspect.signature(fn).parameters.values()):
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(
                f"{name}: *{parameter.name} can't be described to the model; "
                "declare each argument, or use Tools.add with a raw schema"
            )
        annotation = hints.get(parameter.name, Any)
        default = ... if parameter.default is parameter.empty else parameter.default
        overrides: dict[str, Any] = {}
        if FieldInfo.from_annotated_attribute(annotation, default).description is None:
            described = _plain_description(annotation) or documented.get(parameter.name)
            if described:
                overrides["description"] = described
        # Names that are private or shadow BaseModel attributes ("json", "copy",
        # "schema"...) can't be model fields: keep them as aliases of a safe name.
        field = parameter.name
        if field.startswith("_") or hasattr(BaseModel, field):
            field = f"param_{index}"
            overrides["alias"] = parameter.name
        if overrides:
            annotation = Annotated[annotation, Field(**overrides)]
        definitions[field] = (annotation, default)
        fields.append((field, parameter.name, parameter.kind is parameter.POSITIONAL_ONLY))

    model: type[BaseModel] = create_model(
        name,
        __config__=ConfigDict(extra="ignore", populate_by_name=False),
        **definitions,
    )
    parameters = clean_schema(model.model_json_schema())
    parameters.setdefault("properties", {})
    return FunctionSchema(
        name=name,
        description=description if description is not None else summary,
        parameters=parameters,
        model=model,
        fields=tuple(fields),
    )


def validation_message(error: ValidationError) -> str:
    """Say what is wrong with the arguments, one short clause per problem."""
    problems = []
    for detail in error.errors(include_url=False):
        where = ".".join(str(part) for part in detail["loc"]) or "arguments"
        problems.append(f"{where}: {detail['msg']}")
    return "; ".join(problems)


def _plain_description(annotation: Any) -> str | None:
    """The last plain string in ``Annotated[...]`` metadata, if any."""
    if typing.get_origin(annotation) is Annotated:
        texts = [m for m in typing.get_args(annotation)[1:] if isinstance(m, str)]
        if texts:
            return texts[-1]
    return None


# -- docstrings -----------------------------------------------------------------


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a docstring into its description and per-parameter descriptions.

    The description is the text before the first section (``Args:``,
    ``Returns:``, ``:param x:``...). Parameters are read from Google, Sphinx
    and NumPy styles; continuation lines are joined with spaces.
    """
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    params: dict[str, str] = {}
    section: str | None = None  # None while still in the description
    numpy = False
    current: str | None = None  # the parameter whose description continues
    indent = 0
    skip = False
    for i, line in enumerate(lines):
        if skip:  # a NumPy header's underline
            skip = False
            continue
        stripped = line.strip()
        depth = len(line) - len(line.lstrip())
        header = _SECTION.match(stripped)
        underlined = i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}
        if header and (stripped.endswith(":") or underlined):
            section, numpy, current, skip = header.group(1).lower(), underlined, None, underlined
            continue
        sphinx = _SPHINX_PARAM.match(stripped)
        if sphinx:
            section, current = ":param", sphinx.group(1)
            params[current] = sphinx.group(2).strip()
        elif _SPHINX_FIELD.match(stripped):
            section, current = ":field", None
        elif section is None:
            summary.append(line)
        elif not stripped:
            current = None if section == ":param" else current
        elif current is not None and (section == ":param" or depth > indent):
            params[current] = f"{params[current]} {stripped}".strip()
        elif section in _PARAM_SECTIONS:
            match = (_NUMPY_ARG if numpy else _GOOGLE_ARG).match(stripped)
            if match:
                current, indent = match.group(1), depth
                params[current] = "" if numpy else match.group(2).strip()
    return "\n".join(summary).strip(), params


# -- cleaning -----------------------------------------------------------------------

_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "if", "then", "else", "contains")


def clean_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``schema`` without ``title`` keywords and with local ``$ref`` inlined.

    Titles are pydantic's restatement of field names: noise in the model's
    context. References are inlined because function schemas are read best
    flat; a recursive model keeps its ``$defs``, since it can't be inlined.
    """
    definitions: dict[str, Any] = dict(schema.get("$defs") or {})
    try:
        cleaned: dict[str, Any] = _inline(schema, definitions, ())
    except _Recursive:
        return _walk(schema, _strip_titles)
    cleaned.pop("$defs", None)
    return cleaned


class _Recursive(Exception):
    """A definition refers to itself: it has to stay a reference."""


def _inline(node: Any, definitions: Mapping[str, Any], stack: tuple[str, ...]) -> Any:
    if not isinstance(node, Mapping):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        key = ref.removeprefix("#/$defs/")
        if key in stack:
            raise _Recursive(key)
        resolved = _inline(definitions[key], definitions, (*stack, key))
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return {**resolved, **_walk(siblings, lambda n: _inline(n, definitions, stack))}
    return _walk(node, lambda n: _inline(n, definitions, stack))


def _strip_titles(node: Any) -> Any:
    return _walk(node, _strip_titles) if isinstance(node, Mapping) else node


def _walk(node: Mapping[str, Any], visit: Callable[[Any], Any]) -> dict[str, Any]:
    """Copy a schema object without ``title``, applying ``visit`` to its subschemas only.

    Only keywords that hold schemas are visited: a property that happens to be
    called ``title`` (or a default value with such a key) is data, not noise.
    """
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {name: visit(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [visit(sub) for sub in value]
        elif key in _SCHEMA_VALUES:
            out[key] = visit(value)
        else:
            out[key] = value
    return out
