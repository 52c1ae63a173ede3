"""The music-therapy knowledge graph: curated CSV rules (data/kg/) compiled into a typed
graph, and the planner that turns emotion probabilities into three iso-principle stages.
Rules and data only: this package loads no model."""

from emoheal.kg.graph import GraphFileError
from emoheal.kg.planner import PlanInputError, Planner, SessionPlan, Stage, load_planner, plan
from emoheal.kg.rules import KGValidationError

__all__ = ["GraphFileError", "KGValidationError", "PlanInputError", "Planner", "SessionPlan", "Stage",
           "load_planner", "plan"]
