// The figures every level shows first: how much of the count is in, turnout, the ballots,
// and every partido ranked. All as text; bars are decoration beside the numbers.
import { Panel } from "../common";
import { useDataState } from "../data/live";
import type { Area } from "../data/types";
import { formatDateTime, formatInt, formatPercent, formatTime } from "../format";
import { partidoColor } from "../labels";

export function ProgressPanel({ area }: { area: Area | null }) {
  const { head } = useDataState();
  const p = area?.progress;
  return (
    <Panel id="progress" title="Avance del conteo">
      {p ? (
        <div data-testid="progress-figures" data-counted={p.actas_counted} data-expected={p.actas_expected} data-percent={p.percent_counted.toFixed(2)}>
          <p className="big">
            <strong>{formatPercent(p.percent_counted)}</strong> de las actas contadas
          </p>
          <div className="meter" aria-hidden="true">
            <span style={{ width: `${Math.min(100, p.percent_counted)}%` }} />
          </div>
          <p>
            <strong>{formatInt(p.actas_counted)}</strong> actas contadas de <strong>{formatInt(p.actas_expected)}</strong> esperadas
          </p>
          <ul className="facts">
            <li>Inconsistentes: {formatInt(p.actas_inconsistent)}</li>
            <li>En revisión: {formatInt(p.actas_in_review)}</li>
            <li>Pendientes: {formatInt(p.actas_pending)}</li>
          </ul>
          <p data-testid="turnout" data-value={p.turnout_percent.toFixed(2)}>
            Participación: <strong>{formatPercent(p.turnout_percent)}</strong>{" "}
            <span className="unit">
              ({formatInt(p.voters)} votantes de {formatInt(p.padron)} empadronados en las mesas contadas)
            </span>
          </p>
        </div>
      ) : (
        <p className="empty">Cargando…</p>
      )}
      <p className="note" data-testid="data-time">
        {area ? <>Datos de las {formatDateTime(area.as_of)}</> : null}
        {" · "}
        {head ? (
          <>
            instantánea <code data-testid="snapshot-id">{head.id}</code>
            <DetailTime />
          </>
        ) : (
          "sin instantánea publicada aún"
        )}
      </p>
    </Panel>
  );
}

/** The time of the sede and mesa detail (and open data), when it is older than the snapshot's
 * own figures: the writer publishes that detail apart, less often (docs/snapshots.md). */
export function DetailTime() {
  const { head } = useDataState();
  const detail = head?.detail;
  if (!head || !detail || detail.time === head.time) return null;
  return (
    <span data-testid="detail-time" data-time={detail.time}>
      {" · "}detalle por sede y mesa: datos de {formatTime(detail.time)}
    </span>
  );
}

export function BallotsPanel({ area }: { area: Area | null }) {
  const b = area?.ballots;
  const rows: [string, string, number, number][] = b
    ? [
        ["valid", "Válidos", b.valid, b.percent.valid],
        ["nulos", "Nulos", b.nulos, b.percent.nulos],
        ["blancos", "En blanco", b.blancos, b.percent.blancos],
      ]
    : [];
  return (
    <Panel id="ballots" title="Papeletas emitidas">
      {b ? (
        <>
          <table data-table="ballots" className="numbers">
            <tbody>
              {rows.map(([key, label, n, pct]) => (
                <tr key={key} data-field={key} data-value={n}>
                  <th scope="row">{label}</th>
                  <td>{formatInt(n)}</td>
                  <td>{formatPercent(pct)}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr data-field="cast" data-value={b.cast}>
                <th scope="row">Total emitidas</th>
                <td>{formatInt(b.cast)}</td>
                <td />
              </tr>
            </tfoot>
          </table>
          <p className="note">Porcentajes de todas las papeletas emitidas; los de cada partido son de los votos válidos.</p>
        </>
      ) : (
        <p className="empty">Cargando…</p>
      )}
    </Panel>
  );
}

export function PartidosRanked({ area }: { area: Area | null }) {
  const results = area?.results ?? [];
  const max = Math.max(1, ...results.map((r) => r.votes));
  return (
    <Panel id="ranking" title="Votos por partido" wide>
      {area ? (
        <div className="table-scroll">
          <table data-table="results" className="ranking">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Partido</th>
                <th scope="col">Votos</th>
                <th scope="col">% de válidos</th>
                <th scope="col" className="bar-col">
                  <span className="sr-only">Barra</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {results.map((r, i) => (
                <tr key={r.partido} data-partido={r.partido} data-votes={r.votes} data-percent={r.percent.toFixed(2)}>
                  <td>{i + 1}</td>
                  <th scope="row" title={r.nombre}>
                    <span className="swatch" style={{ background: partidoColor(r.partido) }} aria-hidden="true" /> {r.partido}{" "}
                    <span className="unit nombre">{r.nombre}</span>
                  </th>
                  <td className="num">{formatInt(r.votes)}</td>
                  <td className="num">{formatPercent(r.percent)}</td>
                  <td className="bar-col" aria-hidden="true">
                    <span className="rank-bar" style={{ width: `${(r.votes / max) * 100}%`, background: partidoColor(r.partido) }} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="note">
            {formatInt(area.total)} votos válidos · {area.source === "actas" ? "de las actas contadas" : "de los votos transmitidos"}
          </p>
        </div>
      ) : (
        <p className="empty">Cargando…</p>
      )}
    </Panel>
  );
}
