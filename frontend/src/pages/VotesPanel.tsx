import { useState } from "react";
import { cursorOf, type Catalogue, type VotePage } from "../api";
import { Panel, VoteTable, papeletaLabel } from "../common";
import { ROUTE_LABEL } from "../format";
import { panelUrl, SNAPSHOT_MODE } from "../data/source";
import { useResource } from "../live";

const PAGE_SIZE = 10;

interface Filters {
  departamento: string;
  municipio: string;
  sede: string;
  papeleta: string;
  partido: string;
  route: string;
}

const NO_FILTERS: Filters = { departamento: "", municipio: "", sede: "", papeleta: "", partido: "", route: "" };
// The API serves one group of filters at a time, each straight off an index (docs/api.md):
// choosing a filter of one group clears the others.
const GROUPS: (keyof Filters)[][] = [["departamento", "municipio", "sede"], ["papeleta", "partido"], ["route"]];

function filtersWith(previous: Filters, field: keyof Filters, value: string): Filters {
  const group = GROUPS.find((fields) => fields.includes(field)) ?? [];
  const next: Filters = value ? { ...NO_FILTERS } : { ...previous };
  for (const kept of group) next[kept] = previous[kept];
  next[field] = value;
  if (field === "departamento") next.municipio = "";
  if (field === "departamento" || field === "municipio") next.sede = value ? next.sede : "";
  return next;
}

export function VotesPanel({ version, catalogue }: { version: string | null; catalogue: Catalogue | null }) {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [cursor, setCursor] = useState<string | null>(null);
  const unfiltered = cursor === null && Object.values(filters).every((v) => v === "");
  // Snapshot mode: the newest page only, as written with the snapshot; filters need the API.
  const url = panelUrl(version, "/api/votes/", { ...filters, sede: filters.sede.trim(), page_size: PAGE_SIZE, cursor }, unfiltered ? "votes.json" : null);
  // The first page follows new votes; an older page stays put while it is being read.
  const page = useResource<VotePage>(url, cursor === null ? version : version && "fixed");

  const set = (field: keyof Filters) => (value: string) => {
    setFilters((previous) => filtersWith(previous, field, value));
    setCursor(null);
  };
  const municipios = catalogue?.departamentos.find((d) => d.nombre === filters.departamento)?.municipios ?? [];
  const next = cursorOf(page.data?.next ?? null);
  const previous = cursorOf(page.data?.previous ?? null);

  return (
    <Panel id="votes" title="Todos los votos" wide error={page.error}>
      {SNAPSHOT_MODE ? <p className="note">Los votos más recientes de la última instantánea; los filtros y las páginas anteriores están en la API.</p> : null}
      <form hidden={SNAPSHOT_MODE} className="controls" onSubmit={(e) => e.preventDefault()} aria-label="Filtros">
        <Select label="Departamento" name="departamento" value={filters.departamento} onChange={set("departamento")}
          options={catalogue?.departamentos.map((d) => [d.nombre, d.nombre]) ?? []} />
        <Select label="Municipio" name="municipio" value={filters.municipio} onChange={set("municipio")}
          options={municipios.map((m) => [m.nombre, m.nombre])} disabled={!filters.departamento} />
        <label>
          Sede
          <input name="sede" inputMode="numeric" value={filters.sede} onChange={(e) => set("sede")(e.target.value)}
            placeholder={filters.municipio ? "Todas" : "Elija municipio"} size={6} disabled={!filters.municipio} />
        </label>
        <Select label="Papeleta" name="papeleta" value={filters.papeleta} onChange={set("papeleta")} all="Todas"
          options={catalogue?.papeletas.map((p) => [p.code, papeletaLabel(p.code, catalogue)]) ?? []} />
        <Select label="Partido" name="partido" value={filters.partido} onChange={set("partido")}
          options={catalogue?.partidos.map((p) => [p.sigla, p.sigla]) ?? []} />
        <Select label="Ruta" name="route" value={filters.route} onChange={set("route")} all="Todas"
          options={Object.entries(ROUTE_LABEL)} />
        <button type="button" onClick={() => { setFilters(NO_FILTERS); setCursor(null); }}>
          Quitar filtros
        </button>
      </form>
      <VoteTable name="votes" votes={page.data?.results ?? []} empty="Ningún voto con estos filtros." />
      <nav hidden={SNAPSHOT_MODE} className="pager" aria-label="Páginas">
        <button type="button" name="newer" disabled={cursor === null} onClick={() => setCursor(null)}>
          « Primera página
        </button>
        <button type="button" name="previous" disabled={!previous} onClick={() => setCursor(previous)}>
          ‹ Más nuevos
        </button>
        <button type="button" name="next" disabled={!next} onClick={() => setCursor(next)}>
          Más antiguos ›
        </button>
      </nav>
    </Panel>
  );
}

function Select(props: {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  options: [string, string][];
  disabled?: boolean;
  all?: string;
}) {
  return (
    <label>
      {props.label}
      <select name={props.name} value={props.value} disabled={props.disabled} onChange={(e) => props.onChange(e.target.value)}>
        <option value="">{props.all ?? "Todos"}</option>
        {props.options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}
