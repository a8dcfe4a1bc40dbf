"""Models that answer in the local server: the model protocol and two ready-made models.

The engine asks its model for a :data:`Reply` whenever a response is
created. A reply is a sequence of parts: :class:`Say` (an assistant message,
spoken or written depending on the response's output modality),
:class:`Call` (a function call; several calls in one reply are parallel calls)
and :class:`McpCall` (a call of a tool on an MCP server, which the server runs).

On a multi-message model (``gpt-realtime-2`` and its versions, see
:func:`is_multi_message`) the ready-made models speak a short preamble
message first ("Let me think."), as those models do.

The MCP servers are fake: :class:`McpTool` is one tool of a server and what
it answers, a small table a test writes with :meth:`ScriptedModel.mcp_tool`;
no MCP server is ever contacted.

:class:`ScriptedModel` is the declarative model for tests::

    model = (
        ScriptedModel()
        .when("weather").call("get_weather", city="Paris")
        .when(tool_output="get_weather").say("It is {temp_c} degrees in {city}.")
        .when("hello").say("Hi there!")
        .otherwise("I heard: {text}")
    )
    model.hears("tests/audio/hello_there.wav", "hello there")

:class:`DemoModel` gives canned but sensible answers for demos.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import wave
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, Self, TypeAlias

__all__ = [
    "DEFAULT_PREAMBLE",
    "Call",
    "DemoModel",
    "McpCall",
    "McpTool",
    "Model",
    "Part",
    "Reply",
    "ReplyContext",
    "Say",
    "ScriptedModel",
    "ToolOutput",
    "is_multi_message",
    "placeholder_transcript",
    "with_preamble",
]


@dataclass(frozen=True, slots=True)
class Say:
    """An assistant message: audio with this transcript, or this text, per the modality."""

    text: str


class _Arguments:
    """A call's arguments, which the protocol carries as a JSON string."""

    __slots__ = ()
    arguments: Mapping[str, Any] | str

    def arguments_json(self) -> str:
        """The arguments as the JSON string the protocol carries."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Call(_Arguments):
    """A function call the model makes, with its arguments (a mapping or a JSON string)."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class McpCall(_Arguments):
    """A call of ``name`` on the MCP server ``server_label``, run by the server, not the client."""

    server_label: str
    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class McpTool:
    """One tool of a fake MCP server, and what a call of it gives.

    ``result`` is the output: a string, or a function of the call's arguments
    returning one. ``error``, when set, makes every call fail with a
    ``tool_execution_error`` of that message.
    """

    name: str
    description: str | None = None
    input_schema: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    result: str | Callable[[Mapping[str, Any]], str] = ""
    error: str | None = None

    def listing(self) -> dict[str, Any]:
        """The tool as ``mcp_list_tools`` lists it."""
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": dict(self.input_schema),
            "annotations": None,
        }


Part: TypeAlias = Say | Call | McpCall
#: What a model answers: the parts of one response, in order.
Reply: TypeAlias = Sequence[Part]


@dataclass(frozen=True, slots=True)
class ToolOutput:
    """A ``function_call_output`` (or an MCP call's output) given since the model last spoke."""

    call_id: str
    name: str | None
    output: str

    @property
    def value(self) -> Any:
        """The output parsed as JSON, or the raw string when it is not JSON."""
        try:
            return json.loads(self.output)
        except ValueError:
            return self.output


@dataclass(frozen=True, slots=True)
class ReplyContext:
    """Everything a model may look at to answer.

    ``items`` are the conversation items so far in the GA shape whatever the
    dialect, without audio bytes; user audio carries what the model heard as
    its ``transcript``. ``user_text`` is the latest user message's text (or
    what was heard of its audio). ``tool_outputs`` are the function outputs
    given since the last message, i.e. what the model is being asked to use.
    """

    items: tuple[Mapping[str, Any], ...] = ()
    session: Mapping[str, Any] = field(default_factory=dict)
    tools: tuple[Mapping[str, Any], ...] = ()
    user_text: str | None = None
    tool_outputs: tuple[ToolOutput, ...] = ()
    instructions: str = ""
    output_modalities: tuple[str, ...] = ("audio",)
    tool_choice: Any = "auto"
    model: str = "gpt-realtime"
    reasoning_effort: str | None = None

    @property
    def multi_message(self) -> bool:
        """True for models that answer in several messages, a spoken preamble first."""
        return is_multi_message(self.model)

    @property
    def tool_names(self) -> frozenset[str]:
        """Names of the function tools available to this response."""
        return frozenset(str(t["name"]) for t in self.tools if t.get("name"))

    def has_tool(self, name: str) -> bool:
        """True when a function tool called ``name`` is configured."""
        return name in self.tool_names


#: The reasoning models (``gpt-realtime-2`` and its versions) speak a preamble before answering.
_MULTI_MESSAGE_MODELS = re.compile(r"gpt-realtime-2(\.\d+)?(-mini)?")
#: The preamble the ready-made models speak first on those models.
DEFAULT_PREAMBLE = "Let me think."


def is_multi_message(model: str) -> bool:
    """True when ``model`` answers in several messages: ``gpt-realtime-2`` and its versions."""
    return _MULTI_MESSAGE_MODELS.fullmatch(model) is not None


def with_preamble(reply: Reply, context: ReplyContext, preamble: str | None) -> list[Part]:
    """``reply`` with ``preamble`` spoken first on a multi-message model, for a user turn.

    An answer to tool outputs has none: the model already spoke before calling.
    """
    parts = list(reply)
    if preamble and parts and context.multi_message and not context.tool_outputs:
        return [Say(preamble), *parts]
    return parts


class Model(Protocol):
    """What the engine needs from a model."""

    def reply(self, context: ReplyContext) -> Reply:
        """Answer the conversation in ``context``."""
        ...

    def transcribe(self, pcm: bytes, sample_rate: int) -> str | None:
        """Say what committed pcm16 input audio contains; ``None`` when nothing was heard."""
        ...


def placeholder_transcript(pcm: bytes, sample_rate: int) -> str:
    """A stand-in transcript for audio nobody registered, e.g. ``"(1.4 s of speech)"``."""
    seconds = len(pcm) / 2 / sample_rate
    return f"({seconds:.1f} s of speech)"


# --------------------------------------------------------------------- scripts


class _Defaults(dict[str, Any]):
    """Template values where a missing name renders as itself, so typos stay visible."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _render(template: str, values: Mapping[str, Any]) -> str:
    try:
        return template.format_map(_Defaults(values))
    except (IndexError, KeyError, AttributeError, ValueError):
        return template


@dataclass(slots=True)
class _Rule:
    keywords: tuple[str | re.Pattern[str], ...] = ()
    tool_output: str | bool | None = None
    predicate: Callable[[ReplyContext], bool] | None = None
    parts: list[Part] = field(default_factory=list)
    once: bool = False
    used: bool = False
    fallback: bool = False

    def match(self, context: ReplyContext) -> dict[str, Any] | None:
        """Template values if this rule answers ``context``, else ``None``."""
        if self.once and self.used:
            return None
        values: dict[str, Any] = {"text": context.user_text or ""}
        if context.tool_outputs:
            values.update(_output_values(context.tool_outputs[-1]))
        if self.fallback:
            return values
        if self.tool_output is None:
            if context.tool_outputs:  # a tool round: only tool_output rules answer it
                return None
        else:
            fresh = self._matching_output(context)
            if fresh is None:
                return None
            values.update(_output_values(fresh))
        if self.keywords:
            found = _find_keyword(self.keywords, context.user_text or "")
            if found is None:
                return None
            values.update(found)
        if self.predicate is not None and not self.predicate(context):
            return None
        return values

    def _matching_output(self, context: ReplyContext) -> ToolOutput | None:
        for output in context.tool_outputs:
            if self.tool_output is True or self.tool_output == output.name:
                return output
        return None

    def reply(self, values: Mapping[str, Any]) -> list[Part]:
        self.used = True
        parts: list[Part] = []
        for part in self.parts:
            if isinstance(part, Say):
                parts.append(Say(_render(part.text, values)))
                continue
            arguments: Mapping[str, Any] | str
            if isinstance(part.arguments, str):
                arguments = _render(part.arguments, values)
            else:
                arguments = {
                    k: _render(v, values) if isinstance(v, str) else v
                    for k, v in part.arguments.items()
                }
            if isinstance(part, McpCall):
                parts.append(McpCall(part.server_label, part.name, arguments))
            else:
                parts.append(Call(part.name, arguments))
        return parts


def _output_values(output: ToolOutput) -> dict[str, Any]:
    value = output.value
    values: dict[str, Any] = {"output": output.output}
    if isinstance(value, dict):
        values.update({str(k): v for k, v in value.items()})
    return values


def _find_keyword(keywords: Iterable[str | re.Pattern[str]], text: str) -> dict[str, Any] | None:
    for keyword in keywords:
        if isinstance(keyword, re.Pattern):
            match = keyword.search(text)
            if match is not None:
                return {k: v for k, v in match.groupdict().items() if v is not None}
        elif keyword.casefold() in text.casefold():
            return {}
    return None


class ScriptedModel:
    """A declarative model for tests: keyword rules, tool-output rules and a fallback.

    Rules are tried in the order they were written. ``when(...)`` opens a rule;
    ``say(...)`` and ``call(...)`` add parts to the rule last opened (several
    calls in one rule are parallel calls). A rule with keywords answers a user
    turn whose latest text contains one of them (case-insensitive substring,
    or ``re.Pattern`` search whose named groups become template values). A rule
    with ``tool_output=`` answers when outputs of that function were just
    given, and only then; other rules answer user turns only, so a rule that
    calls a tool is not re-triggered by the tool's own output.

    Text and string arguments are templates: ``{text}`` is the latest user
    text, ``{output}`` the raw tool output, and the fields of a JSON-object
    tool output and of named regex groups are available by name. Unknown
    names are left as they are.

    :meth:`hears` tells :meth:`transcribe` what a recording says: the engine
    matches committed input audio against it by its loudness contour, so the
    VAD's padding and chunking don't matter. Every context the model was
    asked about is kept in :attr:`contexts` for assertions.
    """

    def __init__(self, *, preamble: str | None = DEFAULT_PREAMBLE) -> None:
        self.preamble = preamble
        #: The fake MCP servers: their tools by server label (see :meth:`mcp_tool`).
        self.mcp_servers: dict[str, list[McpTool]] = {}
        self._rules: list[_Rule] = []
        self._fallback = _Rule(parts=[Say("I heard: {text}")], fallback=True)
        self._current: _Rule | None = None
        self._recordings: list[tuple[_Fingerprint, str]] = []
        self._queued: deque[str] = deque()
        self.contexts: list[ReplyContext] = []

    def when(
        self,
        *keywords: str | re.Pattern[str],
        tool_output: str | bool | None = None,
        predicate: Callable[[ReplyContext], bool] | None = None,
    ) -> Self:
        """Open a rule: keywords (any of them), a tool whose output was given, a predicate."""
        self._current = _Rule(keywords=keywords, tool_output=tool_output, predicate=predicate)
        self._rules.append(self._current)
        return self

    def say(self, text: str) -> Self:
        """Add an assistant message to the open rule."""
        self._rule("say").parts.append(Say(text))
        return self

    def call(
        self, name: str, arguments: Mapping[str, Any] | str | None = None, /, **kw: Any
    ) -> Self:
        """Add a function call to the open rule: ``call("f", city="Paris")``, or a mapping."""
        if arguments is not None and kw:
            raise TypeError("pass the arguments as a mapping or as keywords, not both")
        self._rule("call").parts.append(Call(name, arguments if arguments is not None else kw))
        return self

    def call_mcp(
        self,
        server_label: str,
        name: str,
        arguments: Mapping[str, Any] | str | None = None,
        /,
        **kw: Any,
    ) -> Self:
        """Add a call of an MCP tool to the open rule: ``call_mcp("docs", "search", q="x")``."""
        if arguments is not None and kw:
            raise TypeError("pass the arguments as a mapping or as keywords, not both")
        part = McpCall(server_label, name, arguments if arguments is not None else kw)
        self._rule("call_mcp").parts.append(part)
        return self

    def mcp_tool(
        self,
        server_label: str,
        name: str,
        *,
        result: str | Callable[[Mapping[str, Any]], str] = "",
        error: str | None = None,
        description: str | None = None,
        input_schema: Mapping[str, Any] | None = None,
    ) -> Self:
        """Give the fake MCP server ``server_label`` a tool ``name`` answering ``result``.

        A server the session configures but that has no tool here fails to
        list its tools (``mcp_list_tools.failed``), as an unreachable one would.
        """
        schema = input_schema or {"type": "object", "properties": {}}
        tool = McpTool(name, description, schema, result, error)
        self.mcp_servers.setdefault(server_label, []).append(tool)
        return self

    def once(self) -> Self:
        """Make the open rule answer only the first time it matches."""
        self._rule("once").once = True
        return self

    def otherwise(self, text: str | None = None) -> Self:
        """Set the fallback reply (default ``"I heard: {text}"``); chain say/call to extend it."""
        self._fallback = _Rule(parts=[Say(text)] if text is not None else [], fallback=True)
        self._current = self._fallback
        return self

    def hears(
        self, audio: bytes | str | os.PathLike[str], text: str, *, sample_rate: int = 24000
    ) -> Self:
        """Register what a recording says: pcm16 mono bytes at ``sample_rate``, or a WAV path."""
        if isinstance(audio, bytes):
            pcm, rate = audio, sample_rate
        else:
            pcm, rate = _read_wav(os.fspath(audio))
        self._recordings.append((_Fingerprint.of(pcm, rate), text))
        return self

    def hears_next(self, *texts: str) -> Self:
        """Queue transcripts for the next audio that matches no registered recording."""
        self._queued.extend(texts)
        return self

    def reply(self, context: ReplyContext) -> Reply:
        """Answer with the first rule that matches, else with the fallback.

        On a multi-message model a user turn's answer starts with the preamble.
        """
        self.contexts.append(context)
        for rule in (*self._rules, self._fallback):
            values = rule.match(context)
            if values is not None:
                return with_preamble(rule.reply(values), context, self.preamble)
        return []

    def transcribe(self, pcm: bytes, sample_rate: int) -> str | None:
        """A registered recording's text, else a queued transcript, else a placeholder."""
        if self._recordings:
            probe = _Fingerprint.of(pcm, sample_rate)
            scored = [(probe.similarity(known), text) for known, text in self._recordings]
            score, text = max(scored, key=lambda pair: pair[0])
            if score >= _MATCH_SCORE:
                return text
        if self._queued:
            return self._queued.popleft()
        return placeholder_transcript(pcm, sample_rate)

    def _rule(self, method: str) -> _Rule:
        if self._current is None:
            raise ValueError(f"{method}() needs a when() or otherwise() before it")
        return self._current


# ------------------------------------------------------------------ recordings

_ENVELOPE_MS = 20
_MATCH_SCORE = 0.8


@dataclass(frozen=True, slots=True)
class _Fingerprint:
    """The loudness contour of the speech in a recording, trimmed of silence."""

    envelope: tuple[float, ...]

    @classmethod
    def of(cls, pcm: bytes, sample_rate: int) -> _Fingerprint:
        samples = array("h", pcm[: len(pcm) - len(pcm) % 2])
        if sys.byteorder == "big":
            samples.byteswap()
        step = max(1, sample_rate * _ENVELOPE_MS // 1000)
        frames = [
            math.sqrt(sum(s * s for s in samples[i : i + step]) / step)
            for i in range(0, len(samples) - step + 1, step)
        ]
        loud = max(frames, default=0.0)
        voiced = [i for i, v in enumerate(frames) if loud > 100 and v >= 0.1 * loud]
        if not voiced:
            return cls(())
        return cls(tuple(v / loud for v in frames[voiced[0] : voiced[-1] + 1]))

    def similarity(self, other: _Fingerprint) -> float:
        """1.0 for the same speech; lower as durations or contours differ."""
        a, b = self.envelope, other.envelope
        if len(a) < 3 or len(b) < 3:
            return 0.0
        ratio = min(len(a), len(b)) / max(len(a), len(b))
        if ratio < 0.8:
            return 0.0
        n = min(len(a), len(b))
        return ratio * _correlation(_stretch(a, n), _stretch(b, n))


def _stretch(values: Sequence[float], n: int) -> list[float]:
    if len(values) == n:
        return list(values)
    scale = (len(values) - 1) / max(1, n - 1)
    return [values[min(len(values) - 1, round(i * scale))] for i in range(n)]


def _correlation(a: Sequence[float], b: Sequence[float]) -> float:
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True))
    var_a = sum((x - mean_a) ** 2 for x in a)
    var_b = sum((y - mean_b) ** 2 for y in b)
    if var_a == 0 or var_b == 0:
        return 0.0
    return cov / math.sqrt(var_a * var_b)


def _read_wav(path: str) -> tuple[bytes, int]:
    with wave.open(path, "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise ValueError(f"{path}: expected 16-bit mono PCM")
        return wav.readframes(wav.getnframes()), wav.getframerate()


# ------------------------------------------------------------------------ demo

_WEATHER = re.compile(r"\bweather\b(?:.*?\bin\s+(?P<city>[A-Za-z][\w' -]*?))?\s*[?.!]*$", re.I)
_GREETING = re.compile(r"\b(hello|hi|hey|good (morning|afternoon|evening))\b", re.I)
_TIME = re.compile(r"\bwhat(?:'s| is)? the time\b|\bwhat time\b|\btime is it\b", re.I)
_THANKS = re.compile(r"\b(thanks|thank you|bye|goodbye|that's all)\b", re.I)


class DemoModel:
    """Canned but sensible answers for demos: greetings, weather, the time, polite echoes.

    Weather questions call a ``get_weather`` function when the session has
    one (with ``{"city": ...}``) and read its output back; without the tool
    the model says it has none. ``clock`` gives the time it tells.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        preamble: str | None = DEFAULT_PREAMBLE,
    ) -> None:
        self._clock = clock or datetime.now
        self.preamble = preamble

    def reply(self, context: ReplyContext) -> Reply:
        """Answer the latest user turn (after a preamble on multi-message models)."""
        return with_preamble(self._answer(context), context, self.preamble)

    def _answer(self, context: ReplyContext) -> Reply:
        """Answer the latest user turn, or read back the tool outputs just given."""
        if context.tool_outputs:
            return [Say(" ".join(_describe_output(o) for o in context.tool_outputs))]
        text = (context.user_text or "").strip()
        weather = _WEATHER.search(text)
        if weather is not None:
            city = (weather.group("city") or "").strip() or "your city"
            if context.has_tool("get_weather"):
                return [Call("get_weather", {"city": city})]
            return [Say(f"I'd love to tell you about the weather in {city}, "
                        "but I don't have a weather tool in this session.")]  # fmt: skip
        if _TIME.search(text):
            return [Say(f"It's {self._clock().strftime('%H:%M')}.")]
        if _THANKS.search(text):
            return [Say("You're welcome! Talk to you soon.")]
        if _GREETING.search(text):
            return [Say("Hello! I'm the local demo model. "
                        "Ask me about the weather or the time.")]  # fmt: skip
        if not text:
            return [Say("Hello! How can I help you today?")]
        return [Say(f"You said: \"{text}\". I'm a demo model, so that's all I can do with it.")]

    def transcribe(self, pcm: bytes, sample_rate: int) -> str | None:
        """There is no speech recognition here: a placeholder with the audio's duration."""
        return placeholder_transcript(pcm, sample_rate)


def _describe_output(output: ToolOutput) -> str:
    value = output.value
    if output.name == "get_weather" and isinstance(value, dict):
        city = value.get("city", "there")
        temp = next((value[k] for k in ("temp_c", "temperature", "temp") if k in value), None)
        conditions = value.get("conditions") or value.get("condition")
        sentence = f"In {city} it is {temp} degrees" if temp is not None else f"I checked {city}"
        return sentence + (f" and {conditions}." if conditions else ".")
    return f"The {output.name or 'tool'} result is: {output.output}"
