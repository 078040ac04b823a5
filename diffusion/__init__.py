"""diffusion: how rural Vietnamese households come to use smartphones, the internet and digital services.

An agent-based model on Mesa with vectorised monthly dynamics, policy levers, experiments from config
files, calibration and sensitivity analysis. The package is layered (see docs/design.md): ``foundation``,
``model``, ``experiments``, ``analyses``, ``presentation`` and the command line; the names below are its
public API. The model's names are imported at once; those of the experiment, analysis and presentation
layers when first used, so that importing the model stays light.
"""

from importlib import import_module

from diffusion.foundation.errors import ConfigError, DiffusionError, ParameterError
from diffusion.foundation.version import __version__
from diffusion.model.adoption import AdoptionModel
from diffusion.model.levers import (
    ConnectionSupport,
    DigitalTeams,
    InfrastructureRollout,
    PublicAccessPoint,
    SmartphoneSubsidy,
    make_lever,
)
from diffusion.model.params import ModelParams, ProductParams
from diffusion.model.products import PRODUCTS

#: Public names of the upper layers, imported when first used: name -> module.
_LAZY = {
    "BatchRun": "diffusion.model.engine",
    "run_batch": "diffusion.model.engine",
    "bass_model": "diffusion.model.bass",
    "discrete_bass": "diffusion.model.bass",
    "load_config": "diffusion.experiments.config",
    "load_results": "diffusion.experiments.results",
    "run_experiment": "diffusion.analyses.experiment",
    "run_sensitivity": "diffusion.analyses.sensitivity",
    "calibrate": "diffusion.analyses.calibration",
    "write_report": "diffusion.presentation.report",
    "charts": "diffusion.presentation.charts",
}


def __getattr__(name: str):
    if name in _LAZY:
        module = import_module(_LAZY[name])
        value = module if module.__name__.endswith("." + name) else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'diffusion' has no attribute {name!r}")


__all__ = [
    "AdoptionModel",
    "ConfigError",
    "ConnectionSupport",
    "DiffusionError",
    "DigitalTeams",
    "InfrastructureRollout",
    "ModelParams",
    "PRODUCTS",
    "ParameterError",
    "ProductParams",
    "PublicAccessPoint",
    "SmartphoneSubsidy",
    "__version__",
    "make_lever",
    *_LAZY,
]
