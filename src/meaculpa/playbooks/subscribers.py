"""Reactions of the playbooks domain to other domains' events (see meaculpa.core.events)."""
