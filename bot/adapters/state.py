"""Per-contact conversation state in Redis, with an idle expiry, so any web process can answer."""

from __future__ import annotations

import json
import logging

import redis

from bot.core.engine import State

log = logging.getLogger(__name__)


class RedisStateStore:
    """Conversation state as JSON under relais:state:<contact id>; forgotten after ttl idle seconds."""

    def __init__(self, client: redis.Redis, ttl: int) -> None:
        self.client, self.ttl = client, ttl

    def load(self, contact_id: int) -> State:
        """The contact's state, or a fresh one when Redis has none or does not answer."""
        try:
            raw: bytes | None = self.client.get(f"relais:state:{contact_id}")  # type: ignore[assignment]
        except redis.RedisError as exc:
            log.warning("state unavailable for contact %s: %s", contact_id, exc.__class__.__name__)
            return State()
        return State.from_dict(json.loads(raw)) if raw else State()

    def save(self, contact_id: int, state: State) -> None:
        """Keep the state; a Redis failure only costs the menu position, never the message."""
        try:
            self.client.set(f"relais:state:{contact_id}", json.dumps(state.to_dict()), ex=self.ttl)
        except redis.RedisError as exc:
            log.warning("state not saved for contact %s: %s", contact_id, exc.__class__.__name__)


class MemoryStateStore:
    """State in a dict, for the simulator only (one process, nothing shared)."""

    def __init__(self) -> None:
        self.states: dict[int, State] = {}

    def load(self, contact_id: int) -> State:
        """The contact's state or a fresh one."""
        return self.states.get(contact_id, State())

    def save(self, contact_id: int, state: State) -> None:
        """Keep the state in memory."""
        self.states[contact_id] = state
