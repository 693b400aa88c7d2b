"""Reactions of the commitments domain to other domains' events (see meaculpa.core.events)."""
