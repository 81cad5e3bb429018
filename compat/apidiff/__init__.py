"""What changed in a package's API between two releases, and what of it touches your code.

``dists`` downloads and unpacks a release (sources only, nothing runs); ``load`` reads it with
griffe; ``resolve`` follows a dotted path through both releases; ``rules`` decides what broke
and how sure we are; ``diff`` puts them together (``targeted_diff``, ``full_diff``);
``command`` is ``compat apidiff``. Importing this package or ``command`` does not import griffe.
"""

from compat.apidiff.model import ApiDiffError, Breakage, Diff

__all__ = ["ApiDiffError", "Breakage", "Diff"]
