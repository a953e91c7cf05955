"""Seeded simulator of realistic Sentinel-1 SBAS stacks with ground truth."""

from __future__ import annotations

from .config import CAUSES, SimulationConfig
from .output import write_simulation
from .simulator import PairTruth, SimulatedStack, simulate

__all__ = ["CAUSES", "PairTruth", "SimulatedStack", "SimulationConfig", "simulate",
           "write_simulation"]
