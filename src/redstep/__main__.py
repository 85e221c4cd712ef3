"""`python -m redstep` is the `redstep` command."""

from __future__ import annotations

from redstep.cli import main

main()
