"""Chengguan (城管): a digital city management platform."""

__version__ = "0.1.0"
