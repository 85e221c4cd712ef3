"""The executions recorded on real AWS (../shared/conformance/asl), for the tests that replay
them: where they are, the cases, and each case's template."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import json5

CONFORMANCE = Path(
    os.environ.get(
        "REDSTEP_CONFORMANCE_DIR",
        Path(__file__).resolve().parents[3] / "shared" / "conformance" / "asl",
    )
)

#: Why a conformance test has nothing to run, when the folder is absent.
MISSING = f"no conformance cases at {CONFORMANCE}"


def load_cases() -> list[dict[str, Any]]:
    """Every recorded case (one JSON object per line); none when the folder is absent."""
    path = CONFORMANCE / "cases.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def template_text(case: dict[str, Any]) -> str:
    """The case's definition as written (JSON5: comments and trailing commas allowed)."""
    return (CONFORMANCE / "templates" / case["template"]).read_text()


def definition(case: dict[str, Any]) -> Any:
    """The case's definition, decoded."""
    return json5.loads(template_text(case))
