"""Global sensitivity analysis (Sobol, Morris; SALib) of levers and uncertain parameters: ``spec`` (the
[sensitivity] table), ``salib`` (sampling and indices), ``design`` (the study as runs), ``run`` (a study)."""

from diffusion.analyses.sensitivity.design import ModelDesign, make_design, outcomes_from_runs
from diffusion.analyses.sensitivity.run import SensitivityOutcome, run_sensitivity, write_tables
from diffusion.analyses.sensitivity.salib import SensitivityResult, analyse, analyse_function, sample_unit
from diffusion.analyses.sensitivity.spec import Factor, SensitivitySpec, StudyOutcome, validate_sensitivity

__all__ = [
    "Factor",
    "ModelDesign",
    "SensitivityOutcome",
    "SensitivityResult",
    "SensitivitySpec",
    "StudyOutcome",
    "analyse",
    "analyse_function",
    "make_design",
    "outcomes_from_runs",
    "run_sensitivity",
    "sample_unit",
    "validate_sensitivity",
    "write_tables",
]
