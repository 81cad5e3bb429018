"""Upstream release monitoring: the release timeline, release notes and breaking-change signals."""

from compat.upstream.check import check_integration, check_upstream
from compat.upstream.model import IntegrationCheck, ReleaseCheck, TestedRelease, UpstreamReport
from compat.upstream.score import Score, Signal, score_release

__all__ = [
    "IntegrationCheck",
    "ReleaseCheck",
    "Score",
    "Signal",
    "TestedRelease",
    "UpstreamReport",
    "check_integration",
    "check_upstream",
    "score_release",
]
