"""Background jobs of the remedies domain."""
