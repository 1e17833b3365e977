// Live updates by polling: one cheap conditional request per second for the summary, and
// the other panels are re-read only when the summary says votes were stored.
import { useEffect, useRef, useState } from "react";
import { useDataState } from "./data/live";
import { panelUrl, SNAPSHOT_MODE } from "./data/source";
import { ApiError, apiUrl, getJson, type Route, type Summary } from "./api";
import { HIDDEN_POLL_MS, POLL_MS } from "./config";

export interface RateSample {
  at: number; // ms, performance.now()
  votes: Partial<Record<Route, number>>;
}

const RATE_WINDOW_MS = 10_000;
const RETRY_MS = 3_000;

export interface Live {
  summary: Summary | null;
  /** Changes exactly when the stored count changes: the other panels refetch on it. */
  version: string | null;
  /** Votes per second per route over the last few seconds, null until two samples exist. */
  rates: Partial<Record<Route, number>> | null;
  error: unknown;
  updatedAt: Date | null;
}

export function summaryVersion(summary: Summary): string {
  const routes = Object.entries(summary.by_route)
    .map(([route, r]) => `${route}:${r?.votes ?? 0}`)
    .sort()
    .join(",");
  return `${summary.total}|${routes}`;
}

export function ratesOf(samples: RateSample[]): Partial<Record<Route, number>> | null {
  if (samples.length < 2) return null;
  const first = samples[0];
  const last = samples[samples.length - 1];
  const seconds = (last.at - first.at) / 1000;
  if (seconds <= 0) return null;
  const rates: Partial<Record<Route, number>> = {};
  for (const route of ["grpc", "redis"] as Route[]) {
    rates[route] = Math.max(0, ((last.votes[route] ?? 0) - (first.votes[route] ?? 0)) / seconds);
  }
  return rates;
}

export function useLiveSummary(): Live {
  return SNAPSHOT_MODE ? useSnapshotSummary() : useApiSummary();
}

/** Snapshot mode: the summary written with the newest snapshot; its id is the version. */
function useSnapshotSummary(): Live {
  const { head, headError } = useDataState();
  const id = head?.id ?? null;
  const summary = useResource<Summary>(panelUrl(id, "/api/results/summary", {}, "summary.json"), id);
  return {
    summary: summary.data,
    version: summary.data ? id : null,
    rates: null,
    error: headError ?? summary.error,
    updatedAt: head ? new Date(head.time) : null,
  };
}

function useApiSummary(): Live {
  const [live, setLive] = useState<Live>({
    summary: null,
    version: null,
    rates: null,
    error: null,
    updatedAt: null,
  });
  const samples = useRef<RateSample[]>([]);

  useEffect(() => {
    let timer: number | undefined;
    let inFlight = false;
    let stopped = false;
    const controller = new AbortController();

    async function tick(): Promise<void> {
      inFlight = true;
      try {
        const summary = await getJson<Summary>(apiUrl("/api/results/summary"), controller.signal);
        const now = performance.now();
        const votes: RateSample["votes"] = {};
        for (const [route, r] of Object.entries(summary.by_route)) votes[route as Route] = r?.votes ?? 0;
        samples.current = [...samples.current, { at: now, votes }].filter(
          (s) => now - s.at <= RATE_WINDOW_MS,
        );
        const version = summaryVersion(summary);
        setLive({ summary, version, rates: ratesOf(samples.current), error: null, updatedAt: new Date() });
      } catch (error) {
        if (controller.signal.aborted) return;
        setLive((previous) => ({ ...previous, error }));
      }
      inFlight = false;
      if (!stopped) timer = window.setTimeout(tick, document.hidden ? HIDDEN_POLL_MS : POLL_MS);
    }

    // Coming back to a hidden tab: refresh at once rather than after the slow interval.
    function onVisible(): void {
      if (!document.hidden && !inFlight) {
        window.clearTimeout(timer);
        void tick();
      }
    }

    void tick();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      stopped = true;
      controller.abort();
      window.clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, []);

  return live;
}

export interface Resource<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
}

/**
 * Fetch `url` whenever it or `version` changes; keep showing the last answer meanwhile.
 * `url` null means "not yet" (e.g. no departamento chosen).
 */
export function useResource<T>(url: string | null, version: string | null): Resource<T> {
  const [state, setState] = useState<Resource<T>>({ data: null, error: null, loading: url !== null });
  const [retry, setRetry] = useState(0);
  useEffect(() => {
    if (url === null || version === null) return;
    const controller = new AbortController();
    let retryTimer: number | undefined;
    setState((previous) => ({ ...previous, loading: true }));
    getJson<T>(url, controller.signal)
      .then((data) => setState({ data, error: null, loading: false }))
      .catch((error) => {
        if (controller.signal.aborted) return;
        setState({ data: null, error, loading: false });
        // An outage is retried even if no new vote arrives to trigger it; a refused
        // question (4xx, e.g. an unknown name in a filter) is not asked again.
        const refused = error instanceof ApiError && error.status >= 400 && error.status < 500;
        if (!refused) retryTimer = window.setTimeout(() => setRetry((n) => n + 1), RETRY_MS);
      });
    return () => {
      controller.abort();
      window.clearTimeout(retryTimer);
    };
  }, [url, version, retry]);
  return state;
}
