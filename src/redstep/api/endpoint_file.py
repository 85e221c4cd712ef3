"""Where a running `redstep serve` can be reached: recorded in the project's state folder, so
that a second redstep command on the project talks to it instead of failing on its lock.

Only the URL and the process id are written, never credentials: a command that must sign its
requests takes them from REDSTEP_ACCESS_KEY_ID and REDSTEP_SECRET_ACCESS_KEY, as the server did.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ENDPOINT_FILE = "endpoint.json"


def record_endpoint(state_dir: Path, url: str) -> None:
    """Say where this process serves the project (replacing the file in one step)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    staged = state_dir / f".{ENDPOINT_FILE}.{os.getpid()}"
    staged.write_text(json.dumps({"url": url, "pid": os.getpid()}))
    staged.replace(state_dir / ENDPOINT_FILE)


def forget_endpoint(state_dir: Path) -> None:
    """Remove this process's record (one left by another process stays)."""
    if read_record(state_dir).get("pid") == os.getpid():
        (state_dir / ENDPOINT_FILE).unlink(missing_ok=True)


def recorded_endpoint(state_dir: Path, owner: int) -> str | None:
    """The URL the server recorded for the project, if the process `owner` (the one that holds
    the project's state) is the one that recorded it: a record left by a server that died is
    not the running process's."""
    record = read_record(state_dir)
    url = record.get("url")
    return url if isinstance(url, str) and record.get("pid") == owner else None


def read_record(state_dir: Path) -> dict[str, object]:
    try:
        record = json.loads((state_dir / ENDPOINT_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}
