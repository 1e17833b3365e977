"""The simulated votes are valid in the real validator, and the bad ones are refused."""

from collections import Counter

import pytest

from bench.simulation import BLANK_SPELLINGS, NULL_SPELLINGS, VoteGenerator
from election.votes.types import VoteInvalid
from election.votes.validation import vote_validate

pytestmark = pytest.mark.django_db


def test_simulated_votes_validate_and_follow_the_2023_weights() -> None:
    generator = VoteGenerator(seed=1)
    votes = [vote_validate(generator.vote()) for _ in range(3000)]
    partidos = Counter(v.partido for v in votes)
    # 2023, first round: 964,775 null and 388,363 blank of 5,565,598 ballots (17.3% and 7.0%).
    # Binomial over 3,000 draws: three standard deviations are 2.1 and 1.4 points.
    assert 0.152 <= partidos.pop("NULO") / 3000 <= 0.194
    assert 0.056 <= partidos.pop("BLANCO") / 3000 <= 0.084
    assert partidos.most_common(1)[0][0] == "UNE"  # the most-voted ticket of 2023
    assert partidos["UNE"] > partidos["VOS"] > 0
    assert not {"VALOR", "UNIONISTA"} & set(partidos)  # only the coalition ticket is on the ballot
    assert len({v.departamento_code for v in votes}) == 22
    assert len({v.papeleta for v in votes}) == 5
    assert len({v.vote_id for v in votes}) == 3000


def test_null_and_blank_ballots_come_in_every_spelling_the_generator_has() -> None:
    generator = VoteGenerator(seed=3)
    written = Counter(generator.vote()["partido"] for _ in range(3000))
    assert set(NULL_SPELLINGS + BLANK_SPELLINGS) <= set(written)
    assert {vote_validate({**generator.vote(), "partido": w}).partido for w in NULL_SPELLINGS} == {"NULO"}
    assert {vote_validate({**generator.vote(), "partido": w}).partido for w in BLANK_SPELLINGS} == {"BLANCO"}


def test_bad_simulated_votes_are_all_refused() -> None:
    # Many: a rare way of writing a name once turned a "bad" vote into a good one (about 1 in
    # 2,400), which a short Locust run then found stored.
    generator = VoteGenerator(seed=2)
    for _ in range(20_000):
        with pytest.raises(VoteInvalid):
            vote_validate(generator.bad_vote())
