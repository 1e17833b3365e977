"""Conditional GETs: does an If-None-Match header match our ETag?"""

from __future__ import annotations

from django.utils.http import parse_etags


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison, as RFC 9110 (13.1.2) asks for GET; `*` matches any ETag."""
    if not if_none_match:
        return False
    bare = etag.removeprefix("W/")
    return any(tag == "*" or tag.removeprefix("W/") == bare for tag in parse_etags(if_none_match))
