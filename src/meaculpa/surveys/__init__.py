"""Surveys (CSAT, NPS, effort) sent after resolved cases or to lists, acted on when low."""
