"""nox-compat: compatibility matrices for libraries that integrate with fast-moving upstream packages."""

__version__ = "0.1.0"
