"""redstep: run Step Functions workflows and the Redshift Data API on one machine."""

from __future__ import annotations

__version__ = "0.1.0"
