"""Reactions of the followups domain to other domains' events (see meaculpa.core.events)."""
