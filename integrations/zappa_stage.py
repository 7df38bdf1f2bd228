"""Reading one stage of `zappa_settings.json` (with its `extends` chain) for operations commands:
the function's name, memory and timeout are what alarms and the usage report measure against."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Zappa's defaults when a stage leaves them out.
DEFAULT_MEMORY_MB = 512
DEFAULT_TIMEOUT_S = 30


@dataclass(frozen=True)
class ZappaStage:
    stage: str
    function_name: str  # also the REST API's name: Zappa names both "<project_name>-<stage>"
    memory_mb: int
    timeout_s: int
    region: str
    keep_warm: bool
    schedules: tuple[str, ...]  # the event expressions, e.g. "rate(15 minutes)"


def load_stage(path: Path, stage: str) -> ZappaStage:
    """The resolved settings of `stage`; ValueError (saying which stages exist) when it cannot."""
    try:
        stages: dict[str, Any] = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"Cannot read {path}: {exc}") from exc
    if stage not in stages:
        raise ValueError(f"{path} has no stage {stage!r}; it has: {', '.join(sorted(stages))}.")
    merged: dict[str, Any] = {}
    chain, current = [], stage
    while current:
        if current in chain or current not in stages:
            raise ValueError(f"{path}: stage {stage!r} extends a missing or circular stage {current!r}.")
        chain.append(current)
        current = stages[current].get("extends", "")
    for name in reversed(chain):
        merged.update(stages[name])
    project = merged.get("project_name") or Path(path).resolve().parent.name
    return ZappaStage(
        stage=stage,
        function_name=f"{project}-{stage}",
        memory_mb=int(merged.get("memory_size", DEFAULT_MEMORY_MB)),
        timeout_s=int(merged.get("timeout_seconds", DEFAULT_TIMEOUT_S)),
        region=str(merged.get("aws_region", "")),
        keep_warm=bool(merged.get("keep_warm", True)),
        schedules=tuple(e.get("expression", "") for e in merged.get("events", []) if e.get("expression")),
    )
