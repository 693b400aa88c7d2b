"""Follow-ups after resolution and the customer's tracking page (no login, signed links)."""
