"""Redshift's SQL dialect, rewritten for the local engines.

The public surface the backends use:

- `split_script(script)` splits a script into statements with a real tokenizer;
- `translate(statement, target, buckets=...)` rewrites one Redshift statement for a target engine
  and says what kind of statement it is (transaction control, ignored, a transfer...);
  `translator(target, buckets=...)` is the same with the latest translations remembered;
- `session_setup(target)` is the SQL a backend runs once on every new connection (settings and
  helper macros that the rewrites rely on).

Rewrites are sqlglot's Redshift→target transpile followed by small named rules, one function
each, listed in order in `redstep.warehouse.dialect.rules`.
"""

from __future__ import annotations

from redstep.warehouse.dialect.model import StatementKind, Target, Translation
from redstep.warehouse.dialect.script import split_script
from redstep.warehouse.dialect.translate import session_setup, translate, translator

__all__ = [
    "StatementKind",
    "Target",
    "Translation",
    "session_setup",
    "split_script",
    "translate",
    "translator",
]
