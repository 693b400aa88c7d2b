"""Background jobs of the mail domain."""
