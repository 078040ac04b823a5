"""diffusion: how rural Vietnamese households come to use smartphones, the internet and digital services.

An agent-based model on Mesa with vectorised monthly dynamics, policy levers, experiments from config
files, calibration and sensitivity analysis.
"""

from diffusion.foundation.errors import DiffusionError, ParameterError
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

__version__ = "0.1.0"

__all__ = [
    "AdoptionModel",
    "ModelParams",
    "ProductParams",
    "PRODUCTS",
    "SmartphoneSubsidy",
    "ConnectionSupport",
    "DigitalTeams",
    "InfrastructureRollout",
    "PublicAccessPoint",
    "make_lever",
    "DiffusionError",
    "ParameterError",
]
