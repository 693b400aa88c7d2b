"""Tables of the followups domain."""
