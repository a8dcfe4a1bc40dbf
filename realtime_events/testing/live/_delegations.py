"""Delegated work: client delegations, the Responses backend's stream, and Decisions.

When the Live model delegates (the model's reply holds a
:class:`~realtime_events.testing.models.Call`), the session's delegation type
decides what the client sees:

- ``client``: ``session.delegation.created`` per call, metadata only (no task
  text, as on the real server); the client answers with
  ``session.commentary.append`` (spoken) or ``session.thinking.append``
  (silent) naming the delegation;
- ``responses``: one delegation whose backend response calls the function
  tools, streamed as ``response.event`` envelopes; the client gives the
  outputs with ``response.item.create`` and continues with ``response.create``,
  and the backend's text answer streams, then is spoken;
- ``decisions``: the configured questions answered in a ``decision.event``,
  whose answers the model then reads out.

Decisions also run on ``decision.create`` and on transcript triggers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..engine._constants import ARGUMENTS_CHUNK, JSON
from ..engine._errors import ClientError, get_object, get_str, missing, require_str, wrong_type
from ..engine._items import tokens
from ..models import Call, Model, ReplyContext, ToolOutput
from ._config import LiveConfig
from ._errors import requires_decisions, requires_responses, unknown_delegation
from ._runs import BackendAnswer, Delegate, Segment, Speak, segments, words_of


class DelegationHost(Protocol):
    """What delegations use of the engine."""

    @property
    def config(self) -> LiveConfig:
        """The session's configuration: the delegation and its backend."""
        ...

    @property
    def model(self) -> Model:
        """The model, which also plays the backends."""
        ...

    @property
    def new_id(self) -> Callable[[str], str]:
        """The engine's id factory."""
        ...

    def event(self, kind: str, **fields: Any) -> JSON:
        """A server event with a new ``event_id``."""
        ...

    def now_ms(self) -> int:
        """The session timeline's present."""
        ...

    def wall_seconds(self) -> int:
        """The Unix time, for ``created_at``."""
        ...

    def reply_context(self, tool_outputs: Sequence[ToolOutput] = ()) -> ReplyContext:
        """What the model sees now, with ``tool_outputs`` just given."""
        ...


@dataclass(slots=True)
class Delegation:
    """One delegation: its target, the calls it carries, and the outputs given for them."""

    id: str
    target: str
    calls: tuple[Call, ...]
    call_ids: list[str] = field(default_factory=list)  # the backend's function call ids
    outputs: dict[str, str] = field(default_factory=dict)  # call id -> output given
    answered: bool = False


class Delegations:
    """Every delegation of a session, its backends, and the Decision items."""

    def __init__(self, host: DelegationHost) -> None:
        self._host = host
        self._delegations: dict[str, Delegation] = {}
        self._by_call: dict[str, Delegation] = {}
        self._ack_due = False
        self._follow_up: list[Segment] = []
        self._decision_items: dict[str, JSON] = {}
        self._decision_event_ids: set[str] = set()

    # ------------------------------------------------------------- the run's side

    def delegate(self, delegate: Delegate) -> list[JSON]:
        """``session.delegation.created`` (unless a round continues), then the backend's stream."""
        target = self._host.config.delegation_type
        if target == "client":
            events = []
            for call in delegate.calls:
                delegation = self._new(target, (call,))
                events.append(self._created(delegation))
            self._ack_due = True
            return events
        if delegate.delegation_id is not None:
            delegation = self._delegations[delegate.delegation_id]
            delegation.calls, delegation.answered = delegate.calls, False
            events = []
        else:
            delegation = self._new(target, delegate.calls)
            events = [self._created(delegation)]
            self._ack_due = True
        if target == "responses":
            return events + self._function_calls(delegation, delegate.client_event_id)
        return events + self._decide(delegation)

    def acknowledgement_due(self) -> bool:
        """True until context appended since the last delegation cancelled its acknowledgement."""
        return self._ack_due

    def context_appended(self) -> None:
        """Commentary or thinking arrived: pending acknowledgements are cancelled."""
        self._ack_due = False

    def take_follow_up(self) -> list[Segment]:
        """What the model says next in the run (a decision read out), once."""
        follow_up, self._follow_up = self._follow_up, []
        return follow_up

    def _new(self, target: str, calls: tuple[Call, ...]) -> Delegation:
        delegation = Delegation(self._host.new_id("item"), target, calls)
        self._delegations[delegation.id] = delegation
        return delegation

    def _created(self, delegation: Delegation) -> JSON:
        body: JSON = {"id": delegation.id, "type": "delegation", "target": delegation.target}
        return self._host.event(
            "session.delegation.created", delegation=body, offset_ms=self._host.now_ms()
        )

    # ------------------------------------------------------------- client answers

    def client_delegation(self, delegation_id: str | None) -> Delegation | None:
        """The client delegation an append names (None for general context)."""
        if delegation_id is None:
            return None
        if self._host.config.delegation_type == "responses":
            raise ClientError(
                "Non-null delegation IDs are not accepted with Responses delegation.",
                "invalid_value",
                "delegation_id",
            )
        delegation = self._delegations.get(delegation_id)
        if delegation is None or delegation.target != "client":
            raise unknown_delegation(delegation_id)
        return delegation

    # --------------------------------------------------------- Responses backend

    def item_create(self, event: Mapping[str, Any]) -> list[JSON]:
        """``response.item.create``: an input item for the backend, a tool's output mostly."""
        if self._host.config.delegation_type != "responses":
            raise requires_responses("response.item.create")
        if event.get("item") is None:
            raise missing("item")
        item = get_object(event["item"], "item")
        kind = get_str(item, "type", "item.type")
        if kind == "function_call_output":
            call_id = require_str(item, "call_id", "item.call_id")
            output = item.get("output")
            if output is None:
                raise missing("item.output")
            if not isinstance(output, str | list):
                raise wrong_type("item.output", "a string or an array", output)
            delegation = self._by_call.get(call_id)
            if delegation is None:
                raise ClientError(
                    f"No tool call found for function call output with call_id {call_id}.",
                    "invalid_value",
                    "item.call_id",
                )
            text = output if isinstance(output, str) else json.dumps(output)
            delegation.outputs[call_id] = text
        elif kind is None and item.get("role") is None:
            raise missing("item.type")
        return []

    def response_create(self, client_event_id: str | None) -> list[Segment]:
        """``response.create``: continue the delegation given tool outputs, or start afresh."""
        if self._host.config.delegation_type != "responses":
            raise requires_responses("response.create")
        waiting = [
            d for d in self._delegations.values() if d.outputs and not d.answered and d.call_ids
        ]
        if waiting:
            delegation = waiting[-1]
            delegation.answered = True
            outputs = [
                ToolOutput(call_id, call.name, delegation.outputs.get(call_id, ""))
                for call_id, call in zip(delegation.call_ids, delegation.calls, strict=False)
                if call_id in delegation.outputs
            ]
            context = self._host.reply_context(outputs)
            delegation_id: str | None = delegation.id
        else:
            context = self._host.reply_context()
            delegation_id = None
        parts = list(self._host.model.reply(context))
        calls = tuple(p for p in parts if isinstance(p, Call))
        if calls:
            return [Delegate(calls, False, delegation_id, client_event_id)]
        text = " ".join(s.text for s in segments(parts) if isinstance(s, Speak))
        if delegation_id is None:
            fresh = self._new("responses", ())
            return [BackendAnswer(fresh.id, text, client_event_id, announce=True)]
        return [BackendAnswer(delegation_id, text, client_event_id)]

    def backend_answer(self, answer: BackendAnswer) -> list[JSON]:
        """The backend's text answer as ``response.event`` envelopes, before it is spoken."""
        stream = _ResponseStream(self._host, answer.delegation_id, answer.client_event_id)
        item_id = self._host.new_id("msg")
        item: JSON = {
            "id": item_id,
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        where = {"item_id": item_id, "output_index": 0, "content_index": 0}
        part: JSON = {"type": "output_text", "text": "", "annotations": []}
        events = [self._created(self._delegations[answer.delegation_id])] if answer.announce else []
        events += stream.opening()
        events.append(stream.nested("response.output_item.added", output_index=0, item=item))
        events.append(stream.nested("response.content_part.added", **where, part=part))
        for delta in words_of(answer.text):
            events.append(
                stream.nested("response.output_text.delta", **where, delta=delta, logprobs=[])
            )
        text = answer.text
        events.append(stream.nested("response.output_text.done", **where, text=text, logprobs=[]))
        done_part = {**part, "text": text}
        events.append(stream.nested("response.content_part.done", **where, part=done_part))
        content = [done_part]
        item = {**item, "status": "completed", "content": content}
        events.append(stream.nested("response.output_item.done", output_index=0, item=item))
        events.append(stream.completed(tokens(text)))
        return events

    def _function_calls(self, delegation: Delegation, client_event_id: str | None) -> list[JSON]:
        """A backend response calling the delegation's function tools, then waiting for outputs."""
        stream = _ResponseStream(self._host, delegation.id, client_event_id)
        events = stream.opening()
        delegation.call_ids = []
        delegation.outputs = {}
        out = 0
        for index, call in enumerate(delegation.calls):
            call_id = self._host.new_id("call")
            delegation.call_ids.append(call_id)
            self._by_call[call_id] = delegation
            arguments = call.arguments_json()
            item: JSON = {
                "id": self._host.new_id("fc"),
                "type": "function_call",
                "call_id": call_id,
                "name": call.name,
                "arguments": "",
                "status": "in_progress",
            }
            where = {"item_id": item["id"], "output_index": index}
            events.append(
                stream.nested("response.output_item.added", output_index=index, item=item)
            )
            for start in range(0, len(arguments), ARGUMENTS_CHUNK):
                delta = arguments[start : start + ARGUMENTS_CHUNK]
                events.append(
                    stream.nested("response.function_call_arguments.delta", **where, delta=delta)
                )
            events.append(
                stream.nested(
                    "response.function_call_arguments.done",
                    **where,
                    name=call.name,
                    arguments=arguments,
                )
            )
            done = {**item, "arguments": arguments, "status": "completed"}
            events.append(stream.nested("response.output_item.done", output_index=index, item=done))
            out += tokens(arguments)
        events.append(stream.completed(out))
        return events

    # ------------------------------------------------------------------ Decisions

    def _questions(self, kind: str) -> list[JSON]:
        config = self._host.config
        if config.delegation_type == "decisions":
            return config.questions
        questions = [q for t in config.triggers for q in t["decisions"]["questions"]]
        if not questions:
            raise requires_decisions(kind)
        return questions

    def _decide(self, delegation: Delegation) -> list[JSON]:
        """The Decisions delegation's answers; the model reads them out next."""
        decision = self._decision(self._host.config.questions)
        event = self._host.event(
            "decision.event",
            delegation_id=delegation.id,
            event={"type": "decision.completed", "decision": decision},
            source_event_id=None,
            source_event_type=None,
            trigger_id=None,
        )
        name = delegation.calls[0].name if delegation.calls else None
        output = ToolOutput(delegation.id, name, json.dumps({"answers": decision["answers"]}))
        parts = self._host.model.reply(self._host.reply_context([output]))
        self._follow_up = segments([p for p in parts if not isinstance(p, Call)])
        return [event]

    def decision_create(self, event: Mapping[str, Any]) -> list[JSON]:
        """``decision.create``: evaluate the configured questions now."""
        questions = self._questions("decision.create")
        event_id = get_str(event, "event_id", "event_id")
        if event_id is None:
            raise missing("event_id")
        if event_id in self._decision_event_ids:
            raise ClientError(
                f"Reusing an event_id is rejected for decision.create: '{event_id}'.",
                "duplicate_event_id",
                "event_id",
            )
        self._decision_event_ids.add(event_id)
        return [
            self._decided(
                questions,
                source_event_id=None,
                source_event_type=None,
                trigger_id=None,
                client_event_id=event_id,
            )
        ]

    def triggered(self, event_type: str, source_event_id: str) -> list[JSON]:
        """The ``decision.event`` a transcript trigger fires on a turn's last delta."""
        trigger = self._host.config.trigger(event_type)
        if trigger is None:
            return []
        return [
            self._decided(
                trigger["decisions"]["questions"],
                source_event_id=source_event_id,
                source_event_type=event_type,
                trigger_id=self._host.new_id("trig"),
            )
        ]

    def item_created(self, event: Mapping[str, Any]) -> list[JSON]:
        """``decision.item.create``: an input for future decisions, stored with an id."""
        self._questions("decision.item.create")
        if event.get("item") is None:
            raise missing("item")
        item = dict(get_object(event["item"], "item"))
        if item.get("type") is None and item.get("role") is None:
            raise missing("item.type")
        item.setdefault("id", self._host.new_id("item"))
        if not isinstance(item["id"], str):
            raise wrong_type("item.id", "a string", item["id"])
        self._decision_items[item["id"]] = item
        return [_echo(self._host.event("decision.item.created", item=item), event)]

    def item_deleted(self, event: Mapping[str, Any]) -> list[JSON]:
        """``decision.item.delete``: drop an input from future decisions."""
        self._questions("decision.item.delete")
        item_id = require_str(event, "item_id", "item_id")
        if self._decision_items.pop(item_id, None) is None:
            raise ClientError(
                f"Decision item with id '{item_id}' not found.", "item_not_found", "item_id"
            )
        return [_echo(self._host.event("decision.item.deleted", item_id=item_id), event)]

    def _decided(self, questions: Sequence[Mapping[str, Any]], **source: Any) -> JSON:
        """The ``decision.event`` completing a decision on ``questions``; ``source`` says why."""
        completed = {"type": "decision.completed", "decision": self._decision(questions)}
        return self._host.event("decision.event", delegation_id=None, event=completed, **source)

    def _decision(self, questions: Sequence[Mapping[str, Any]]) -> JSON:
        """A Decision API response: the model's answers if it gives them, else plain ones."""
        decide = getattr(self._host.model, "decide", None)
        context = self._host.reply_context()
        answers = []
        for question in questions:
            given = decide(question, context) if callable(decide) else None
            answers.append(dict(given) if given is not None else default_answer(question))
        inputs = sum(tokens(json.dumps(q)) for q in questions) + 16 * len(self._decision_items)
        usage = {
            "input_tokens": inputs,
            "input_tokens_details": {"cache_write_tokens": 0, "cached_tokens": 0},
            "output_tokens": len(answers),
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": inputs + len(answers),
        }
        model = self._host.config.delegation.get("decisions", {}).get("model", "gpt-5.4-mini")
        return {"answers": answers, "model": model, "usage": usage}


def _echo(ack: JSON, command: Mapping[str, Any]) -> JSON:
    """``ack`` naming the command it answers, when the command had an ``event_id``."""
    if isinstance(command.get("event_id"), str):
        ack["client_event_id"] = command["event_id"]
    return ack


def default_answer(question: Mapping[str, Any]) -> JSON:
    """An answer to ``question`` when the model has none: even odds, the first option."""
    name = question.get("name")
    kind = question.get("type")
    if kind == "choice":
        values = [c.get("value") for c in question.get("choices", [])]
        probabilities = [{"value": v, "probability": 1.0 if i == 0 else 0.0}
                         for i, v in enumerate(values)]  # fmt: skip
        return {"type": "choice", "name": name, "choice": values[0], "confidence": 1.0,
                "probabilities": probabilities}  # fmt: skip
    if kind == "score":
        labels = [str(level.get("label")) for level in question.get("levels", [])]
        probabilities = [{"label": label, "value": i, "probability": 1.0 if i == 0 else 0.0}
                         for i, label in enumerate(labels)]  # fmt: skip
        return {"type": "score", "name": name, "score": 0.0, "confidence": 1.0,
                "probabilities": probabilities}  # fmt: skip
    return {"type": "predicate", "name": name, "probability": 0.5}


class _ResponseStream:
    """One backend response's events, numbered, each in a ``response.event`` envelope."""

    def __init__(self, host: DelegationHost, delegation_id: str, client_event_id: str | None):
        self._host = host
        self._delegation_id = delegation_id
        self._client_event_id = client_event_id
        self._sequence = 0
        self.response_id = host.new_id("resp")
        self._created_at = host.wall_seconds()

    def nested(self, kind: str, **fields: Any) -> JSON:
        """The envelope of one Responses streaming event."""
        inner: JSON = {"type": kind, **fields, "sequence_number": self._sequence}
        self._sequence += 1
        envelope = self._host.event(
            "response.event", event=inner, delegation_id=self._delegation_id
        )
        if self._client_event_id is not None:
            envelope["client_event_id"] = self._client_event_id
        return envelope

    def snapshot(self, status: str, output_tokens: int = 0) -> JSON:
        """The response object; the Live server clears its input, instructions, tools, output."""
        backend = self._host.config.delegation.get("responses", {})
        usage = None
        if status == "completed":
            inputs = 64
            usage = {
                "input_tokens": inputs,
                "input_tokens_details": {"cache_write_tokens": 0, "cached_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": inputs + output_tokens,
            }
        return {
            "id": self.response_id,
            "object": "response",
            "created_at": self._created_at,
            "status": status,
            "model": backend.get("model", ""),
            "output": [],
            "instructions": None,
            "tools": [],
            "tool_choice": backend.get("tool_choice", "auto"),
            "parallel_tool_calls": backend.get("parallel_tool_calls", True),
            "error": None,
            "incomplete_details": None,
            "metadata": {},
            "usage": usage,
        }

    def opening(self) -> list[JSON]:
        """``response.created`` and ``response.in_progress``."""
        return [
            self.nested("response.created", response=self.snapshot("in_progress")),
            self.nested("response.in_progress", response=self.snapshot("in_progress")),
        ]

    def completed(self, output_tokens: int) -> JSON:
        """``response.completed``, with the usage."""
        return self.nested("response.completed", response=self.snapshot("completed", output_tokens))
