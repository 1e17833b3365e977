// One page per level (país, departamento, municipio, sede), the same panels on each: the
// selectors, the count's progress and turnout, the ballots, every partido ranked, the map
// (país and departamento), every child area as text, and the count over time (país).
import { lazy, Suspense } from "react";
import { Link, useLocation } from "wouter";
import { Panel } from "../common";
import { useLoaded } from "../data/live";
import { areaLoader } from "../data/source";
import type { Area, CountSource } from "../data/types";
import { PAPELETAS, SOURCES } from "../labels";
import { MapPanel } from "../map/MapPanel";
import { ChildrenTable } from "../results/ChildrenTable";
import { Downloads } from "../results/Downloads";
import { BallotsPanel, PartidosRanked, ProgressPanel } from "../results/SummaryPanels";
import { useSelection } from "../selection";

const Timeline = lazy(() => import("../results/Timeline").then((m) => ({ default: m.Timeline })));

export interface AreaProps {
  departamento?: string;
  municipio?: string;
  sede?: string;
}

export function AreaPage({ departamento, municipio, sede }: AreaProps) {
  const selection = useSelection();
  const area = useLoaded(areaLoader({ source: selection.source, papeleta: selection.papeleta, departamento, municipio, sede }));
  const data = area.data;
  const level = sede ? "sede" : municipio ? "municipio" : departamento ? "departamento" : "pais";
  return (
    <div className="results" data-level={level} data-loaded={data ? "true" : "false"}>
      <div className="page-head">
        <Breadcrumb area={data} departamento={departamento} municipio={municipio} sede={sede} />
        <h1 data-testid="area-title">{titleOf(data, level, sede)}</h1>
        <Selectors />
      </div>
      {area.error ? (
        <Panel id="area-error" title="No se pudieron leer los resultados" error={area.error}>
          <p className="note">Se vuelve a intentar solo.</p>
        </Panel>
      ) : null}
      <div className="grid">
        <ProgressPanel area={data} />
        <BallotsPanel area={data} />
        <PartidosRanked area={data} />
        {level === "pais" || level === "departamento" ? <MapPanel area={data} departamento={departamento ?? null} /> : null}
        <ChildrenTable area={data} level={level} />
        {level === "pais" ? (
          <Suspense fallback={null}>
            <Timeline />
          </Suspense>
        ) : null}
        <Downloads />
      </div>
    </div>
  );
}

function titleOf(area: Area | null, level: string, sede?: string): string {
  if (level === "pais") return "Resultados nacionales · Guatemala";
  if (level === "departamento") return `Departamento de ${area?.departamento?.nombre ?? "…"}`;
  if (level === "municipio") return `Municipio de ${area?.municipio?.nombre ?? "…"}, ${area?.departamento?.nombre ?? "…"}`;
  return `Sede ${sede} · ${area?.municipio?.nombre ?? "…"}, ${area?.departamento?.nombre ?? "…"}`;
}

export function Breadcrumb({ area, departamento, municipio, sede, mesa }: AreaProps & { area: Area | null; mesa?: string }) {
  const { query } = useSelection();
  const depName = area?.departamento?.nombre ?? departamento;
  const munName = area?.municipio?.nombre ?? municipio;
  return (
    <nav aria-label="Ubicación" className="crumbs">
      <Link href={`/${query}`}>Guatemala</Link>
      {departamento ? (
        <>
          {" › "}
          <Link href={`/d/${departamento}${query}`}>{depName}</Link>
        </>
      ) : null}
      {municipio ? (
        <>
          {" › "}
          <Link href={`/m/${municipio}${query}`}>{munName}</Link>
        </>
      ) : null}
      {sede && municipio ? (
        <>
          {" › "}
          <Link href={`/s/${municipio}/${sede}${query}`}>Sede {sede}</Link>
        </>
      ) : null}
      {mesa ? <> › Mesa {mesa}</> : null}
    </nav>
  );
}

export function Selectors({ hideSource }: { hideSource?: boolean }) {
  const selection = useSelection();
  const [location, navigate] = useLocation();
  return (
    <form className="controls selectors" onSubmit={(e) => e.preventDefault()} aria-label="Qué resultados ver">
      <label>
        Papeleta
        <select
          name="papeleta"
          value={selection.papeleta}
          onChange={(e) => navigate(`${location}${selection.with({ papeleta: e.target.value })}`)}
        >
          {PAPELETAS.map((p) => (
            <option key={p.code} value={p.code}>
              {p.label}
            </option>
          ))}
        </select>
      </label>
      {hideSource ? null : (
        <label>
          Fuente
          <select
            name="source"
            value={selection.source}
            onChange={(e) => navigate(`${location}${selection.with({ source: e.target.value as CountSource })}`)}
          >
            {SOURCES.map((s) => (
              <option key={s.code} value={s.code}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
      )}
    </form>
  );
}
