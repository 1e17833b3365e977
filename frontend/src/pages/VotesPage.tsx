import { errorText, type Catalogue, type TopDepartamentos } from "../api";
import { formatInt, formatPercent, formatTime } from "../format";
import { panelUrl, SNAPSHOT_MODE } from "../data/source";
import { useLiveSummary, useResource } from "../live";
import { LatestPanel, PartidosPanel, RoutesPanel, TopDepartamentosPanel, TopSedesPanel } from "./panels";
import { SnapshotPiesPanel } from "./SnapshotPies";
import { VotesPanel } from "./VotesPanel";

/** The original panels, on the streamed ballots ("Votos transmitidos"), as before the results site. */
export function VotesPage() {
  const live = useLiveSummary();
  // The catalogue changes only when an operator edits it: read once per page load.
  const catalogue = useResource<Catalogue>(panelUrl(null, "/api/catalogue/", {}, null), "catalogue");
  const topDepartamentos = useResource<TopDepartamentos>(
    panelUrl(live.version, "/api/results/top-departamentos", { papeleta: "presidente", limit: 3 }, "votes/presidente/top-departamentos.json"),
    live.version,
  );

  return (
    <>
      <div className="page-head live-head">
        <h1>Votos transmitidos, en vivo</h1>
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
      </div>
      <div className="grid">
        <RoutesPanel live={live} />
        <TopDepartamentosPanel top={topDepartamentos} />
        <TopSedesPanel version={live.version} />
        {SNAPSHOT_MODE ? (
          <SnapshotPiesPanel />
        ) : (
          <PartidosPanel version={live.version} top={topDepartamentos} catalogue={catalogue.data} />
        )}
        <LatestPanel version={live.version} />
        <VotesPanel version={live.version} catalogue={catalogue.data} />
      </div>
      <p className="foot">
        {SNAPSHOT_MODE
          ? "Datos de la última instantánea publicada; la página la vuelve a leer cada 15 segundos, sin recargar."
          : "Datos de la API de resultados; la página se actualiza sola cada segundo, sin recargar."}
      </p>
    </>
  );
}
