from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from election import models
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
