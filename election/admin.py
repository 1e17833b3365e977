from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html

from election import models
from election.actas.resolution import ResolutionRefused, acta_resolve
from election.catalogue.index import municipio_alias_clash, partido_alias_clash


@admin.register(models.Vote)
class VoteAdmin(admin.ModelAdmin):
    """Votes are evidence: visible to staff, never added, edited or deleted here."""

    list_display = (
        "vote_id",
        "departamento",
        "municipio",
        "sede",
        "papeleta",
        "partido",
        "route",
        "received_at",
        "stored_at",
    )
    list_filter = ("departamento", "papeleta", "partido", "route")
    search_fields = ("=sede", "=vote_id")
    list_select_related = ("departamento", "municipio", "papeleta", "partido")
    show_full_result_count = False  # COUNT(*) over millions of rows on every page is too slow
    date_hierarchy = "stored_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class _AliasFormSet(BaseInlineFormSet):
    """Refuses an alias that would make a name ambiguous, on its field, before anything is
    saved: validation could no longer read the catalogue (election/catalogue/index.py)."""

    def clean(self) -> None:
        super().clean()
        for form in self.forms:
            alias = form.cleaned_data.get("alias") if form.cleaned_data else None
            if alias and not form.cleaned_data.get("DELETE"):
                clash = self.clash(alias)
                if clash:
                    form.add_error("alias", clash)

    def clash(self, alias: str) -> str | None:
        raise NotImplementedError


class MunicipioAliasFormSet(_AliasFormSet):
    def clash(self, alias: str) -> str | None:
        municipio = self.instance
        other = municipio_alias_clash(alias, municipio.code, municipio.departamento_id)
        if other is None:
            return None
        return (
            f"«{alias}» ya nombra al municipio {other.nombre} ({other.code}) del mismo departamento: "
            "un alias debe nombrar un solo municipio."
        )


class PartidoAliasFormSet(_AliasFormSet):
    def clash(self, alias: str) -> str | None:
        other = partido_alias_clash(alias, self.instance.sigla)
        if other is None:
            return None
        return f"«{alias}» ya nombra al partido {other}: un alias debe nombrar un solo partido."


class MunicipioAliasInline(admin.TabularInline):
    model = models.MunicipioAlias
    formset = MunicipioAliasFormSet
    extra = 0


class PartidoAliasInline(admin.TabularInline):
    model = models.PartidoAlias
    formset = PartidoAliasFormSet
    extra = 0


@admin.register(models.Departamento)
class DepartamentoAdmin(admin.ModelAdmin):
    list_display = ("code", "nombre")
    search_fields = ("code", "nombre")


@admin.register(models.Municipio)
class MunicipioAdmin(admin.ModelAdmin):
    list_display = ("code", "nombre", "departamento")
    list_filter = ("departamento",)
    search_fields = ("code", "nombre", "aliases__alias")
    inlines = [MunicipioAliasInline]


@admin.register(models.Papeleta)
class PapeletaAdmin(admin.ModelAdmin):
    list_display = ("code", "color", "nombre")


@admin.register(models.Partido)
class PartidoAdmin(admin.ModelAdmin):
    list_display = ("sigla", "nombre", "kind")
    list_filter = ("kind",)
    search_fields = ("sigla", "nombre", "aliases__alias")
    inlines = [PartidoAliasInline]


# --- Actas: evidence to read, and a supervisor's decision (election/actas/resolution.py) ----


class ActaResolveForm(forms.Form):
    entry = forms.ModelChoiceField(
        queryset=models.ActaEntry.objects.none(), required=False, label="Elegir una entrada"
    )
    numbers = forms.JSONField(
        required=False,
        label="O escribir los números",
        help_text='{"votes": {"UNE": 10, ...}, "nulos": 0, "blancos": 0, "invalidos": 0, "impugnados": 0, '
        '"total_valid": 0, "total_cast": 0, "voters": 0, "ballots_received": 0, "ballots_unused": 0}',
    )
    reason = forms.CharField(widget=forms.Textarea, label="Motivo")


class ActaEntryInline(admin.TabularInline):
    model = models.ActaEntry
    fk_name = "version"
    extra = 0
    can_delete = False
    fields = (
        "acta_id",
        "entered_by",
        "credential",
        "route",
        "votes",
        "nulos",
        "blancos",
        "total_valid",
        "total_cast",
        "voters",
        "failed_rules",
        "corrects",
        "reason",
        "received_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(models.Acta)
class ActaAdmin(admin.ModelAdmin):
    """Actas are read here; a supervisor with `election.resolve_acta` decides one in review."""

    list_display = (
        "mesa",
        "papeleta",
        "departamento",
        "municipio",
        "sede",
        "status",
        "failed_rules",
        "updated_at",
        "resolve_link",
    )
    list_filter = ("status", "papeleta", "departamento")
    search_fields = ("=mesa__numero",)
    list_select_related = ("departamento", "municipio", "papeleta")
    readonly_fields = [f.name for f in models.Acta._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="Resolver")
    def resolve_link(self, acta: models.Acta) -> str:
        if acta.status not in (models.ActaStatusChoice.IN_REVIEW, models.ActaStatusChoice.INCONSISTENT):
            return "-"
        return format_html(
            '<a href="{}">resolver</a>', reverse("admin:election_acta_resolve", args=[acta.pk])
        )

    def get_urls(self) -> list:  # type: ignore[type-arg]
        resolve = path(
            "<int:acta_pk>/resolve/",
            self.admin_site.admin_view(self.resolve_view),
            name="election_acta_resolve",
        )
        return [resolve, *super().get_urls()]

    def resolve_view(self, request: HttpRequest, acta_pk: int) -> HttpResponse:
        if not request.user.has_perm("election.resolve_acta"):
            raise PermissionDenied
        acta = models.Acta.objects.get(pk=acta_pk)
        form = ActaResolveForm(request.POST or None)
        form.fields["entry"].queryset = models.ActaEntry.objects.filter(version_id=acta.current_version_id)  # type: ignore[attr-defined]
        if request.method == "POST" and form.is_valid():
            entry = form.cleaned_data["entry"]
            try:
                acta_resolve(
                    acta_pk=acta.pk,
                    supervisor=request.user.get_username(),
                    reason=form.cleaned_data["reason"],
                    entry_pk=entry.pk if entry else None,
                    numbers=form.cleaned_data["numbers"] or None,
                )
            except ResolutionRefused as refused:
                form.add_error(None, str(refused))
            else:
                self.message_user(request, f"Acta de la mesa {acta.mesa_id} resuelta.")
                return redirect("admin:election_acta_change", acta.pk)
        context = {
            **self.admin_site.each_context(request),
            "acta": acta,
            "form": form,
            "title": f"Resolver {acta}",
        }
        return render(request, "admin/election/acta/resolve.html", context)


@admin.register(models.ActaVersion)
class ActaVersionAdmin(admin.ModelAdmin):
    """Every version and its decision, with author and time: never edited here."""

    list_display = ("acta", "number", "status", "decided_by", "decided_at", "reason")
    list_filter = ("status",)
    readonly_fields = [f.name for f in models.ActaVersion._meta.fields]
    inlines = [ActaEntryInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
