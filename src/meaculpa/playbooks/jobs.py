"""Background jobs of the playbooks domain."""
