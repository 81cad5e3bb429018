"""Upstream release monitoring: the release timeline, release notes and breaking-change signals."""

from compat.upstream.check import (
    IntegrationCheck,
    ReleaseCheck,
    UpstreamReport,
    check_integration,
    check_upstream,
)
from compat.upstream.score import Score, Signal, score_release

__all__ = [
    "IntegrationCheck",
    "ReleaseCheck",
    "Score",
    "Signal",
    "UpstreamReport",
    "check_integration",
    "check_upstream",
    "score_release",
]
