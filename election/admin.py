from django.contrib import admin
from django.http import HttpRequest

from election import models


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


class MunicipioAliasInline(admin.TabularInline):
    model = models.MunicipioAlias
    extra = 0


class PartidoAliasInline(admin.TabularInline):
    model = models.PartidoAlias
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
    list_display = ("sigla", "nombre")
    search_fields = ("sigla", "nombre", "aliases__alias")
    inlines = [PartidoAliasInline]
