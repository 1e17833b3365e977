"""Snapshots: every SNAPSHOT_INTERVAL_S, the whole of the results written as immutable files with
a manifest of their SHA-256s, each manifest naming its predecessor's hash (docs/snapshots.md).

- `manifest` (Django-free): the snapshot id, the manifest's exact bytes, hashing while writing;
- `verify` (Django-free): checks a published chain as an outsider would (snapshot_verify);
- `files`: what a snapshot holds (`counts`, `timeline`, `area_files`, `open_files`; the API's
  panels come in from election/api/snapshot_panels.py, which sits above this package);
- `storage`: Django's STORAGES["snapshots"] (a directory, or a GCS bucket) and cache headers;
- `lease`, `writer`: one writer extends the chain; files, then the manifest, then latest.json,
  then the Snapshot row; `loop`: the `snapshots` command's loop, with the detail thread;
- `detail`: the detail tier (sede files, open data) written as generations in the background
  and referenced by the snapshots; `retention`: SNAPSHOT_KEEP, generations kept while referenced.

May import what election.results may, and election.results itself.
"""
