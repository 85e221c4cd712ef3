"""Fixtures the bucket tests share: one bucket, `data`, in a project folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from redstep.buckets import Buckets


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "project" / "data"


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    return tmp_path / "project" / ".redstep" / "uploads"


@pytest.fixture
def store(folder: Path, staging: Path) -> Buckets:
    return Buckets({"data": folder}, staging=staging)
