"""What the planner returns: a `SessionPlan` of three `Stage`s, and their JSON form.

Kept apart from the planning so that code which only reads plans (the terminal view, the
service's answers) need not know how one is made."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stage:
    name: str
    order: int
    share: float
    minutes: float
    start_minute: float
    end_minute: float
    valence: float
    arousal: float
    gems_mix: dict[str, float]
    targets: dict[str, Any]
    prompt: str
    explanation: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "order": self.order, "share": self.share, "minutes": round(self.minutes, 4),
                "start_minute": round(self.start_minute, 4), "end_minute": round(self.end_minute, 4),
                "valence": round(self.valence, 4), "arousal": round(self.arousal, 4),
                "gems_mix": rounded_floats(self.gems_mix), "targets": rounded_floats(self.targets),
                "prompt": self.prompt, "explanation": rounded_floats(self.explanation)}


@dataclass
class SessionPlan:
    goal: str
    minutes: float
    stages: list[Stage]
    path: list[dict[str, float]]
    emotions: dict[str, float]  # the input, as given (labels with probability > 0)
    graph_version: str
    notes: list[str] = field(default_factory=list)

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, floats rounded to 4 decimals; stages in match, guide, target order."""
        return {"goal": self.goal, "minutes": self.minutes, "graph_version": self.graph_version,
                "emotions": rounded_floats(self.emotions), "stages": [s.to_dict() for s in self.stages],
                "path": rounded_floats(self.path), "notes": list(self.notes)}


def rounded_floats(obj: Any) -> Any:
    """`obj` with every float, at any depth of dicts, lists and tuples, rounded to 4 decimals."""
    # exact types, not isinstance: cheap on the plan's many small values; note that a float
    # subclass (numpy's float64) passes through unrounded
    kind = type(obj)
    if kind is float:
        return round(obj, 4)
    if kind is dict:
        return {k: rounded_floats(v) for k, v in obj.items()}
    if kind is list or kind is tuple:
        return [rounded_floats(v) for v in obj]
    return obj
