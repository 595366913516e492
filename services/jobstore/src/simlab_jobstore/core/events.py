"""The events a change announces. Core says which kind; the wire encoding (simlab.v1 JobEvent)
is injected into the store by the app, so the adapters need not know this service's transport.
An encoded event is written to the outbox with its change and relayed to NATS."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from .jobs import Job


class EventKind(Enum):
    STATE = "state"  # the job entered the state it is in
    PROGRESS = "progress"  # blocks were recorded


@dataclass(frozen=True, slots=True)
class EncodedEvent:
    event_id: str  # unique: JetStream drops a re-published duplicate
    subject: str
    payload: bytes


class EventEncoder(Protocol):
    def __call__(self, job: Job, kind: EventKind) -> EncodedEvent: ...
