"""Reactions of the mail domain to other domains' events (see meaculpa.core.events)."""
