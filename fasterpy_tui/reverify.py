"""Re-verify a partial patch (a subset of a candidate's hunks) before it is written.

Placeholder wiring until graph.verify lands; see verify_partial."""
from __future__ import annotations


def verify_partial(result, config):
    return None
