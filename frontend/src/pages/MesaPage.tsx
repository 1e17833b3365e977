// One mesa: its acta on every papeleta, every number, the status and the failed rules, the
// image's SHA-256, every version with every entry and who typed it; beside it, the ballots
// streamed naming this mesa, and whether the two disagree.
import { Panel } from "../common";
import { useLoaded } from "../data/live";
import { areaLoader, mesaLoader } from "../data/source";
import type { ActaDetail, ActaNumbers } from "../data/types";
import { formatDateTime, formatInt } from "../format";
import { COUNT_FIELDS, FIELD_LABEL, PAPELETAS, partidoColor, RULE_LABEL, STATUS_LABEL } from "../labels";
import { useSelection } from "../selection";
import { Breadcrumb } from "./AreaPage";

const CODES = PAPELETAS.map((p) => p.code);

export function MesaPage({ municipio, sede, mesa }: { municipio: string; sede: string; mesa: string }) {
  const { papeleta } = useSelection();
  const area = useLoaded(areaLoader({ source: "actas", papeleta, departamento: municipio.slice(0, 2), municipio, sede }));
  const actas = useLoaded(mesaLoader(municipio, sede, mesa, CODES));
  // The chosen papeleta first, then the others in the usual order.
  const order = [papeleta, ...CODES.filter((c) => c !== papeleta)];
  return (
    <div className="results" data-level="mesa" data-loaded={actas.data ? "true" : "false"}>
      <div className="page-head">
        <Breadcrumb area={area.data} departamento={municipio.slice(0, 2)} municipio={municipio} sede={sede} mesa={mesa} />
        <h1 data-testid="area-title">
          Mesa {mesa} · Sede {sede}, {area.data?.municipio?.nombre ?? "…"}
        </h1>
      </div>
      {actas.error ? (
        <Panel id="mesa-error" title="No se pudieron leer las actas" error={actas.error}>
          <p className="note">Se vuelve a intentar solo.</p>
        </Panel>
      ) : null}
      <div className="grid">
        {actas.data
          ? order.map((code) => <ActaPanel key={code} papeleta={code} acta={actas.data?.[code] ?? null} />)
          : <p className="empty">Cargando…</p>}
      </div>
    </div>
  );
}

function Rules({ rules }: { rules: string[] }) {
  if (rules.length === 0) return <span>ninguna</span>;
  return (
    <ul className="rules">
      {rules.map((r) => (
        <li key={r} data-rule={r}>
          {RULE_LABEL[r] ?? r}
        </li>
      ))}
    </ul>
  );
}

function ActaPanel({ papeleta, acta }: { papeleta: string; acta: ActaDetail | null }) {
  const label = PAPELETAS.find((p) => p.code === papeleta)?.label ?? papeleta;
  return (
    <section className="panel wide acta" data-testid={`acta-${papeleta}`} data-status={acta?.status ?? "none"} aria-labelledby={`acta-${papeleta}-title`}>
      <h2 id={`acta-${papeleta}-title`}>Acta · {label}</h2>
      {acta === null ? (
        <p className="empty">Aún no se ha digitado el acta de esta papeleta.</p>
      ) : (
        <>
          <dl className="acta-facts">
            <dt>Estado</dt>
            <dd data-field="status">{STATUS_LABEL[acta.status] ?? acta.status}</dd>
            <dt>Reglas que no cumple</dt>
            <dd data-field="failed_rules">
              <Rules rules={acta.failed_rules} />
            </dd>
            {acta.differing_fields.length ? (
              <>
                <dt>Campos en que difieren las digitaciones</dt>
                <dd>{acta.differing_fields.map((f) => FIELD_LABEL[f] ?? f).join(", ")}</dd>
              </>
            ) : null}
            <dt>SHA-256 de la imagen</dt>
            <dd>
              <code className="hash" data-field="image_sha256">
                {acta.image_sha256 ?? "—"}
              </code>
            </dd>
          </dl>
          <CountedAndStream acta={acta} />
          <h3>Versiones y digitaciones</h3>
          {acta.versions.map((v) => (
            <div key={v.number} className="version" data-version={v.number} data-status={v.status}>
              <p>
                <strong>Versión {v.number}</strong>: {STATUS_LABEL[v.status] ?? v.status} · abierta {formatDateTime(v.opened_at)}
                {v.decided_at ? ` · decidida ${formatDateTime(v.decided_at)}` : ""}
                {v.decided_by ? ` por ${v.decided_by}` : ""}
                {v.reason ? ` · motivo: ${v.reason}` : ""}
              </p>
              {v.failed_rules.length ? (
                <div className="note">
                  Reglas que no cumple: <Rules rules={v.failed_rules} />
                </div>
              ) : null}
              <EntriesTable version={v} />
            </div>
          ))}
        </>
      )}
    </section>
  );
}

function CountedAndStream({ acta }: { acta: ActaDetail }) {
  const counted: ActaNumbers | null = acta.counted;
  const siglas = [...new Set([...Object.keys(counted?.votes ?? {}), ...Object.keys(acta.stream).filter((s) => s !== "NULO" && s !== "BLANCO")])].sort();
  const flag =
    acta.discrepancy === null ? "Nada que comparar aún" : acta.discrepancy ? "No coinciden: revise el acta y los votos transmitidos" : "Coinciden";
  return (
    <div className="table-scroll">
      <table data-table="acta-numbers" className="numbers">
        <thead>
          <tr>
            <th scope="col" />
            <th scope="col">Acta contada</th>
            <th scope="col">Votos transmitidos con esta mesa</th>
          </tr>
        </thead>
        <tbody>
          {siglas.map((s) => (
            <tr key={s} data-partido={s} data-counted={counted?.votes[s] ?? ""} data-stream={acta.stream[s] ?? 0}>
              <th scope="row">
                <span className="swatch" style={{ background: partidoColor(s) }} aria-hidden="true" /> {s}
              </th>
              <td>{counted ? formatInt(counted.votes[s] ?? 0) : "—"}</td>
              <td>{formatInt(acta.stream[s] ?? 0)}</td>
            </tr>
          ))}
          {COUNT_FIELDS.map((f) => {
            const stream = f === "nulos" ? acta.stream.NULO : f === "blancos" ? acta.stream.BLANCO : undefined;
            const value = counted ? (counted[f as keyof ActaNumbers] as number) : null;
            return (
              <tr key={f} data-field={f} data-counted={value ?? ""}>
                <th scope="row">{FIELD_LABEL[f]}</th>
                <td>{value === null ? "—" : formatInt(value)}</td>
                <td>{stream === undefined ? "" : formatInt(stream)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p className={acta.discrepancy ? "flag bad" : "flag"} data-testid="discrepancy" data-value={String(acta.discrepancy)}>
        Acta y votos transmitidos: <strong>{flag}</strong>
      </p>
    </div>
  );
}

function EntriesTable({ version }: { version: ActaDetail["versions"][number] }) {
  const siglas = [...new Set(version.entries.flatMap((e) => Object.keys(e.votes)))].sort();
  return (
    <div className="table-scroll">
      <table data-table="entries">
        <thead>
          <tr>
            <th scope="col">Digitada por</th>
            <th scope="col">Recibida</th>
            <th scope="col">Ruta</th>
            {siglas.map((s) => (
              <th scope="col" key={s}>
                {s}
              </th>
            ))}
            {COUNT_FIELDS.map((f) => (
              <th scope="col" key={f}>
                {FIELD_LABEL[f]}
              </th>
            ))}
            <th scope="col">Reglas que no cumple</th>
            <th scope="col">SHA-256 de la imagen</th>
            <th scope="col">Id</th>
          </tr>
        </thead>
        <tbody>
          {version.entries.map((e) => (
            <tr key={e.acta_id} data-acta-id={e.acta_id} data-entered-by={e.entered_by} data-chosen={String(version.chosen_entry === e.acta_id)}>
              <td>
                {e.entered_by}
                {e.corrects ? <span className="unit"> (corrección)</span> : null}
                {e.reason ? <span className="unit"> · {e.reason}</span> : null}
              </td>
              <td>{formatDateTime(e.received_at)}</td>
              <td>{e.route}</td>
              {siglas.map((s) => (
                <td key={s} className="num">
                  {formatInt(e.votes[s] ?? 0)}
                </td>
              ))}
              {COUNT_FIELDS.map((f) => (
                <td key={f} className="num">
                  {formatInt(e[f as keyof ActaNumbers] as number)}
                </td>
              ))}
              <td>{e.failed_rules.length ? e.failed_rules.map((r) => RULE_LABEL[r] ?? r).join("; ") : "ninguna"}</td>
              <td>
                <code className="hash">{e.image_sha256}</code>
              </td>
              <td>
                <code>{e.acta_id.slice(0, 8)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
