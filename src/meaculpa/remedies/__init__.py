"""Remedies: what the company gives a customer to make good a failure, with approval limits
per role, second-failure flags and the cost report (see docs/remedies.md)."""
