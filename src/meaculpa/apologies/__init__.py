"""Owning the error first: affected customers in bulk, proactive apologies at scale, updates,
the public status page and the figures of each error."""
