"""The public surface: what the root exports, and what every public module's ``__all__`` holds.

The root is curated: adding or removing a name there is a decision, so this
test names every one of them. The layers underneath are public in their own
modules (``realtime_events.connection.WebSocket``); those must keep resolving.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import realtime_events
from realtime_events import errors, events
from realtime_events.errors import RealtimeError

ROOT_NAMES = [
    "AuthenticationError",
    "CallError",
    "CallNotFoundError",
    "Calls",
    "ClientEvent",
    "ClientSecret",
    "ClientSecretError",
    "ClosedBeforeOpenError",
    "ConnectionClosedError",
    "ConnectionFailedError",
    "Endpoint",
    "Event",
    "EventStream",
    "HandshakeRejectedError",
    "InsecureKeyError",
    "InvalidConfigError",
    "InvalidEventError",
    "InvalidFrameError",
    "LiveSessionGoneError",
    "PluginEvent",
    "PluginNotApplicableError",
    "PluginNotFoundError",
    "RealtimeError",
    "ReconnectPolicy",
    "RecordingError",
    "Reply",
    "ServerError",
    "ServerEvent",
    "Session",
    "SessionClosedError",
    "SessionState",
    "SyncSession",
    "Turn",
    "UnknownEventError",
    "UnknownServerEvent",
    "WebhookError",
    "__version__",
    "azure_from_env",
    "create_client_secret",
    "create_client_secret_sync",
    "events",
    "signals",
]

# Public below the root: the lower layers, and what plugins build on (docs/plugins.md).
MODULE_NAMES = {
    "realtime_events.connection": ["WebSocket", "connect"],
    "realtime_events.conversation": ["Conversation", "heard_text"],
    "realtime_events.events": ["Dialect", "parse_client_event", "parse_server_event"],
    "realtime_events.metrics": ["Metrics", "ResponseMetrics"],
    "realtime_events.plugins": ["Plugin", "available", "load"],
    "realtime_events.responses": ["ResponseRequest", "Responses"],
    "realtime_events.turns": ["Hold"],
    "realtime_events.webhooks": ["IncomingCallEvent", "sign", "unwrap", "verify"],
    "realtime_events.testing": ["LocalCall", "LocalCalls", "McpCall", "McpTool"],
}


def _all_modules() -> list[str]:
    found = pkgutil.walk_packages(realtime_events.__path__, "realtime_events.")
    # __main__ runs the command line when imported.
    return sorted(info.name for info in found if not info.name.endswith(".__main__"))


ALL_MODULES = _all_modules()
PUBLIC_MODULES = [
    name for name in ALL_MODULES if not any(part.startswith("_") for part in name.split(".")[1:])
]


def _exported(module: ModuleType) -> list[str]:
    names: list[str] = getattr(module, "__all__", [])
    return names


def test_root_exports_exactly_the_curated_names() -> None:
    assert sorted(realtime_events.__all__) == sorted(ROOT_NAMES)
    assert len(set(realtime_events.__all__)) == len(realtime_events.__all__)


@pytest.mark.parametrize("name", ROOT_NAMES)
def test_every_root_name_is_importable(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from realtime_events import {name}", namespace)
    assert namespace[name] is getattr(realtime_events, name)


def test_star_import_gives_the_root_names() -> None:
    namespace: dict[str, object] = {}
    exec("from realtime_events import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(ROOT_NAMES)


def test_every_root_name_is_exported_by_a_public_module_too() -> None:
    # The root picks from the modules: nothing is public only there.
    homes: dict[str, list[object]] = {}
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for exported in _exported(module):
            homes.setdefault(exported, []).append(getattr(module, exported))
    for name in set(ROOT_NAMES) - {"__version__", "events", "signals"}:
        assert any(obj is getattr(realtime_events, name) for obj in homes.get(name, [])), name
    assert isinstance(realtime_events.events, ModuleType)
    assert isinstance(realtime_events.signals, ModuleType)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_module_all_resolves(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names = _exported(module)
    assert len(set(names)) == len(names), f"{module_name}.__all__ repeats a name"
    missing = [name for name in names if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ names what it does not define: {missing}"


@pytest.mark.parametrize(("module_name", "names"), sorted(MODULE_NAMES.items()))
def test_names_below_the_root_stay_public_in_their_module(
    module_name: str, names: list[str]
) -> None:
    module = importlib.import_module(module_name)
    for name in names:
        assert name in _exported(module), f"{module_name}.{name}"
        assert hasattr(module, name)


def test_the_low_level_connection_is_not_at_the_root() -> None:
    assert not hasattr(realtime_events, "WebSocket")
    assert not hasattr(realtime_events, "connect")


@pytest.mark.parametrize("module_name", ALL_MODULES)
def test_exceptions_are_defined_in_errors_only(module_name: str) -> None:
    module = importlib.import_module(module_name)
    for name, value in vars(module).items():
        if inspect.isclass(value) and issubclass(value, RealtimeError):
            home = value.__module__
            assert home == "realtime_events.errors", f"{module_name}.{name} is defined in {home}"


def test_every_exception_is_exported_by_errors_and_the_root() -> None:
    defined = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and value.__module__ == errors.__name__
    }
    assert all(issubclass(getattr(errors, name), RealtimeError) for name in defined)
    assert set(errors.__all__) == defined
    assert defined <= set(realtime_events.__all__)


def test_every_event_model_is_exported_by_the_events_package() -> None:
    for cls in (*events.SERVER_EVENTS, *events.CLIENT_EVENTS):
        assert cls.__name__ in events.__all__, cls.__name__
        assert getattr(events, cls.__name__) is cls


def test_the_event_tables_come_from_the_models() -> None:
    assert set(events.SERVER_EVENT_CLASSES.values()) == set(events.SERVER_EVENTS)
    assert set(events.CLIENT_EVENT_CLASSES.values()) == set(events.CLIENT_EVENTS)
    for cls in events.SERVER_EVENTS:
        assert cls.canonical_type in events.SERVER_EVENT_CLASSES, cls.__name__
        assert issubclass(cls, events.ServerEvent)
    assert all(issubclass(cls, events.ClientEvent) for cls in events.CLIENT_EVENTS)
