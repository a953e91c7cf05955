"""SBAS inversion (Berardino et al. 2002): minimum-norm least squares, block-wise."""

from __future__ import annotations

from .options import InversionOptions, Weighting
from .run import InversionCancelledError, InversionResult, invert_block, run_inversion

__all__ = ["InversionCancelledError", "InversionOptions", "InversionResult", "Weighting",
           "invert_block", "run_inversion"]
