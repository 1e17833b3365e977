"""Holding a table lock from a connection of the test's own, to keep a transaction waiting."""

from __future__ import annotations

import MySQLdb
from django.db import connection


class table_locked:
    """LOCK TABLES ... WRITE on a connection of its own: others can neither read nor write it."""

    def __init__(self, table: str) -> None:
        self.table = table

    def __enter__(self) -> None:
        s = connection.settings_dict
        self.conn = MySQLdb.connect(
            host=s["HOST"] or "127.0.0.1",
            port=int(s["PORT"] or 3306),
            user=s["USER"] or "root",
            password=s["PASSWORD"] or "",
            database=s["NAME"],
        )
        self.conn.cursor().execute(f"LOCK TABLES {self.table} WRITE")

    def __exit__(self, *exc: object) -> None:
        self.conn.cursor().execute("UNLOCK TABLES")
        self.conn.close()
