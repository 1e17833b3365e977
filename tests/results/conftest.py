from tests.support.acta_counts import sample_actas, sample_mesas  # noqa: F401  # fixtures
from tests.support.snapshots import empty_chain, snapshot_root  # noqa: F401  # fixtures
