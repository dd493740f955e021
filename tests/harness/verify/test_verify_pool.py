"""Verification runs on one process-wide, single-worker pool (harness.pool.shared_pool(1, read_roots))."""

from __future__ import annotations

from harness import pool as harness_pool
from harness.verify import verify_pool


def test_one_shared_single_worker_pool_that_close_all_stops_and_brings_back():
    pool = verify_pool()
    assert pool is harness_pool.shared_pool(1, read_roots=()) and pool.size == 1  # one hash seed for both sides
    assert pool.read_roots == ()  # reads fenced: nothing beyond the interpreter and its libraries
    assert harness_pool.close_all() >= 1 and pool._closed  # the TUI's cancel stops it too
    again = verify_pool()
    assert again is not pool and not again._closed and again.size == 1
