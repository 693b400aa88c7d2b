"""meaculpa: service recovery with a learning loop."""

__version__ = "0.1.0"
