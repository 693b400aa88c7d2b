"""Background jobs of the followups domain."""
