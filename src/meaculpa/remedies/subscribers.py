"""Reactions of the remedies domain to other domains' events (see meaculpa.core.events)."""
