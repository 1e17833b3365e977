"""The admin's resolution of an acta in review, through Django's test Client against the real
admin: refused without `election.resolve_acta`, kept with author, time and reason with it."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from election.actas.recording import actas_record
from election.actas.tallies import tallies_match_recount
from election.actas.validation import acta_validate
from election.models import Acta, ActaEntry, ActaTally
from tests.support.actas import CLEAN_MESA, typed

pytestmark = pytest.mark.usefixtures("mesas")


@pytest.fixture
def in_review() -> Acta:
    first = acta_validate(typed(CLEAN_MESA, entered_by="ana", acta_id=str(uuid.uuid4())))
    second = acta_validate(
        typed(CLEAN_MESA, entered_by="beto", acta_id=str(uuid.uuid4()), blancos=first.blancos + 1)
    )
    actas_record(
        actas=[replace(first, credential="token:1"), replace(second, credential="token:2")], route="grpc"
    )
    acta = Acta.objects.get(mesa_id=CLEAN_MESA)
    assert acta.status == "in_review" and acta.differing_fields == ["blancos"]
    return acta


def staff(username: str, *, may_resolve: bool) -> Client:
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_acta"))
    if may_resolve:
        user.user_permissions.add(Permission.objects.get(codename="resolve_acta"))
    client = Client()
    client.force_login(user)
    return client


def test_the_list_filters_by_status(in_review: Acta) -> None:
    page = staff("sofia", may_resolve=False).get("/admin/election/acta/?status__exact=in_review")
    assert page.status_code == 200 and b"resolver" in page.content


def test_without_the_permission_the_decision_is_refused(in_review: Acta) -> None:
    client = staff("sofia", may_resolve=False)
    first = ActaEntry.objects.order_by("pk").first()
    answer = client.post(f"/admin/election/acta/{in_review.pk}/resolve/", {"entry": first.pk, "reason": "x"})  # type: ignore[union-attr]
    assert answer.status_code == 403
    assert Acta.objects.get(pk=in_review.pk).status == "in_review"


def test_a_supervisor_chooses_an_entry_with_a_reason(in_review: Acta) -> None:
    client = staff("marta", may_resolve=True)
    first = ActaEntry.objects.order_by("pk").first()
    assert first is not None
    assert client.get(f"/admin/election/acta/{in_review.pk}/resolve/").status_code == 200
    answer = client.post(
        f"/admin/election/acta/{in_review.pk}/resolve/",
        {"entry": first.pk, "reason": "la imagen dice 10 blancos"},
    )
    assert answer.status_code == 302
    acta = Acta.objects.get(pk=in_review.pk)
    version = acta.current_version
    assert acta.status == "counted" and acta.counted_entry_id == first.pk
    assert version is not None and (version.decided_by, version.reason) == (
        "marta",
        "la imagen dice 10 blancos",
    )
    assert version.decided_at is not None and version.chosen_entry_id == first.pk
    assert ActaTally.objects.get(municipio_id="0506", partido_id="SEMILLA").votes == first.votes["SEMILLA"]
    assert tallies_match_recount()


def test_a_supervisor_types_a_third(in_review: Acta) -> None:
    client = staff("marta", may_resolve=True)
    first = ActaEntry.objects.order_by("pk").first()
    assert first is not None
    numbers = {"votes": first.votes} | {
        name: getattr(first, name)
        for name in (
            "nulos",
            "blancos",
            "invalidos",
            "impugnados",
            "total_valid",
            "total_cast",
            "voters",
            "ballots_received",
            "ballots_unused",
        )
    }
    import json

    answer = client.post(
        f"/admin/election/acta/{in_review.pk}/resolve/",
        {"numbers": json.dumps(numbers), "reason": "recontado"},
    )
    assert answer.status_code == 302
    acta = Acta.objects.get(pk=in_review.pk)
    typed_entry = ActaEntry.objects.get(pk=acta.counted_entry_id)  # type: ignore[misc]
    assert acta.status == "counted" and (typed_entry.entered_by, typed_entry.route) == ("marta", "admin")
    assert ActaEntry.objects.count() == 3  # the two entries kept beside the supervisor's
    assert tallies_match_recount()
