"""Ids: every session, event, item, response and call id, shaped like the real server's."""

from __future__ import annotations

import random
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
# Suffix lengths of real ids: ``event_C9G5RJeJ2gF77mV7f2B1j``, ``call_sHlR7iaFwQ2YQOqm``.
_ID_LENGTH = {"call": 16}


class IdFactory:
    """Makes ids shaped like the real server's: ``sess_…``, ``event_…``, ``item_…``, ``resp_…``.

    With a ``seed`` the sequence is deterministic (for tests); without one it
    is random, so connections to one server don't share ids.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._random: random.Random | None = random.Random(seed) if seed is not None else None

    def __call__(self, prefix: str) -> str:
        """Return ``prefix``, an underscore, and 21 letters or digits (16 for ``call``)."""
        length = _ID_LENGTH.get(prefix, 21)
        if self._random is None:
            suffix = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        else:
            suffix = "".join(self._random.choices(_ALPHABET, k=length))
        return f"{prefix}_{suffix}"
