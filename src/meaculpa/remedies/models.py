"""Tables of the remedies domain."""
