// Words and colours the site shows, in one place.

/**
 * One colour per partido, the same in the map, the charts and the legends. The hues follow
 * each partido's own campaign colour where it has one clearly its own (UNE green, Semilla
 * light blue, VAMOS blue-violet, VIVA orange, CABAL teal, Valor/Unionista navy and sky,
 * VOS red, Azul blue, Winaq/URNG purple/red, FCN blue-red as navy, BIEN brown) and are
 * otherwise taken from Kelly's 22 colours of maximum contrast; neighbours on the map are
 * told apart by hue, and the text beside every colour names the partido anyway.
 */
export const PARTIDO_COLOR: Record<string, string> = {
  UNE: "#2e8b3a",
  SEMILLA: "#2fa3d6",
  VAMOS: "#5b3fa8",
  VIVA: "#f28c1b",
  CABAL: "#0f8f8a",
  "VALOR-UNIONISTA": "#1c2f6b",
  VALOR: "#233c8f",
  UNIONISTA: "#6aa6e8",
  VOS: "#d62d2d",
  AZUL: "#1460c4",
  TODOS: "#c9a400",
  HUMANISTA: "#8a5a2b",
  PR: "#b5175c",
  PIN: "#7a7a00",
  ELEFANTE: "#6d6d6d",
  VICTORIA: "#e0529c",
  NOSOTROS: "#9c6ade",
  UR: "#8b0000",
  "WINAQ-URNG": "#7b1f7b",
  WINAQ: "#a2367f",
  "URNG-MAIZ": "#c23a2b",
  "FCN-NACION": "#14305a",
  BIEN: "#a0522d",
  CAMBIO: "#00a676",
  CREO: "#3c6e71",
  "MI FAMILIA": "#d4a373",
};
const FALLBACK = ["#1f5fa8", "#e6194b", "#3cb44b", "#f58231", "#911eb4", "#42a5b5", "#9a6324", "#808000"];

export function partidoColor(sigla: string | null | undefined): string {
  if (!sigla) return "#c8ced8";
  const known = PARTIDO_COLOR[sigla];
  if (known) return known;
  let hash = 0;
  for (const c of sigla) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return FALLBACK[hash % FALLBACK.length];
}

/** The map's shading: the leader's margin over the runner-up, in percentage points, in four steps. */
export const MARGIN_STEPS: { min: number; opacity: number; label: string }[] = [
  { min: 20, opacity: 1, label: "20 puntos o más" },
  { min: 10, opacity: 0.78, label: "de 10 a 20 puntos" },
  { min: 5, opacity: 0.58, label: "de 5 a 10 puntos" },
  { min: 0, opacity: 0.38, label: "menos de 5 puntos" },
];

export function marginStep(margin: number | null): { min: number; opacity: number; label: string } {
  return MARGIN_STEPS.find((s) => (margin ?? 0) >= s.min) ?? MARGIN_STEPS[MARGIN_STEPS.length - 1];
}

export const PAPELETAS: { code: string; label: string }[] = [
  { code: "presidente", label: "Presidente" },
  { code: "diputados_nacional", label: "Diputados (lista nacional)" },
  { code: "diputados_distrital", label: "Diputados (distrito)" },
  { code: "municipal", label: "Corporación municipal" },
  { code: "parlacen", label: "Parlacen" },
];

export const SOURCES: { code: "actas" | "votes"; label: string }[] = [
  { code: "actas", label: "Conteo preliminar (actas)" },
  { code: "votes", label: "Votos transmitidos" },
];

export const STATUS_LABEL: Record<string, string> = {
  pending: "Pendiente",
  counted: "Contada",
  inconsistent: "Inconsistente",
  in_review: "En revisión",
};

/** The acta's arithmetic rules (election/actas/checks.py), as an official reads them. */
export const RULE_LABEL: Record<string, string> = {
  sum_valid: "La suma de los votos por partido no es el total de votos válidos",
  sum_cast: "Válidos + nulos + en blanco no es el total de votos emitidos",
  voters: "Emitidos + inválidos no es el número de votantes",
  padron: "Votaron más personas que las empadronadas en la mesa",
  ballots: "Votantes + papeletas sobrantes no es el número de papeletas recibidas",
};

export const FIELD_LABEL: Record<string, string> = {
  nulos: "Nulos",
  blancos: "En blanco",
  invalidos: "Inválidos",
  impugnados: "Impugnados",
  total_valid: "Total válidos",
  total_cast: "Total emitidos",
  voters: "Votantes",
  ballots_received: "Papeletas recibidas",
  ballots_unused: "Papeletas sobrantes",
};
export const COUNT_FIELDS = Object.keys(FIELD_LABEL) as (keyof typeof FIELD_LABEL)[];
