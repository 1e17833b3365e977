"""Small plumbing with no election knowledge: how process singletons start, Redis clients,
freezing the start-up heap.

May import: the standard library, redis. Never Django, Celery, or another election package.
"""
