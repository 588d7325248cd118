"""Scenarios from a company's own data: ``calibrate`` and ``synthesize``."""

from gtmgym.calibration.calibrate import CalibrationResult, calibrate
from gtmgym.calibration.config import CalibrationError
from gtmgym.calibration.synthesis import synthesize

__all__ = ["CalibrationError", "CalibrationResult", "calibrate", "synthesize"]
