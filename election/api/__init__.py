"""The results API: read-only, public, thin over election.selectors (see docs/api.md)."""
