// What the results pages are up to date with. Snapshot mode: head.json (the newest snapshot's
// pointer), polled every MANIFEST_POLL_MS; every answer is then read under its <id>/ and refetched only when
// a new snapshot appears. API mode: a clock every RESULTS_POLL_MS (each read a conditional
// request), and the newest manifest only to show its id and link its downloads.
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { ApiError } from "../api";
import { MANIFEST_POLL_MS, RESULTS_POLL_MS } from "../config";
import { loadHead, SNAPSHOT_MODE, type Loader } from "./source";
import type { SnapshotHead } from "./types";

export interface DataState {
  head: SnapshotHead | null;
  headError: unknown;
  /** Changes whenever the answers may have changed; null until the first manifest (snapshot mode). */
  version: string | null;
}

const DataContext = createContext<DataState>({ head: null, headError: null, version: null });

export function DataProvider({ children }: { children: ReactNode }) {
  const [head, setHead] = useState<SnapshotHead | null>(null);
  const [headError, setHeadError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    let timer: number | undefined;
    async function poll(): Promise<void> {
      try {
        const latest = await loadHead(controller.signal);
        setHead((previous) => (previous?.id === latest?.id ? previous : latest));
        setHeadError(null);
      } catch (error) {
        if (controller.signal.aborted) return;
        setHeadError(error);
      }
      timer = window.setTimeout(poll, MANIFEST_POLL_MS);
    }
    void poll();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
  }, []);

  useEffect(() => {
    if (SNAPSHOT_MODE) return;
    // A hidden tab does not re-read; it catches up as soon as it is shown again.
    const timer = window.setInterval(() => !document.hidden && setTick((n) => n + 1), RESULTS_POLL_MS);
    const onVisible = () => !document.hidden && setTick((n) => n + 1);
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      window.clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, []);

  const version = SNAPSHOT_MODE ? (head?.id ?? null) : `api-${tick}`;
  return <DataContext.Provider value={{ head, headError, version }}>{children}</DataContext.Provider>;
}

export function useDataState(): DataState {
  return useContext(DataContext);
}

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
}

const RETRY_MS = 3_000;

/** Load `loader` and reload it on every new version; keep the last answer meanwhile. */
export function useLoaded<T>(loader: Loader<T> | null): Loaded<T> {
  const { version, head } = useDataState();
  const [state, setState] = useState<Loaded<T> & { key: string | null }>({ data: null, error: null, loading: true, key: null });
  const [retry, setRetry] = useState(0);
  const key = loader?.key ?? null;
  const snapshot = SNAPSHOT_MODE ? head : null; // one object per id (see setHead)
  const snapshotId = snapshot?.id ?? null;

  useEffect(() => {
    if (loader === null || version === null) return;
    const controller = new AbortController();
    let retryTimer: number | undefined;
    setState((previous) => ({ ...previous, loading: true, ...(previous.key === key ? {} : { data: null, error: null, key }) }));
    loader
      .load(snapshot, controller.signal)
      .then((data) => setState({ data, error: null, loading: false, key }))
      .catch((error: unknown) => {
        if (controller.signal.aborted) return;
        setState({ data: null, error, loading: false, key });
        const refused = error instanceof ApiError && error.status >= 400 && error.status < 500;
        if (!refused) retryTimer = window.setTimeout(() => setRetry((n) => n + 1), RETRY_MS);
      });
    return () => {
      controller.abort();
      window.clearTimeout(retryTimer);
    };
    // The loader is recreated on every render; its key says when it is a different one.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, version, snapshotId, retry]);

  return state.key === key ? state : { data: null, error: null, loading: true };
}
