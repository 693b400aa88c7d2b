"""Promises made to customers: recorded, reminded, kept or broken, and counted."""
