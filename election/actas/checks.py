"""The acta's arithmetic, checked: every rule that fails is named, none is fixed or refused."""

from __future__ import annotations

from election.actas.types import RULES, ValidatedActa


def acta_failed_rules(acta: ValidatedActa, padron: int) -> tuple[str, ...]:
    """The rules (election.actas.types.RULES, in that order) that `acta` breaks, given its mesa's padrón."""
    return numbers_failed_rules(
        votes_sum=sum(acta.votes.values()),
        total_valid=acta.total_valid,
        nulos=acta.nulos,
        blancos=acta.blancos,
        total_cast=acta.total_cast,
        invalidos=acta.invalidos,
        voters=acta.voters,
        padron=padron,
        ballots_received=acta.ballots_received,
        ballots_unused=acta.ballots_unused,
    )


def numbers_failed_rules(
    *,
    votes_sum: int,
    total_valid: int,
    nulos: int,
    blancos: int,
    total_cast: int,
    invalidos: int,
    voters: int,
    padron: int,
    ballots_received: int,
    ballots_unused: int,
) -> tuple[str, ...]:
    """The same rules over plain numbers (a stored entry, a supervisor's typing)."""
    holds = {
        "sum_valid": votes_sum == total_valid,
        "sum_cast": total_valid + nulos + blancos == total_cast,
        "voters": total_cast + invalidos == voters,
        "padron": voters <= padron,
        "ballots": voters + ballots_unused == ballots_received,
    }
    return tuple(rule for rule in RULES if not holds[rule])
