"""The operator page: one token-protected view of the whole service at a glance (`GET /ops`)."""
