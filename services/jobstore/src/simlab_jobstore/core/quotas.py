"""Per-user quotas of the job store: what one user may hold at once. Reaching one is refused
with RESOURCE_EXHAUSTED naming the quota, its limit and the setting that raises it."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from simlab.common.errors import SimlabError, exhausted

ACTIVE_JOBS_SETTING = "SIMLAB_JOBSTORE_MAX_ACTIVE_JOBS_PER_USER"
ACTIVE_STUDY_POINTS_SETTING = "SIMLAB_JOBSTORE_MAX_ACTIVE_STUDY_POINTS_PER_USER"
PRESETS_SETTING = "SIMLAB_JOBSTORE_MAX_PRESETS_PER_USER"
SHARE_LINKS_SETTING = "SIMLAB_JOBSTORE_MAX_SHARE_LINKS_PER_USER"


@dataclass(frozen=True)
class Quotas:
    # Jobs not yet terminal (queued, launching, running, cancelling), studies' points aside.
    active_jobs: int = 1000
    # Points of studies not yet terminal: a study holds many at once.
    active_study_points: int = 50_000
    presets: int = 200
    # Links neither revoked nor expired.
    share_links: int = 500

    def check_active_jobs(self, held: int) -> None:
        if held >= self.active_jobs:
            raise exhausted(
                "active jobs per user",
                self.active_jobs,
                ACTIVE_JOBS_SETTING,
                "wait for some to finish or cancel some",
            )

    def refused_jobs(
        self,
        held: Mapping[str, int],
        new: Sequence[tuple[str, str]],
        known: Collection[tuple[str, str]],
    ) -> dict[int, SimlabError]:
        """Which new jobs, (owner, request_id) in order, the active-jobs quota refuses (by
        index), their owners holding `held` active jobs. A request_id in `known` (it names a
        job already), or seen earlier among `new`, is a resubmission: it needs no room."""
        held = dict(held)
        resubmitted = set(known)
        refused: dict[int, SimlabError] = {}
        for index, (owner, request_id) in enumerate(new):
            if (owner, request_id) in resubmitted:
                continue
            try:
                self.check_active_jobs(held[owner])
            except SimlabError as error:
                refused[index] = error
                continue
            held[owner] += 1
            if request_id:
                resubmitted.add((owner, request_id))
        return refused

    def check_active_study_points(self, held: int, adding: int) -> None:
        """A study's points are refused all together when they do not all fit."""
        if held + adding > self.active_study_points:
            raise exhausted(
                "queued or running study points per user",
                self.active_study_points,
                ACTIVE_STUDY_POINTS_SETTING,
                f"{held} held, {adding} more asked for; wait for some to finish or cancel a study",
            )

    def check_presets(self, held: int) -> None:
        if held >= self.presets:
            raise exhausted("presets per user", self.presets, PRESETS_SETTING, "delete one first")

    def check_share_links(self, held: int) -> None:
        if held >= self.share_links:
            raise exhausted(
                "share links per user",
                self.share_links,
                SHARE_LINKS_SETTING,
                "revoke one first",
            )
