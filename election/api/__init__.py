"""The results API: read-only, public, thin over election.results.selectors (see docs/api.md)."""
