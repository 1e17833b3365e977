// Snapshot mode's pies per departamento and municipio: the snapshot holds no /partidos answer,
// but its area files on the streamed ballots (source=votes) carry the same numbers by code.
import { useState } from "react";
import { PieChart } from "../charts";
import { Panel } from "../common";
import { useLoaded } from "../data/live";
import { areaLoader } from "../data/source";
import type { Area } from "../data/types";
import { formatInt } from "../format";
import { PAPELETAS, partidoColor } from "../labels";
import { BallotsNote } from "./panels";

function slicesOf(area: Area | null) {
  return (area?.results ?? [])
    .filter((r) => r.votes > 0)
    .map((r) => ({ key: r.partido, label: r.partido, value: r.votes, percent: r.percent, color: partidoColor(r.partido) }));
}

export function SnapshotPiesPanel() {
  const [papeleta, setPapeleta] = useState("presidente");
  const [departamento, setDepartamento] = useState<string | null>(null);
  const [municipio, setMunicipio] = useState<string | null>(null);
  const pais = useLoaded(areaLoader({ source: "votes", papeleta }));
  // Until someone chooses, the departamento with the most valid votes.
  const leading = [...(pais.data?.children ?? [])].sort((a, b) => b.total - a.total)[0]?.code ?? null;
  const dep = departamento ?? leading;
  const byDepartamento = useLoaded(dep ? areaLoader({ source: "votes", papeleta, departamento: dep }) : null);
  const municipios = byDepartamento.data?.children ?? [];
  const mun = municipios.some((m) => m.code === municipio) ? municipio : (municipios[0]?.code ?? null);
  const byMunicipio = useLoaded(dep && mun ? areaLoader({ source: "votes", papeleta, departamento: dep, municipio: mun }) : null);

  return (
    <Panel id="partidos" title="Porcentaje por partido" wide error={byDepartamento.error ?? byMunicipio.error}>
      <div className="controls">
        <label>
          Departamento
          <select name="departamento" value={dep ?? ""} onChange={(e) => { setDepartamento(e.target.value); setMunicipio(null); }}>
            {pais.data?.children.map((d) => (
              <option key={d.code} value={d.code}>
                {d.nombre}
              </option>
            ))}
          </select>
        </label>
        <label>
          Municipio
          <select name="municipio" value={mun ?? ""} onChange={(e) => setMunicipio(e.target.value)}>
            {municipios.map((m) => (
              <option key={m.code} value={m.code}>
                {m.nombre}
              </option>
            ))}
          </select>
        </label>
        <label>
          Papeleta
          <select name="papeleta" value={papeleta} onChange={(e) => setPapeleta(e.target.value)}>
            {PAPELETAS.map((p) => (
              <option key={p.code} value={p.code}>
                {p.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="pies">
        {[
          ["departamento", "Departamento", byDepartamento.data, byDepartamento.data?.departamento?.nombre],
          ["municipio", "Municipio", byMunicipio.data, byMunicipio.data?.municipio?.nombre],
        ].map(([key, label, area, nombre]) => {
          const data = area as Area | null;
          return (
            <figure key={key as string} data-testid={`pie-${key}`} data-area={(nombre as string) ?? ""}>
              <figcaption>
                {label as string}: <strong>{(nombre as string) ?? "—"}</strong>
                {data ? <span className="unit"> · {formatInt(data.total)} votos válidos</span> : null}
              </figcaption>
              <PieChart name={`partidos-${key}`} slices={slicesOf(data)} total={data?.total ?? 0} />
              <BallotsNote name={`partidos-${key}`} ballots={data?.ballots} />
            </figure>
          );
        })}
      </div>
    </Panel>
  );
}
