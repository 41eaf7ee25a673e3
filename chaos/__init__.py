"""`make chaos`: fault-injection runs against a private motion-gateway stack (see docs/RELIABILITY.md)."""
