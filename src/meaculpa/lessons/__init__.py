"""Lessons learned, assigned to agents who confirm they read them."""
