// Every child area of the page (departamentos, municipios, sedes or mesas) with its leader,
// margin and count progress, as text: the map's numbers, readable without the map.
import { Link } from "wouter";
import { Panel } from "../common";
import type { Area } from "../data/types";
import { formatInt, formatPercent } from "../format";
import { partidoColor, STATUS_LABEL } from "../labels";
import { useSelection } from "../selection";

const CHILD_NAME: Record<string, string> = { pais: "Departamento", departamento: "Municipio", municipio: "Sede", sede: "Mesa" };

export function childHref(area: Area, level: string, code: string, query: string): string {
  if (level === "pais") return `/d/${code}${query}`;
  if (level === "departamento") return `/m/${code}${query}`;
  const municipio = area.municipio?.code ?? "";
  if (level === "municipio") return `/s/${municipio}/${encodeURIComponent(code)}${query}`;
  return `/mesa/${municipio}/${encodeURIComponent(area.sede ?? "")}/${code}${query}`;
}

export function ChildrenTable({ area, level }: { area: Area | null; level: string }) {
  const { query } = useSelection();
  const name = CHILD_NAME[level];
  return (
    <Panel id="children" title={`Resultados por ${name.toLowerCase()}`} wide>
      {area ? (
        <div className="table-scroll">
          <table data-table="children">
            <thead>
              <tr>
                <th scope="col">{name}</th>
                <th scope="col">Lidera</th>
                <th scope="col">% del líder</th>
                <th scope="col">Ventaja</th>
                <th scope="col">Válidos</th>
                <th scope="col">Emitidos</th>
                <th scope="col">Actas contadas</th>
                {level === "sede" ? <th scope="col">Estado del acta</th> : null}
              </tr>
            </thead>
            <tbody>
              {area.children.map((c) => (
                <tr key={c.code} data-code={c.code} data-leader={c.leader ?? ""} data-total={c.total} data-percent-counted={c.percent_counted.toFixed(2)}>
                  <th scope="row">
                    <Link href={childHref(area, level, c.code, query)}>{c.nombre}</Link>
                  </th>
                  <td>
                    {c.leader ? (
                      <>
                        <span className="swatch" style={{ background: partidoColor(c.leader) }} aria-hidden="true" /> {c.leader}
                      </>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td className="num">{c.leader_percent == null ? "—" : formatPercent(c.leader_percent)}</td>
                  <td className="num" title={c.runner_up ? `sobre ${c.runner_up}` : undefined}>
                    {c.margin_percent == null ? "—" : `${formatPercent(c.margin_percent).replace(" %", "")} pts`}
                    {c.runner_up ? <span className="unit"> sobre {c.runner_up}</span> : null}
                  </td>
                  <td className="num">{formatInt(c.total)}</td>
                  <td className="num">{formatInt(c.cast)}</td>
                  <td className="num">
                    {formatInt(c.actas_counted)} de {formatInt(c.actas_expected)} ({formatPercent(c.percent_counted)})
                  </td>
                  {level === "sede" ? <td data-status={c.status ?? ""}>{STATUS_LABEL[c.status ?? "pending"] ?? c.status}</td> : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p className="empty">Cargando…</p>
      )}
    </Panel>
  );
}
