// The JSON answers the results site renders (docs/api.md; the snapshot layout in docs/snapshots.md).

export type CountSource = "actas" | "votes";
export type Level = "pais" | "departamento" | "municipio" | "sede";

export interface AreaProgress {
  actas_expected: number;
  actas_counted: number;
  actas_inconsistent: number;
  actas_in_review: number;
  actas_pending: number;
  percent_counted: number;
  padron: number;
  voters: number;
  turnout_percent: number;
}

export interface AreaBallots {
  valid: number;
  nulos: number;
  blancos: number;
  cast: number;
  percent: { valid: number; nulos: number; blancos: number };
}

export interface AreaChild {
  code: string;
  nombre: string;
  total: number;
  cast: number;
  leader: string | null;
  leader_votes: number;
  leader_percent: number | null;
  runner_up: string | null;
  margin_percent: number | null;
  actas_expected: number;
  actas_counted: number;
  percent_counted: number;
  status?: string; // mesas only: the acta's status on this papeleta, or "pending"
}

export interface Area {
  source: CountSource;
  papeleta: string;
  level: Level;
  departamento: { code: string; nombre: string } | null;
  municipio: { code: string; nombre: string } | null;
  sede: string | null;
  progress: AreaProgress;
  ballots: AreaBallots;
  total: number;
  results: { partido: string; nombre: string; votes: number; percent: number }[];
  children: AreaChild[];
  as_of: string;
}

export interface ActaNumbers {
  votes: Record<string, number>;
  nulos: number;
  blancos: number;
  invalidos: number;
  impugnados: number;
  total_valid: number;
  total_cast: number;
  voters: number;
  ballots_received: number;
  ballots_unused: number;
}

export interface ActaEntry extends ActaNumbers {
  acta_id: string;
  image_sha256: string;
  entered_by: string;
  credential: string | null;
  corrects: boolean | string | null; // true: this entry corrects an earlier one
  reason: string | null;
  route: string;
  failed_rules: string[];
  received_at: string;
  stored_at: string;
}

export interface ActaVersion {
  number: number;
  status: string;
  failed_rules: string[];
  differing_fields: string[];
  opened_at: string;
  decided_at: string | null;
  decided_by: string | null;
  reason: string | null;
  chosen_entry: string | null;
  entries: ActaEntry[];
}

export interface ActaDetail {
  mesa: number;
  papeleta: string;
  status: string;
  failed_rules: string[];
  differing_fields: string[];
  image_sha256: string | null;
  counted: ActaNumbers | null;
  versions: ActaVersion[];
  stream: Record<string, number>;
  discrepancy: boolean | null;
}

export interface SedeFile {
  areas: Record<string, Record<string, Area>>;
  actas: Record<string, Record<string, ActaDetail>>;
}

export interface TimelinePoint {
  id: string;
  time: string;
  actas_counted: number;
  actas_expected: number;
  percent_counted: number;
  cast: number;
  ballots_per_minute: number | null;
  valid: number;
  nulos: number;
  blancos: number;
  partidos: Record<string, number>;
}

export interface Timeline {
  source: CountSource;
  papeleta: string;
  points: TimelinePoint[];
}

/** Where a snapshot's sede/ and open/ files are when they are a separate, slower "detail
 * generation": `path` is relative to the snapshot's folder (`../detail/<id>/`). */
export interface SnapshotDetail {
  id: string;
  time: string;
  path: string;
}

/** head.json: the small pointer to the newest manifest that the site polls (docs/snapshots.md). */
export interface SnapshotHead {
  id: string;
  time: string;
  detail: SnapshotDetail | null;
}

export interface Manifest {
  id: string;
  time: string;
  previous: string | null;
  counts: unknown;
  files: { path: string; sha256: string; bytes: number }[];
}
