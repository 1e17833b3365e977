// The results API (docs/api.md), over HTTP only.
import { API_URL } from "./config";

export type Route = "grpc" | "redis";

export interface Vote {
  vote_id: string;
  sede: string;
  departamento: string;
  municipio: string;
  papeleta: string;
  partido: string;
  route: Route;
  received_at: string;
  stored_at: string;
}

export interface Catalogue {
  departamentos: { code: string; nombre: string; municipios: { code: string; nombre: string }[] }[];
  papeletas: { code: string; color: string; nombre: string }[];
  partidos: { sigla: string; nombre: string; kind: "valid" | "nulo" | "blanco" }[];
}

// Ballots cast in the answer's scope; percents are of all ballots cast.
export interface Ballots {
  valid: number;
  nulos: number;
  blancos: number;
  cast: number;
  percent: { valid: number; nulos: number; blancos: number };
}

export interface RouteSummary {
  votes: number;
  latency_ms: { p50: number | null; p95: number | null };
}

export interface Summary {
  total: number;
  ballots: Ballots;
  by_route: Partial<Record<Route, RouteSummary>>;
  by_papeleta: Record<string, number>;
  as_of: string;
}

export interface TopDepartamentos {
  papeleta: string;
  ballots: Ballots;
  results: { departamento: string; votes: number; ballots: Ballots }[];
}

export interface Partidos {
  departamento: string;
  municipio: string | null;
  papeleta: string | null;
  total: number; // valid votes; the partidos' percents are of these
  ballots: Ballots;
  results: { partido: string; votes: number; percent: number }[];
}

export interface TopSedes {
  papeleta: string | null;
  ballots: Ballots;
  results: { departamento: string; municipio: string; sede: string; votes: number }[];
}

export interface VotePage {
  next: string | null;
  previous: string | null;
  results: Vote[];
}

export type Params = Record<string, string | number | null | undefined>;

export function apiUrl(path: string, params: Params = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(key, String(value));
  }
  const qs = query.toString();
  return `${API_URL}${path}${qs ? `?${qs}` : ""}`;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

/**
 * GET a JSON document. `cache: "no-cache"` makes the browser revalidate its cached copy
 * with If-None-Match on every call: an unchanged answer is a body-less 304 from the API,
 * and the page gets the cached body. No custom header, so no CORS preflight either.
 */
export async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(url, { cache: "no-cache", signal, headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body as T;
}

/** The `cursor` parameter of a DRF cursor-pagination link (next/previous). */
export function cursorOf(link: string | null): string | null {
  if (!link) return null;
  try {
    return new URL(link, window.location.href).searchParams.get("cursor");
  } catch {
    return null;
  }
}

/** A readable message for a failed request, in Spanish, with the API's field errors if any. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    const errors = (error.body as { errors?: Record<string, string[]> } | null)?.errors;
    if (errors) {
      return Object.entries(errors)
        .map(([field, messages]) => `${field}: ${messages.join(" ")}`)
        .join("; ");
    }
    return `La API respondió ${error.status}.`;
  }
  return "No se pudo conectar con la API.";
}
