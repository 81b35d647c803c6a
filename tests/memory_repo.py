"""A casefile repository in memory for service-level tests: the same team as the `repo` fixture
(`sup` a supervisor, `amina` and `otieno` caseworkers), keys made in memory, the store of
cpcm/store/memory.py, and a fixed `now`. No file, git or age: tests that use it are pure.

    mem = MemoryRepo()
    amina = mem.as_("amina")                         # a service Context acting as amina
    case_id = mem.register(amina)                    # a registration through service.register
    service.due(mem.as_("sup", now=later), worker="all")
"""
from __future__ import annotations

import json
from datetime import datetime

from pyrage import x25519

from conftest import NOW, registration
from cpcm import service
from cpcm.crypto.identity import Identity
from cpcm.domain.profiles import build
from cpcm.domain.team import Team, Worker
from cpcm.service.context import Context, open_memory
from cpcm.store import policies
from cpcm.store.config import Config
from cpcm.store.memory import MemoryStore

ROLES = {"sup": "supervisor", "amina": "caseworker", "otieno": "caseworker"}
T0 = datetime.fromisoformat(NOW)


class MemoryRepo:
    def __init__(self, profile: str = "inter-agency", rules: dict | None = None, now: datetime = T0):
        self.now = now
        self.store = MemoryStore(now=lambda: self.now)
        self.identities = {w: Identity(keys=(x25519.Identity.generate(),), path="(in memory)") for w in ROLES}
        self.team = Team(tuple(Worker(id=w, name=w, roles=(role,), recipient=self.identities[w].recipient,
                                      since="2026-01-01T00:00:00+03:00") for w, role in ROLES.items()))
        self.config = Config(agency_code="TEST", agency_name="Test Agency", policy=profile)
        policy, errors = build(policies.chain(profile), {"rules": rules} if rules else None, ".cpcm/policy.yaml")
        assert errors == [], errors
        self.policy = policy

    def as_(self, worker: str, now: datetime | str | None = None) -> Context:
        """A session acting as `worker`, at `now` (the repository's fixed time by default)."""
        when = datetime.fromisoformat(now) if isinstance(now, str) else now or self.now
        return open_memory(self.store, self.config, self.team, self.policy, self.identities[worker], when)

    def register(self, ctx: Context, at: str | None = None, **overrides) -> str:
        """Register a child (the conftest registration, with overrides); returns the case ID."""
        data = json.loads(json.dumps(registration(**overrides)))
        written = service.register(ctx, data, datetime.fromisoformat(at) if at else None)
        return written.subject_id

    def commits(self) -> int:
        return len(self.store.commits)

