"""Local stack helpers for `make run` and the tests: an embedded Redis and the development runner."""
