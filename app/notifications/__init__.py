"""Caller notifications: signing, retry timing and callback URL safety."""
