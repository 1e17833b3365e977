"""Helpers shared by more than one test package (the fixtures stay in the conftest files)."""
