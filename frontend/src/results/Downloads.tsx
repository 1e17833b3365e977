// The open data of the snapshot on screen, and how to check it without trusting this site.
import { Panel } from "../common";
import { useDataState } from "../data/live";
import { apiUrl } from "../api";
import { detailUrl, SNAPSHOT_MODE, snapshotUrl } from "../data/source";
import { formatDateTime } from "../format";
import { DetailTime } from "./SummaryPanels";

export function Downloads() {
  const { head } = useDataState();
  return (
    <Panel id="verificar" title="Datos abiertos y verificación" wide>
      {head ? (
        <>
          <p>
            Instantánea <code>{head.id}</code> del {formatDateTime(head.time)}
            <DetailTime />.
          </p>
          <ul className="downloads">
            <li>
              <a href={detailUrl(head, "open/results.csv")} data-download="csv" download>
                Resultados por mesa (results.csv)
              </a>
            </li>
            <li>
              <a href={detailUrl(head, "open/nist-1500-100.json")} data-download="nist" download>
                Resultados en formato NIST SP 1500-100 (nist-1500-100.json)
              </a>
            </li>
            <li>
              <a href={snapshotUrl(head.id, "manifest.json")} data-download="manifest">
                Manifiesto de la instantánea (manifest.json)
              </a>
            </li>
          </ul>
        </>
      ) : (
        <p className="empty">Aún no hay instantánea publicada: los archivos de datos abiertos aparecen con la primera.</p>
      )}
      <h3>¿Cómo verificar estos números?</h3>
      <p>
        Cada minuto se publica una instantánea inmutable de todos los resultados. Su manifiesto lista cada archivo con su huella
        SHA-256 y lleva la huella del manifiesto anterior, de modo que las instantáneas forman una cadena: si alguien cambiara un
        número ya publicado, la huella dejaría de coincidir. Cualquiera puede descargar los archivos, calcular sus huellas y
        compararlas, sin confiar en este sitio; el acta de cada mesa muestra además la huella de su imagen escaneada.
      </p>
      <ol className="steps">
        <li>Descargue <code>latest.json</code> y el manifiesto de la instantánea.</li>
        <li>Para cada archivo del manifiesto, calcule su SHA-256 (<code>sha256sum</code>) y compárelo con el anotado.</li>
        <li>
          Calcule el SHA-256 del manifiesto anterior y compárelo con el campo <code>previous</code>; repita hasta la primera
          instantánea.
        </li>
      </ol>
      <p>
        La documentación del proyecto lo explica en detalle (<code>docs/snapshots.md</code>, el formato de los datos abiertos en{" "}
        <code>docs/opendata.md</code>, y <code>python manage.py snapshot_verify</code> lo hace todo);{" "}
        {SNAPSHOT_MODE ? null : (
          <>
            la API y su documentación están en <a href={apiUrl("/api/docs/")}>/api/docs/</a>.
          </>
        )}
      </p>
    </Panel>
  );
}
