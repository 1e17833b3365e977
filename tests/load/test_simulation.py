"""The simulated votes are valid in the real validator, and the bad ones are refused; the
simulated actas are valid too, and break exactly the rules they say."""

from collections import Counter

import pytest

from bench.simulation import ACTA_KINDS, BLANK_SPELLINGS, NULL_SPELLINGS, ActaGenerator, VoteGenerator
from election.actas.checks import acta_failed_rules
from election.actas.types import RULES
from election.actas.validation import acta_validate
from election.catalogue.mesa_index import mesa_index_clear
from election.models import Mesa
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


def test_simulated_actas_validate_and_name_the_rules_the_checks_find() -> None:
    generator = ActaGenerator(seed=4)
    pairs = [generator.pair(kind) for kind in ACTA_KINDS for _ in range(150)]
    assert all(pair is not None for pair in pairs)
    Mesa.objects.bulk_create(
        [
            Mesa(
                numero=m.mesa,
                departamento_id=m.municipio_code[:2],
                municipio_id=m.municipio_code,
                sede=str(m.sede),
                padron=m.padron,
            )
            for m in {generator.mesas[p.mesa] for p in pairs if p}
        ]
    )
    mesa_index_clear()
    broken: Counter[str] = Counter()
    for pair in pairs:
        assert pair is not None
        typed = [acta_validate(entry) for entry in pair.entries]
        padron = generator.mesas[pair.mesa].padron
        assert {acta.papeleta for acta in typed} == {pair.papeleta}
        assert tuple(acta_failed_rules(acta, padron) for acta in typed) == pair.failed_rules
        agree = typed[0].numbers() == typed[1].numbers()
        assert agree == (pair.kind != "typo"), pair
        assert typed[0].entered_by != typed[1].entered_by
        if pair.kind == "clean":
            assert pair.failed_rules == ((), ())
            assert typed[0].voters <= padron and typed[0].total_cast + typed[0].invalidos == typed[0].voters
        elif pair.kind == "rule":
            broken.update(pair.failed_rules[0])
    assert set(broken) == set(RULES)  # every rule is broken by some sheet
    # 2023: nulos 17.3% and blancos 7.0% of ballots cast (binomial over the clean sheets).
    clean = [acta_validate(p.entries[0]) for p in pairs if p and p.kind == "clean"]
    cast = sum(acta.total_cast for acta in clean)
    assert 0.15 <= sum(acta.nulos for acta in clean) / cast <= 0.20
    assert 0.05 <= sum(acta.blancos for acta in clean) / cast <= 0.09
    turnout = sum(acta.voters for acta in clean) / sum(generator.mesas[a.mesa].padron for a in clean)
    assert 0.5 <= turnout <= 0.7


def test_each_acta_is_handed_out_once_and_skipped_ones_never() -> None:
    skip = frozenset((mesa, "presidente") for mesa in range(1, 24_428))
    generator = ActaGenerator(seed=5, skip=skip)
    keys = []
    while (pair := generator.pair()) is not None:
        keys.append((pair.mesa, pair.papeleta))
    assert len(keys) == len(set(keys)) == 24_427 * 4
    assert not set(keys) & skip
