"""`make bench`: benchmarks of the whole service as deployed (see docs/BENCHMARKS.md)."""
