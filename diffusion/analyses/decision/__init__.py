"""Decision support: which mix of levers, at what cost, and how sure. ``spec`` (the [optimisation] table),
``evaluate`` (policies as runs of the evaluation service, with common random numbers), ``optimisation`` (the
NSGA-II search, pymoo), ``robustness`` (policies over posterior draws), ``discovery`` (PRIM), ``run`` (the
``diffusion optimise`` command's work)."""

from diffusion.analyses.decision.discovery import Discovery, discover
from diffusion.analyses.decision.evaluate import Evaluator, KeptPool, Policy, decision_policy, draws_table
from diffusion.analyses.decision.optimisation import Search, SearchResult, make_algorithm, pareto_set
from diffusion.analyses.decision.robustness import Robustness, answer, measure, robustness
from diffusion.analyses.decision.run import DecisionOutcome, run_optimisation
from diffusion.analyses.decision.spec import DecisionSpec, Outcome, Variable, validate_optimisation

__all__ = [
    "DecisionOutcome",
    "DecisionSpec",
    "Discovery",
    "Evaluator",
    "KeptPool",
    "Outcome",
    "Policy",
    "Robustness",
    "Search",
    "SearchResult",
    "Variable",
    "answer",
    "decision_policy",
    "discover",
    "draws_table",
    "make_algorithm",
    "measure",
    "pareto_set",
    "robustness",
    "run_optimisation",
    "validate_optimisation",
]
