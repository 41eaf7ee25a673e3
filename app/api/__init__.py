"""HTTP surface: the caller API, health checks, and error rendering."""
