"""pipelines: the ``neuroloom`` command line, reports and reproducible workflows."""

__all__ = ["cli", "demo", "report"]
