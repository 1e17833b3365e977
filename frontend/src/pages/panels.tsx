import { useEffect, useState } from "react";
import { type Ballots, type Catalogue, type Partidos, type Route, type TopDepartamentos, type TopSedes, type Vote } from "../api";
import { BarChart, PieChart } from "../charts";
import { partidoColor } from "../labels";
import { Panel, VoteTable, papeletaLabel } from "../common";
import { formatDecimal, formatInt, formatMs, formatPercent, ROUTE_LABEL } from "../format";
import { panelUrl, SNAPSHOT_MODE } from "../data/source";
import { useResource, type Live, type Resource } from "../live";

const ROUTES: Route[] = ["grpc", "redis"];

export function RoutesPanel({ live }: { live: Live }) {
  const byRoute = live.summary?.by_route ?? {};
  // One column per route, one row per figure: the two routes side by side, even on a phone.
  const rows: { field: string; label: string; title?: string; value: (route: Route) => number | null; text: (route: Route) => string }[] = [
    {
      field: "votes",
      label: "Votos guardados",
      value: (route) => byRoute[route]?.votes ?? 0,
      text: (route) => formatInt(byRoute[route]?.votes ?? 0),
    },
    {
      field: "rate",
      label: "Votos por segundo",
      title: "Promedio de los últimos 10 segundos",
      value: (route) => live.rates?.[route] ?? null,
      text: (route) => formatDecimal(live.rates?.[route]),
    },
    {
      field: "p50",
      label: "Tiempo a guardado, mediana",
      title: "De la recepción en la ruta al commit en MySQL, percentil 50",
      value: (route) => byRoute[route]?.latency_ms.p50 ?? null,
      text: (route) => formatMs(byRoute[route]?.latency_ms.p50),
    },
    {
      field: "p95",
      label: "Tiempo a guardado, p95",
      title: "De la recepción en la ruta al commit en MySQL, percentil 95",
      value: (route) => byRoute[route]?.latency_ms.p95 ?? null,
      text: (route) => formatMs(byRoute[route]?.latency_ms.p95),
    },
  ];
  return (
    <Panel id="routes" title="Comparación de rutas" error={live.error}>
      <div className="table-scroll">
        <table data-table="routes" className="routes">
          <thead>
            <tr>
              <td />
              {ROUTES.map((route) => (
                <th scope="col" key={route}>
                  {ROUTE_LABEL[route]}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.field}>
                <th scope="row" title={row.title}>
                  {row.label}
                </th>
                {ROUTES.map((route) => (
                  <td key={route} data-route={route} data-field={row.field} data-value={row.value(route) ?? ""}>
                    {row.text(route)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="note">
        Votos por segundo: promedio de los últimos 10 segundos. Tiempo a guardado: de la recepción en la ruta al
        commit en MySQL.
      </p>
    </Panel>
  );
}

// Null and blank ballots, as shares of all ballots cast: they are no partido's slice.
export function BallotsNote({ name, ballots }: { name: string; ballots: Ballots | undefined }) {
  if (!ballots) return null;
  return (
    <p className="ballots" data-ballots={name} data-nulos={ballots.nulos} data-blancos={ballots.blancos} data-cast={ballots.cast}>
      Nulos {formatPercent(ballots.percent.nulos)} <span className="unit">({formatInt(ballots.nulos)})</span>
      {" · "}En blanco {formatPercent(ballots.percent.blancos)} <span className="unit">({formatInt(ballots.blancos)})</span>
      {" · "}de {formatInt(ballots.cast)} papeletas emitidas
    </p>
  );
}

export function TopDepartamentosPanel({ top }: { top: Resource<TopDepartamentos> }) {
  const bars = (top.data?.results ?? []).map((r) => ({ key: r.departamento, label: r.departamento, value: r.votes }));
  return (
    <Panel id="top-departamentos" title="Departamentos con más votos válidos · Presidente" error={top.error}>
      <BarChart name="top-departamentos" bars={bars} unit="votos" />
    </Panel>
  );
}

export function TopSedesPanel({ version }: { version: string | null }) {
  const top = useResource<TopSedes>(
    panelUrl(version, "/api/results/top-sedes", { limit: 5 }, "votes/presidente/top-sedes.json"),
    version,
  );
  const bars = (top.data?.results ?? []).map((r) => ({
    key: `${r.departamento}|${r.municipio}|${r.sede}`,
    label: `Sede ${r.sede} · ${r.municipio}, ${r.departamento}`,
    value: r.votes,
  }));
  return (
    <Panel id="top-sedes" title={`Sedes con más papeletas emitidas · ${SNAPSHOT_MODE ? "Presidente" : "todas las papeletas"}`} error={top.error}>
      <BarChart name="top-sedes" bars={bars} unit="votos" />
    </Panel>
  );
}

export function LatestPanel({ version }: { version: string | null }) {
  const latest = useResource<{ results: Vote[] }>(
    panelUrl(version, "/api/votes/latest", { limit: 5 }, "latest-votes.json"),
    version,
  );
  return (
    <Panel id="latest" title="Últimos 5 votos guardados" wide error={latest.error}>
      <VoteTable name="latest" votes={latest.data?.results ?? []} empty="Aún no hay votos." />
    </Panel>
  );
}

interface PartidosProps {
  version: string | null;
  top: Resource<TopDepartamentos>;
  catalogue: Catalogue | null;
}

export function PartidosPanel({ version, top, catalogue }: PartidosProps) {
  const [departamento, setDepartamento] = useState<string | null>(null);
  const [municipio, setMunicipio] = useState<string | null>(null);
  const [papeleta, setPapeleta] = useState("presidente");

  // Until someone chooses, show the departamento leading on presidente (or the first one).
  useEffect(() => {
    if (departamento !== null || !catalogue) return;
    const leader = top.data?.results[0]?.departamento;
    if (leader || top.data) setDepartamento(leader ?? catalogue.departamentos[0]?.nombre ?? null);
  }, [departamento, catalogue, top.data]);

  const municipios = catalogue?.departamentos.find((d) => d.nombre === departamento)?.municipios ?? [];
  const chosenMunicipio = municipios.some((m) => m.nombre === municipio) ? municipio : (municipios[0]?.nombre ?? null);

  const papeletaParam = papeleta === "" ? null : papeleta;
  const byDepartamento = useResource<Partidos>(
    departamento ? panelUrl(version, "/api/results/partidos", { departamento, papeleta: papeletaParam }, null) : null,
    version,
  );
  const byMunicipio = useResource<Partidos>(
    departamento && chosenMunicipio
      ? panelUrl(version, "/api/results/partidos", { departamento, municipio: chosenMunicipio, papeleta: papeletaParam }, null)
      : null,
    version,
  );

  const slicesOf = (answer: Partidos | null) =>
    (answer?.results ?? []).map((r) => ({
      key: r.partido,
      label: r.partido,
      value: r.votes,
      percent: r.percent,
      color: partidoColor(r.partido),
    }));

  return (
    <Panel id="partidos" title="Porcentaje por partido" wide error={byDepartamento.error ?? byMunicipio.error}>
      <div className="controls">
        <label>
          Departamento
          <select
            name="departamento"
            value={departamento ?? ""}
            onChange={(e) => {
              setDepartamento(e.target.value);
              setMunicipio(null);
            }}
          >
            {catalogue?.departamentos.map((d) => (
              <option key={d.code} value={d.nombre}>
                {d.nombre}
              </option>
            ))}
          </select>
        </label>
        <label>
          Municipio
          <select name="municipio" value={chosenMunicipio ?? ""} onChange={(e) => setMunicipio(e.target.value)}>
            {municipios.map((m) => (
              <option key={m.code} value={m.nombre}>
                {m.nombre}
              </option>
            ))}
          </select>
        </label>
        <label>
          Papeleta
          <select name="papeleta" value={papeleta} onChange={(e) => setPapeleta(e.target.value)}>
            <option value="">Todas</option>
            {catalogue?.papeletas.map((p) => (
              <option key={p.code} value={p.code}>
                {papeletaLabel(p.code, catalogue)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="pies">
        <figure data-testid="pie-departamento" data-area={byDepartamento.data?.departamento ?? ""}>
          <figcaption>
            Departamento: <strong>{departamento ?? "—"}</strong>
            {byDepartamento.data ? <span className="unit"> · {formatInt(byDepartamento.data.total)} votos válidos</span> : null}
          </figcaption>
          <PieChart name="partidos-departamento" slices={slicesOf(byDepartamento.data)} total={byDepartamento.data?.total ?? 0} />
          <BallotsNote name="partidos-departamento" ballots={byDepartamento.data?.ballots} />
        </figure>
        <figure data-testid="pie-municipio" data-area={byMunicipio.data?.municipio ?? ""}>
          <figcaption>
            Municipio: <strong>{chosenMunicipio ?? "—"}</strong>
            {byMunicipio.data ? <span className="unit"> · {formatInt(byMunicipio.data.total)} votos válidos</span> : null}
          </figcaption>
          <PieChart name="partidos-municipio" slices={slicesOf(byMunicipio.data)} total={byMunicipio.data?.total ?? 0} />
          <BallotsNote name="partidos-municipio" ballots={byMunicipio.data?.ballots} />
        </figure>
      </div>
    </Panel>
  );
}
