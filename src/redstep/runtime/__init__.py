"""The I/O shell of orchestration: the durable store, the clocks, the executor and `Engine`."""

from __future__ import annotations

from redstep.runtime.clock import Clock, RealClock, VirtualClock
from redstep.runtime.engine import Engine

__all__ = ["Clock", "Engine", "RealClock", "VirtualClock"]
