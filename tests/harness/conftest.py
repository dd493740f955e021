"""Fixtures for the harness tests: one small real pool per test module, short limits."""

from __future__ import annotations

import pytest

from harness.limits import Limits
from harness.pool import WorkerPool

TEST_LIMITS = Limits(timeout_s=1.5, memory_mb=256, output_bytes=1024 * 1024)


@pytest.fixture(scope="module")
def pool():
    with WorkerPool(workers=2, limits=TEST_LIMITS) as p:
        yield p
