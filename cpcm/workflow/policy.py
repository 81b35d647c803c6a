"""Policy profiles: the guidelines' rules and numbers as data (cpcm/policies/*.yaml)."""
from __future__ import annotations

PROFILES = ("inter-agency", "kenya")
