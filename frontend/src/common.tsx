import type { ReactNode } from "react";
import { errorText, type Catalogue, type Vote } from "./api";
import { formatTime, ROUTE_LABEL } from "./format";

export function Panel(props: { id: string; title: string; wide?: boolean; children: ReactNode; error?: unknown }) {
  return (
    <section className={props.wide ? "panel wide" : "panel"} data-testid={props.id} aria-labelledby={`${props.id}-title`}>
      <h2 id={`${props.id}-title`}>{props.title}</h2>
      {props.error ? (
        <p className="error" role="alert">
          {errorText(props.error)}
        </p>
      ) : null}
      {props.children}
    </section>
  );
}

const PAPELETA_SHORT: Record<string, string> = {
  presidente: "Presidente",
  diputados_nacional: "Diputados (lista nacional)",
  diputados_distrital: "Diputados (distrito)",
  municipal: "Corporación municipal",
  parlacen: "Parlacen",
};

/** A short name for a ballot; the catalogue's full name for one this page does not know. */
export function papeletaLabel(code: string, catalogue?: Catalogue | null): string {
  return PAPELETA_SHORT[code] ?? catalogue?.papeletas.find((p) => p.code === code)?.nombre ?? code;
}

export function VoteTable({ votes, name, empty }: { votes: Vote[]; name: string; empty: string }) {
  if (votes.length === 0) {
    return (
      <p className="empty" data-table={name} data-empty="true">
        {empty}
      </p>
    );
  }
  return (
    <div className="table-scroll">
      <table data-table={name}>
        <thead>
          <tr>
            <th scope="col">Hora</th>
            <th scope="col">Departamento</th>
            <th scope="col">Municipio</th>
            <th scope="col">Sede</th>
            <th scope="col">Papeleta</th>
            <th scope="col">Partido</th>
            <th scope="col">Ruta</th>
          </tr>
        </thead>
        <tbody>
          {votes.map((vote) => (
            <tr key={vote.vote_id} data-vote-id={vote.vote_id}>
              <td data-field="stored_at" title={`Recibido ${vote.received_at}, guardado ${vote.stored_at}`}>
                {formatTime(vote.stored_at)}
              </td>
              <td data-field="departamento">{vote.departamento}</td>
              <td data-field="municipio">{vote.municipio}</td>
              <td data-field="sede">{vote.sede}</td>
              <td data-field="papeleta" data-code={vote.papeleta}>
                {papeletaLabel(vote.papeleta)}
              </td>
              <td data-field="partido">{vote.partido}</td>
              <td data-field="route" data-code={vote.route}>
                {ROUTE_LABEL[vote.route] ?? vote.route}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
