"""Schemas from type hints and docstrings, argument validation, outputs: no server needed."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Optional

import pytest
from pydantic import BaseModel, Field

from realtime_events import Session
from realtime_events_tools import (
    InvalidArgumentsError,
    Tool,
    ToolCall,
    ToolError,
    Tools,
    error_output,
    function_schema,
    result_output,
)
from realtime_events_tools.schema import clean_schema, parse_docstring


class Unit(enum.Enum):
    CELSIUS = "c"
    FAHRENHEIT = "f"


class Location(BaseModel):
    """A point on Earth."""

    lat: float = Field(ge=-90, le=90)
    lon: float


def keywords(schema: Any) -> Iterator[str]:
    """Every keyword used in a schema object (property names excluded)."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            yield key
            if key == "properties":
                for sub in value.values():
                    yield from keywords(sub)
            else:
                yield from keywords(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from keywords(item)


def test_simple_function() -> None:
    def get_weather(city: str, days: int = 1) -> dict[str, Any]:
        """Current weather for a city."""
        return {}

    schema = function_schema(get_weather)
    assert schema.name == "get_weather"
    assert schema.description == "Current weather for a city."
    assert schema.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer", "default": 1},
        },
        "required": ["city"],
    }


def test_tool_definition_is_what_the_realtime_api_takes() -> None:
    def ping() -> str:
        """Check the line."""
        return "pong"

    assert Tool.from_function(ping).definition() == {
        "type": "function",
        "name": "ping",
        "description": "Check the line.",
        "parameters": {"type": "object", "properties": {}},
    }


def test_google_docstring() -> None:
    def book(city: str, nights: int) -> None:
        """Book a hotel room.

        Picks the cheapest room.

        Args:
            city: Where to stay.
            nights (int): How many nights,
                at least one.

        Returns:
            The booking reference.
        """

    schema = function_schema(book)
    assert schema.description == "Book a hotel room.\n\nPicks the cheapest room."
    props = schema.parameters["properties"]
    assert props["city"]["description"] == "Where to stay."
    assert props["nights"]["description"] == "How many nights, at least one."


def test_sphinx_and_numpy_docstrings() -> None:
    sphinx = """Convert money.

    :param amount: How much,
        in cents.
    :param str currency: ISO code.
    :returns: The converted amount.
    """
    assert parse_docstring(sphinx) == (
        "Convert money.",
        {"amount": "How much, in cents.", "currency": "ISO code."},
    )
    numpy = """Convert money.

    Parameters
    ----------
    amount : int
        How much.
    currency : str
        ISO code.

    Returns
    -------
    int
    """
    assert parse_docstring(numpy) == (
        "Convert money.",
        {"amount": "How much.", "currency": "ISO code."},
    )


def test_annotated_descriptions_and_constraints() -> None:
    def search(
        query: Annotated[str, Field(min_length=1, description="What to look for")],
        limit: Annotated[int, Field(ge=1, le=50)] = 10,
        lang: Annotated[str, "Two-letter language code"] = "en",
    ) -> list[str]:
        """Search the catalogue.

        Args:
            query: Overridden by the Field description.
            limit: How many results.
        """
        return []

    props = function_schema(search).parameters["properties"]
    assert props["query"] == {"type": "string", "minLength": 1, "description": "What to look for"}
    assert props["limit"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 50,
        "default": 10,
        "description": "How many results.",
    }
    assert props["lang"]["description"] == "Two-letter language code"


def test_nested_models_enums_literals_optionals_are_inlined_without_titles() -> None:
    def forecast(
        where: Location,
        unit: Unit = Unit.CELSIUS,
        detail: Literal["short", "long"] = "short",
        day: Optional[datetime.date] = None,  # noqa: UP045 - Optional is what users write
        stops: list[Location] | None = None,
    ) -> None:
        """Forecast."""

    parameters = function_schema(forecast).parameters
    assert "title" not in set(keywords(parameters))
    assert "$defs" not in parameters
    assert "$ref" not in json.dumps(parameters)
    props = parameters["properties"]
    assert props["where"] == {
        "type": "object",
        "description": "A point on Earth.",
        "properties": {
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number"},
        },
        "required": ["lat", "lon"],
    }
    assert props["unit"] == {"type": "string", "enum": ["c", "f"], "default": "c"}
    assert props["detail"] == {"type": "string", "enum": ["short", "long"], "default": "short"}
    assert props["day"] == {
        "anyOf": [{"type": "string", "format": "date"}, {"type": "null"}],
        "default": None,
    }
    assert props["stops"]["anyOf"][0]["items"]["properties"]["lat"]["minimum"] == -90
    assert parameters["required"] == ["where"]


def test_a_property_called_title_is_kept() -> None:
    def create_note(title: str, body: str = "") -> None:
        """Create a note."""

    parameters = function_schema(create_note).parameters
    assert parameters["properties"]["title"] == {"type": "string"}
    assert parameters["required"] == ["title"]


def test_recursive_models_keep_their_definitions() -> None:
    class Node(BaseModel):
        name: str
        children: list[Node] = []

    cleaned = clean_schema(Node.model_json_schema())
    assert "$defs" in cleaned
    assert "title" not in set(keywords(cleaned))


def test_arguments_are_validated_into_python_values() -> None:
    seen: dict[str, Any] = {}

    def forecast(
        where: Location, unit: Unit = Unit.CELSIUS, /, day: datetime.date | None = None
    ) -> None:
        seen.update(where=where, unit=unit, day=day)

    schema = function_schema(forecast)
    args, kwargs = schema.bind(
        {"where": {"lat": 48.8, "lon": 2.3}, "unit": "f", "day": "2025-01-02"}
    )
    assert args == [Location(lat=48.8, lon=2.3), Unit.FAHRENHEIT]
    assert kwargs == {"day": datetime.date(2025, 1, 2)}


def test_parameter_names_that_shadow_pydantic_attributes() -> None:
    def export(json: str, schema: int = 1, _private: bool = False) -> None:
        """Export."""

    schema = function_schema(export)
    assert set(schema.parameters["properties"]) == {"json", "schema", "_private"}
    assert schema.bind({"json": "x", "_private": True}) == (
        [],
        {"json": "x", "schema": 1, "_private": True},
    )


def test_invalid_arguments_read_well() -> None:
    def add(a: int, b: int) -> int:
        return a + b

    tool = Tool.from_function(add)
    with pytest.raises(
        InvalidArgumentsError, match=r"invalid arguments for add: a: .*integer.*; b: Field required"
    ):
        tool.bind('{"a": "x"}')
    with pytest.raises(InvalidArgumentsError, match="not valid JSON"):
        tool.bind("{oops")
    with pytest.raises(InvalidArgumentsError, match="must be a JSON object, not list"):
        tool.bind("[1, 2]")


def test_signatures_the_model_cant_use_are_refused() -> None:
    def anything(*args: Any, **kwargs: Any) -> None: ...

    with pytest.raises(TypeError, match=r"\*args"):
        function_schema(anything)
    with pytest.raises(ValueError, match="invalid tool name"):
        function_schema(lambda: None, name="has spaces")


def test_raw_schema_tools() -> None:
    definition = {
        "type": "function",
        "name": "lookup",
        "description": "Look something up.",
        "parameters": {
            "type": "object",
            "properties": {"key": {"type": "string"}},
            "required": ["key"],
        },
    }
    tool = Tool.from_schema("lookup", definition, lambda args: args["key"])
    assert tool.definition() == definition
    with pytest.raises(InvalidArgumentsError, match="missing key"):
        tool.bind("{}")


def test_registering_tools() -> None:
    tools = Tools(tool_choice="required")

    @tools.function
    def first(x: int) -> int:
        """First."""
        return x

    @tools.function(name="second_tool", description="Second.", timeout=5, needs_approval=True)
    async def second() -> None: ...

    tools.add("third", {"type": "object", "properties": {}}, lambda args: None)
    assert first(2) == 2  # the decorator returns the function unchanged
    assert [t.name for t in tools] == ["first", "second_tool", "third"]
    assert tools["second_tool"].timeout == 5
    assert tools["second_tool"].needs_approval
    # The session says its protocol and own fields; unattached and bare, Realtime's.
    assert tools.session_config() == tools.session_config(protocol="realtime", config={})
    live = tools.session_config(
        protocol="live", config={"delegation": {"responses": {"model": "gpt-5.2"}}}
    )
    assert live["delegation"]["type"] == "responses"
    assert [t["name"] for t in live["delegation"]["responses"]["tools"]] == [
        "first",
        "second_tool",
        "third",
    ]
    Session(url="ws://127.0.0.1:9/v1/realtime").use(tools)
    config = tools.session_config()
    assert config["tool_choice"] == "required"
    assert [t["name"] for t in config["tools"]] == ["first", "second_tool", "third"]
    assert config["tools"][1]["description"] == "Second."
    with pytest.raises(ValueError, match="already registered"):
        tools.add(first)
    tools.remove("third")
    assert "third" not in tools
    assert len(Tools([first, tools["second_tool"]])) == 2


@dataclasses.dataclass
class Booking:
    ref: str
    when: datetime.date


def test_results_become_strings_for_the_model() -> None:
    assert result_output("plain text") == "plain text"
    assert json.loads(result_output({"a": [1, 2]})) == {"a": [1, 2]}
    assert json.loads(result_output(Location(lat=1, lon=2))) == {"lat": 1.0, "lon": 2.0}
    assert json.loads(result_output(Booking("X1", datetime.date(2025, 5, 1)))) == {
        "ref": "X1",
        "when": "2025-05-01",
    }
    assert result_output(None) == "null"
    assert result_output(Unit.CELSIUS) == '"c"'
    assert result_output(3.5) == "3.5"
    assert json.loads(result_output(object()))  # anything else falls back to str()


def test_errors_become_json_for_the_model() -> None:
    call = ToolCall("call_1", "get_weather", "{}")
    assert json.loads(error_output(call, ToolError("no such city"))) == {"error": "no such city"}
    assert json.loads(error_output(call, ValueError("boom"))) == {
        "error": "get_weather failed: ValueError: boom"
    }


def test_the_plugin_is_installed_under_its_name() -> None:
    session = Session(url="ws://127.0.0.1:9/v1/realtime", plugins=["tools"])
    assert isinstance(session.plugins["tools"], Tools)
    assert session.session_config()["tools"] == []
