// The papeleta and the count source travel in the query string, so a shared link shows what
// its sender saw: ?papeleta=presidente&source=actas (the defaults are left out).
import { useSearch } from "wouter";
import type { CountSource } from "./data/types";
import { PAPELETAS } from "./labels";

export interface Selection {
  papeleta: string;
  source: CountSource;
  /** "?papeleta=..&source=.." or "": appended to every link of the site. */
  query: string;
  with: (change: Partial<{ papeleta: string; source: CountSource }>) => string;
}

function queryOf(papeleta: string, source: CountSource): string {
  const params = new URLSearchParams();
  if (papeleta !== "presidente") params.set("papeleta", papeleta);
  if (source !== "actas") params.set("source", source);
  const qs = params.toString();
  return qs ? `?${qs}` : "";
}

export function useSelection(): Selection {
  const params = new URLSearchParams(useSearch());
  const asked = params.get("papeleta") ?? "presidente";
  const papeleta = PAPELETAS.some((p) => p.code === asked) ? asked : "presidente";
  const source: CountSource = params.get("source") === "votes" ? "votes" : "actas";
  return {
    papeleta,
    source,
    query: queryOf(papeleta, source),
    with: (change) => queryOf(change.papeleta ?? papeleta, change.source ?? source),
  };
}
