"""Which pending document the local worker takes next: fair across orgs, then bots (Django-free).

Round-robin by "served longest ago": the org whose document was started least recently goes first,
then, inside it, the bot served least recently, then that bot's oldest pending document. One org's
hundred uploads therefore alternate with another org's one, and a second bot of the same org is not
stuck behind the first bot's backlog.

Large files may occupy at most ``large_slots`` workers at once (all but one of the pool), so a small
file always finds a free worker while big ones are being embedded, whoever uploaded them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    document_id: str
    org_id: str
    bot_id: str
    size_bytes: int


class FairPicker:
    """Not thread-safe: the caller serialises ``pick`` and ``done`` (the worker holds a lock)."""

    def __init__(self, *, large_bytes: int, large_slots: int) -> None:
        self.large_bytes = large_bytes
        self.large_slots = max(1, large_slots)
        self._turn = itertools.count(1)
        self._org_served: dict[str, int] = {}
        self._bot_served: dict[str, int] = {}
        self.running: dict[str, Job] = {}

    def is_large(self, job: Job) -> bool:
        return job.size_bytes >= self.large_bytes

    def pick(self, pending: Iterable[Job]) -> Job | None:
        """The next job among ``pending`` (oldest first), now counted as running; None if none may run."""
        large_running = sum(1 for job in self.running.values() if self.is_large(job))
        eligible = [
            job
            for job in pending
            if job.document_id not in self.running
            and (large_running < self.large_slots or not self.is_large(job))
        ]
        if not eligible:
            return None
        # Ties (never served) go to whoever has waited longest: `eligible` is oldest first.
        org = min(
            dict.fromkeys(job.org_id for job in eligible),
            key=lambda org_id: self._org_served.get(org_id, 0),
        )
        in_org = [job for job in eligible if job.org_id == org]
        bot = min(
            dict.fromkeys(job.bot_id for job in in_org),
            key=lambda bot_id: self._bot_served.get(bot_id, 0),
        )
        job = next(job for job in in_org if job.bot_id == bot)
        turn = next(self._turn)
        self._org_served[org] = turn
        self._bot_served[bot] = turn
        self.running[job.document_id] = job
        return job

    def done(self, job: Job) -> None:
        self.running.pop(job.document_id, None)
