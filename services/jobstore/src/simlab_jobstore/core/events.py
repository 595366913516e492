"""The events a change announces. Core says which kind; the wire encoding (simlab.v1 JobEvent,
simlab.jobstore.v1 StudyQueuedEvent) is injected into the store by the app, so the adapters
need not know this service's transport. An encoded event is written to the outbox with its
change and relayed to NATS."""

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
    def job(self, job: Job, kind: EventKind) -> EncodedEvent:
        """A change of one job, as it is now."""
        ...

    def study_queued(self, study_id: str) -> EncodedEvent:
        """A study's points were queued: one event for all of them."""
        ...
