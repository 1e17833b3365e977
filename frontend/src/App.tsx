import { useMemo } from "react";
import { apiUrl, errorText, type Catalogue, type TopDepartamentos } from "./api";
import { formatInt, formatPercent, formatTime } from "./format";
import { useLiveSummary, useResource } from "./live";
import { LatestPanel, PartidosPanel, RoutesPanel, TopDepartamentosPanel, TopSedesPanel } from "./panels";
import { VotesPanel } from "./VotesPanel";

export function App() {
  const live = useLiveSummary();
  // The catalogue changes only when an operator edits it: read once per page load.
  const catalogue = useResource<Catalogue>(apiUrl("/api/catalogue/"), "catalogue");
  const topDepartamentos = useResource<TopDepartamentos>(
    apiUrl("/api/results/top-departamentos", { papeleta: "presidente", limit: 3 }),
    live.version,
  );
  const partidoIndex = useMemo(() => {
    const index = new Map<string, number>();
    catalogue.data?.partidos.forEach((p, i) => index.set(p.sigla, i));
    return index;
  }, [catalogue.data]);

  return (
    <>
      <header className="top">
        <h1>Escrutinio en vivo</h1>
        <p className="status" role="status" data-testid="status">
          <span className="total">
            Votos contados: <strong data-testid="total" data-value={live.summary?.total ?? ""}>
              {live.summary ? formatInt(live.summary.total) : "—"}
            </strong>
          </span>
          {live.summary ? (
            <span className="ballots" data-testid="ballots" data-nulos={live.summary.ballots.nulos} data-blancos={live.summary.ballots.blancos}>
              Nulos: <strong>{formatPercent(live.summary.ballots.percent.nulos)}</strong>
              {" · "}En blanco: <strong>{formatPercent(live.summary.ballots.percent.blancos)}</strong>
            </span>
          ) : null}
          {live.error ? (
            <span className="offline">Sin conexión con la API: {errorText(live.error)} Reintentando…</span>
          ) : live.updatedAt ? (
            <span className="updated">Actualizado a las {formatTime(live.updatedAt.toISOString())}</span>
          ) : (
            <span className="updated">Cargando…</span>
          )}
        </p>
      </header>
      <main className="grid">
        <RoutesPanel live={live} />
        <TopDepartamentosPanel top={topDepartamentos} />
        <TopSedesPanel version={live.version} />
        <PartidosPanel version={live.version} top={topDepartamentos} catalogue={catalogue.data} partidoIndex={partidoIndex} />
        <LatestPanel version={live.version} />
        <VotesPanel version={live.version} catalogue={catalogue.data} />
      </main>
      <footer className="foot">
        Datos de la API de resultados; la página se actualiza sola cada segundo, sin recargar.
      </footer>
    </>
  );
}
