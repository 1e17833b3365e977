// Where each answer comes from: the results API (DASHBOARD_SOURCE=api, the default) or the
// published snapshot files (DASHBOARD_SOURCE=snapshots: head.json, then only files under
// <id>/ and its detail generation's folder, never the API). Every page asks for its data through the loaders below, so this
// module is the one place that knows both layouts (docs/api.md, docs/snapshots.md).
import { ApiError, apiUrl, getJson, type Params } from "../api";
import { DATA_SOURCE, SNAPSHOTS_URL } from "../config";
import type { ActaDetail, Area, CountSource, Manifest, SedeFile, SnapshotHead, Timeline } from "./types";

export const SNAPSHOT_MODE = DATA_SOURCE === "snapshots";

/** One answer to load: `key` names it (a new key means new data), `load` fetches it. */
export interface Loader<T> {
  key: string;
  load: (head: SnapshotHead | null, signal: AbortSignal) => Promise<T>;
}

/** A snapshot's files never change once written: the browser may keep them as they are. */
async function snapshotFile<T>(head: SnapshotHead | null, path: string, signal: AbortSignal): Promise<T> {
  if (!head) throw new ApiError(503, { detail: "Aún no hay instantánea publicada." });
  const response = await fetch(snapshotUrl(head.id, path), { cache: "force-cache", signal });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body as T;
}

function api<T>(path: string, params: Params, signal: AbortSignal): Promise<T> {
  return getJson<T>(apiUrl(path, params), signal);
}

/**
 * The newest snapshot (null when none yet). Snapshot mode: head.json, a few hundred bytes,
 * not latest.json, the whole manifest (2.2 MB at the demo scale) that only verifiers need.
 * API mode: the first row of /api/snapshots/ (id, time, counts), not /api/snapshots/latest,
 * which is the same whole manifest.
 */
export async function loadHead(signal: AbortSignal): Promise<SnapshotHead | null> {
  try {
    if (SNAPSHOT_MODE) {
      const head = await getJson<SnapshotHead>(`${SNAPSHOTS_URL}head.json`, signal);
      return { id: head.id, time: head.time, detail: head.detail ?? null };
    }
    const page = await getJson<{ results: Omit<Manifest, "files">[] }>(
      apiUrl("/api/snapshots/", { page_size: "1" }),
      signal,
    );
    const newest = page.results[0];
    if (newest === undefined) return null;
    const counts = newest.counts as { detail?: SnapshotHead["detail"] } | null;
    return { id: newest.id, time: newest.time, detail: counts?.detail ?? null };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** Public URL of a file of snapshot `id` (area/, panels/, timeline/, manifest.json). */
export function snapshotUrl(id: string, path: string): string {
  return `${SNAPSHOTS_URL}${id}/${path}`;
}

/**
 * Public URL of a sede/ or open/ file of snapshot `head`: in its detail generation's folder
 * when it names one (written apart, maybe older), else under the snapshot's own folder.
 */
export function detailUrl(head: SnapshotHead, path: string): string {
  return snapshotUrl(head.id, `${head.detail?.path ?? ""}${path}`);
}

async function detailFile<T>(head: SnapshotHead | null, path: string, signal: AbortSignal): Promise<T> {
  return snapshotFile<T>(head, `${head?.detail?.path ?? ""}${path}`, signal);
}

export interface AreaQuery {
  source: CountSource;
  papeleta: string;
  departamento?: string | null; // code "01"
  municipio?: string | null; // code "0101"
  sede?: string | null;
}

export function areaLoader(q: AreaQuery): Loader<Area> {
  const key = `area|${q.source}|${q.papeleta}|${q.departamento ?? ""}|${q.municipio ?? ""}|${q.sede ?? ""}`;
  return {
    key,
    load: async (head, signal) => {
      if (!SNAPSHOT_MODE) {
        const params = { source: q.source, papeleta: q.papeleta, departamento: q.departamento, municipio: q.municipio, sede: q.sede };
        return api<Area>("/api/results/area", params, signal);
      }
      const base = `area/${q.source}/${q.papeleta}`;
      if (q.municipio && q.sede) {
        const file = await detailFile<SedeFile>(head, `sede/${q.municipio}-${q.sede}.json`, signal);
        const area = file.areas[q.source]?.[q.papeleta];
        if (!area) throw new ApiError(404, { detail: "Sin datos para esta papeleta." });
        return area;
      }
      if (q.municipio) return snapshotFile<Area>(head, `${base}/municipio/${q.municipio}.json`, signal);
      if (q.departamento) return snapshotFile<Area>(head, `${base}/departamento/${q.departamento}.json`, signal);
      return snapshotFile<Area>(head, `${base}/pais.json`, signal);
    },
  };
}

/** Every papeleta's acta of one mesa (null where no acta was typed yet). */
export function mesaLoader(municipio: string, sede: string, mesa: string, papeletas: string[]): Loader<Record<string, ActaDetail | null>> {
  return {
    key: `mesa|${municipio}|${sede}|${mesa}|${papeletas.join(",")}`,
    load: async (head, signal) => {
      if (SNAPSHOT_MODE) {
        const file = await detailFile<SedeFile>(head, `sede/${municipio}-${sede}.json`, signal);
        const actas = file.actas[mesa] ?? {};
        return Object.fromEntries(papeletas.map((p) => [p, actas[p] ?? null]));
      }
      const answers = await Promise.all(
        papeletas.map((p) =>
          api<ActaDetail>(`/api/actas/${encodeURIComponent(mesa)}/${p}`, {}, signal).catch((error: unknown) => {
            if (error instanceof ApiError && error.status === 404) return null;
            throw error;
          }),
        ),
      );
      return Object.fromEntries(papeletas.map((p, i) => [p, answers[i]]));
    },
  };
}

export function timelineLoader(source: CountSource, papeleta: string): Loader<Timeline> {
  return {
    key: `timeline|${source}|${papeleta}`,
    load: (head, signal) =>
      SNAPSHOT_MODE
        ? snapshotFile<Timeline>(head, `timeline/${source}/${papeleta}.json`, signal)
        : api<Timeline>("/api/snapshots/timeline", { source, papeleta }, signal),
  };
}

/**
 * The original panels' answers. In snapshot mode they are the files under panels/ (the
 * newest page of votes, unfiltered; the sedes ranked on one papeleta).
 */
export function panelLoader<T>(apiPath: string, params: Params, snapshotPath: string): Loader<T> {
  return {
    key: `panel|${apiPath}|${JSON.stringify(params)}|${snapshotPath}`,
    load: (head, signal) => (SNAPSHOT_MODE ? snapshotFile<T>(head, `panels/${snapshotPath}`, signal) : api<T>(apiPath, params, signal)),
  };
}

/**
 * The URL of one of the original panels' answers: the API's, or in snapshot mode the file
 * under <id>/panels/ (`version` is then the snapshot id; null while there is none).
 */
export function panelUrl(version: string | null, apiPath: string, params: Params, snapshotPath: string | null): string | null {
  if (!SNAPSHOT_MODE) return apiUrl(apiPath, params);
  if (!version || snapshotPath === null) return null;
  return `${SNAPSHOTS_URL}${version}/panels/${snapshotPath}`;
}
