"""The simulated votes are valid in the real validator, and the bad ones are refused."""

from collections import Counter

import pytest

from bench.simulation import VoteGenerator
from election.votes.types import VoteInvalid
from election.votes.validation import vote_validate

pytestmark = pytest.mark.django_db


def test_simulated_votes_validate_and_follow_the_2023_weights() -> None:
    generator = VoteGenerator(seed=1)
    votes = [vote_validate(generator.vote()) for _ in range(3000)]
    partidos = Counter(v.partido for v in votes)
    assert partidos.most_common(1)[0][0] == "UNE"  # the most-voted ticket of 2023
    assert partidos["UNE"] > partidos["VOS"] > 0
    assert not {"VALOR", "UNIONISTA"} & set(partidos)  # only the coalition ticket is on the ballot
    assert len({v.departamento_code for v in votes}) == 22
    assert len({v.papeleta for v in votes}) == 5
    assert len({v.vote_id for v in votes}) == 3000


def test_bad_simulated_votes_are_all_refused() -> None:
    # Many: a rare way of writing a name once turned a "bad" vote into a good one (about 1 in
    # 2,400), which a short Locust run then found stored.
    generator = VoteGenerator(seed=2)
    for _ in range(20_000):
        with pytest.raises(VoteInvalid):
            vote_validate(generator.bad_vote())
