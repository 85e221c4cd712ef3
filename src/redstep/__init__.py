"""redstep: run Step Functions workflows and the Redshift Data API on one machine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from redstep.runtime import Engine, VirtualClock

__all__ = ["Engine", "VirtualClock", "__version__"]


def __getattr__(name: str) -> Any:
    # `import redstep` stays light; the engine loads when first asked for.
    if name in ("Engine", "VirtualClock"):
        import redstep.runtime

        return getattr(redstep.runtime, name)
    raise AttributeError(f"module 'redstep' has no attribute {name!r}")
