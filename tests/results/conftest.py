from tests.support.acta_counts import sample_actas, sample_mesas  # noqa: F401  # fixtures
