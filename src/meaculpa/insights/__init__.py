"""Insights: the text analysis wired into the product.

Every inbound message is analysed in a job (sentiment, anger, escalation signals, urgency,
language), the case keeps the latest figures for the inbox, agents correct labels, and the
organisation retrains its own model from those corrections (``meaculpa analysis train``).
"""
