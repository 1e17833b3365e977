// The count over time, from the snapshots' chain: the share of actas counted, ballots per
// minute, and each partido's share of the valid votes as the count advanced.
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { Panel } from "../common";
import { useLoaded } from "../data/live";
import { timelineLoader } from "../data/source";
import type { TimelinePoint } from "../data/types";
import { formatDecimal, formatInt, formatPercent, formatTime } from "../format";
import { partidoColor } from "../labels";
import { useSelection } from "../selection";

const TOP_PARTIDOS = 6; // more lines than this cannot be told apart

function sharesOf(point: TimelinePoint): Record<string, number> {
  const shares: Record<string, number> = {};
  for (const [sigla, votes] of Object.entries(point.partidos)) shares[sigla] = point.valid ? (votes / point.valid) * 100 : 0;
  return shares;
}

export function Timeline() {
  const { source, papeleta } = useSelection();
  const timeline = useLoaded(timelineLoader(source, papeleta));
  const points = timeline.data?.points ?? [];
  const last = points[points.length - 1];
  const partidos = last
    ? Object.entries(last.partidos)
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .slice(0, TOP_PARTIDOS)
        .map(([sigla]) => sigla)
    : [];
  const rows = points.map((p) => ({ time: formatTime(p.time), percent: p.percent_counted, rate: p.ballots_per_minute, ...sharesOf(p) }));

  return (
    <Panel id="timeline" title="El conteo en el tiempo" wide error={timeline.error}>
      {points.length === 0 ? (
        <p className="empty">{timeline.loading ? "Cargando…" : "Aún no hay instantáneas con las que trazar el conteo."}</p>
      ) : (
        <>
          <p data-testid="timeline-last" data-points={points.length}>
            {points.length} instantáneas · la última, a las {formatTime(last.time)}: {formatPercent(last.percent_counted)} de actas contadas,{" "}
            {formatInt(last.cast)} papeletas, {formatDecimal(last.ballots_per_minute)} papeletas por minuto.
          </p>
          <div className="charts3">
            <figure>
              <figcaption>Actas contadas (%)</figcaption>
              <ResponsiveContainer width="100%" height={200}>
                <LineChart data={rows} accessibilityLayer>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="time" minTickGap={30} />
                  <YAxis domain={[0, 100]} width={36} />
                  <Tooltip formatter={(v) => formatPercent(Number(v))} />
                  <Line dataKey="percent" name="Actas contadas" stroke="var(--accent)" dot={false} isAnimationActive={false} />
                </LineChart>
              </ResponsiveContainer>
            </figure>
            <figure>
              <figcaption>Papeletas por minuto</figcaption>
              <ResponsiveContainer width="100%" height={200}>
                <LineChart data={rows} accessibilityLayer>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="time" minTickGap={30} />
                  <YAxis width={48} />
                  <Tooltip formatter={(v) => formatDecimal(Number(v))} />
                  <Line dataKey="rate" name="Papeletas por minuto" stroke="#7a4fa8" dot={false} isAnimationActive={false} connectNulls />
                </LineChart>
              </ResponsiveContainer>
            </figure>
            <figure>
              <figcaption>Porcentaje de votos válidos por partido</figcaption>
              <ResponsiveContainer width="100%" height={220}>
                <LineChart data={rows} accessibilityLayer>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="time" minTickGap={30} />
                  <YAxis width={36} />
                  <Tooltip formatter={(v) => formatPercent(Number(v))} />
                  <Legend />
                  {partidos.map((sigla) => (
                    <Line key={sigla} dataKey={sigla} stroke={partidoColor(sigla)} dot={false} isAnimationActive={false} />
                  ))}
                </LineChart>
              </ResponsiveContainer>
            </figure>
          </div>
          <details>
            <summary>Ver los números de las últimas instantáneas</summary>
            <div className="table-scroll">
              <table data-table="timeline">
                <thead>
                  <tr>
                    <th scope="col">Hora</th>
                    <th scope="col">Actas contadas</th>
                    <th scope="col">Papeletas</th>
                    <th scope="col">Por minuto</th>
                    {partidos.map((s) => (
                      <th scope="col" key={s}>
                        {s}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {points.slice(-20).reverse().map((p) => (
                    <tr key={p.id}>
                      <td>{formatTime(p.time)}</td>
                      <td>
                        {formatInt(p.actas_counted)} ({formatPercent(p.percent_counted)})
                      </td>
                      <td>{formatInt(p.cast)}</td>
                      <td>{formatDecimal(p.ballots_per_minute)}</td>
                      {partidos.map((s) => (
                        <td key={s}>{formatInt(p.partidos[s] ?? 0)}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </>
      )}
    </Panel>
  );
}
