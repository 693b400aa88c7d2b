"""Background jobs of the commitments domain."""
