"""Calibration of uncertain parameters to observed rates with ABC-SMC (pyABC): ``spec`` (the [calibration]
table: priors, setups, targets), ``simulate`` (the simulator and the distance), ``run`` (a calibration and its
outputs). See docs/calibration.md."""

from diffusion.analyses.calibration.run import calibrate, generation_table, posterior_tables
from diffusion.analyses.calibration.simulate import (
    CALIBRATION_STREAM,
    PREDICTIVE_STREAM,
    BinomialDistance,
    Simulator,
    observed_stats,
)
from diffusion.analyses.calibration.spec import (
    CalibrationSpec,
    PriorSpec,
    SetupSpec,
    TargetSpec,
    parse_value,
    validate_calibration,
)

__all__ = [
    "CALIBRATION_STREAM",
    "PREDICTIVE_STREAM",
    "BinomialDistance",
    "CalibrationSpec",
    "PriorSpec",
    "SetupSpec",
    "Simulator",
    "TargetSpec",
    "calibrate",
    "generation_table",
    "observed_stats",
    "parse_value",
    "posterior_tables",
    "validate_calibration",
]
