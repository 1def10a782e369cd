"""The notice as data: model (typed values) and loader (YAML → model, with located errors)."""

from .load import DEFAULT_PLAN, PlanError, PlanProblem, load_plan
from .model import (
    Accumulation,
    Annex,
    AnnexUnit,
    Combine,
    Comparison,
    CrossCheck,
    Indicator,
    Period,
    Plan,
    Respondent,
    RespondentKind,
    Task,
)

__all__ = [
    "DEFAULT_PLAN",
    "Accumulation",
    "Annex",
    "AnnexUnit",
    "Combine",
    "CrossCheck",
    "Comparison",
    "Indicator",
    "Period",
    "Plan",
    "PlanError",
    "PlanProblem",
    "Respondent",
    "RespondentKind",
    "Task",
    "load_plan",
]
