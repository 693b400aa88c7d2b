"""Tables of the playbooks domain."""
