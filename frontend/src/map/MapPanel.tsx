// The map: d3-geo projects and draws the shapes (geoPath), no path code of ours. Each area is
// filled with its leading partido's colour, shaded by the margin over the runner-up; hover,
// focus or tap shows its numbers; click or Enter drills down. Every shape is a focusable link
// with an aria-label carrying the same numbers as the table below it.
import { geoMercator, geoPath } from "d3-geo";
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { useLocation } from "wouter";
import { Panel } from "../common";
import type { Area, AreaChild } from "../data/types";
import { formatInt, formatPercent } from "../format";
import { MARGIN_STEPS, marginStep, partidoColor } from "../labels";
import { useSelection } from "../selection";
import { loadShapes, type Shape, type Shapes } from "./shapes";

const WIDTH = 600;
const HEIGHT = 620;

function describe(child: AreaChild | undefined, nombre: string): string {
  if (!child || !child.leader) return `${nombre}: sin votos contados aún`;
  const margin = child.margin_percent == null ? "" : `, ventaja de ${formatPercent(child.margin_percent).replace(" %", "")} puntos`;
  return `${nombre}: lidera ${child.leader} con ${formatPercent(child.leader_percent ?? 0)}${margin}; ${formatPercent(child.percent_counted)} de actas contadas`;
}

export function MapPanel({ area, departamento }: { area: Area | null; departamento: string | null }) {
  const [shapes, setShapes] = useState<Shapes | null>(null);
  const [failed, setFailed] = useState<unknown>(null);
  const [shown, setShown] = useState<{ code: string; x: number; y: number } | null>(null);
  const [, navigate] = useLocation();
  // On a touch screen there is no hover: the first tap shows an area's numbers, a second opens it.
  const pointer = useRef<string>("mouse");
  const tapped = useRef<string | null>(null);
  const { query } = useSelection();

  useEffect(() => {
    loadShapes().then(setShapes, setFailed);
  }, []);

  const features: Shape[] = useMemo(() => {
    if (!shapes) return [];
    return departamento === null ? shapes.departamentos : shapes.municipios.filter((m) => m.properties.departamento === departamento);
  }, [shapes, departamento]);

  const paths = useMemo(() => {
    if (features.length === 0) return [];
    const collection = { type: "FeatureCollection" as const, features };
    const projection = geoMercator().fitSize([WIDTH, HEIGHT], collection);
    const path = geoPath(projection);
    return features.map((f) => ({ code: f.properties.code, nombre: f.properties.nombre, d: path(f) ?? "", centroid: path.centroid(f) }));
  }, [features]);

  const children = useMemo(() => new Map((area?.children ?? []).map((c) => [c.code, c])), [area]);
  const leaders = [...new Set((area?.children ?? []).map((c) => c.leader).filter((l): l is string => !!l))].sort();
  const hrefOf = (code: string) => (departamento === null ? `/d/${code}${query}` : `/m/${code}${query}`);
  const onKey = (code: string) => (e: KeyboardEvent) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      navigate(hrefOf(code));
    }
  };
  const shownChild = shown ? children.get(shown.code) : undefined;

  return (
    <Panel id="map" title={departamento === null ? "Mapa por departamento" : "Mapa por municipio"} wide>
      {failed ? <p className="error">No se pudo cargar el mapa; los números están en la tabla de abajo.</p> : null}
      <div className="map-wrap">
        <div className="map-box" onMouseLeave={() => setShown(null)}>
          <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} className="map" role="group" aria-label="Mapa de resultados; cada área es un enlace">
            {paths.map((p) => {
              const child = children.get(p.code);
              const fill = partidoColor(child?.leader);
              const step = marginStep(child?.margin_percent ?? null);
              return (
                <path
                  key={p.code}
                  d={p.d}
                  data-code={p.code}
                  data-leader={child?.leader ?? ""}
                  data-fill={fill}
                  fill={fill}
                  fillOpacity={child?.leader ? step.opacity : 1}
                  className="area"
                  tabIndex={0}
                  role="link"
                  aria-label={describe(child, p.nombre)}
                  onMouseMove={(e) => {
                    const box = (e.currentTarget.ownerSVGElement as SVGSVGElement).getBoundingClientRect();
                    setShown({ code: p.code, x: ((e.clientX - box.left) / box.width) * 100, y: ((e.clientY - box.top) / box.height) * 100 });
                  }}
                  onFocus={() => setShown({ code: p.code, x: (p.centroid[0] / WIDTH) * 100, y: (p.centroid[1] / HEIGHT) * 100 })}
                  onBlur={() => setShown(null)}
                  onPointerDown={(e) => (pointer.current = e.pointerType)}
                  onClick={() => {
                    if (pointer.current === "touch" && tapped.current !== p.code) {
                      tapped.current = p.code;
                      setShown({ code: p.code, x: (p.centroid[0] / WIDTH) * 100, y: (p.centroid[1] / HEIGHT) * 100 });
                      return;
                    }
                    navigate(hrefOf(p.code));
                  }}
                  onKeyDown={onKey(p.code)}
                >
                  <title>{p.nombre}</title>
                </path>
              );
            })}
          </svg>
          {shown ? (
            <div className="map-tip" role="status" style={{ left: `${Math.min(70, shown.x)}%`, top: `${Math.min(85, shown.y)}%` }}>
              <strong>{shownChild?.nombre ?? paths.find((p) => p.code === shown.code)?.nombre}</strong>
              {shownChild?.leader ? (
                <>
                  <br />
                  Lidera {shownChild.leader}: {formatInt(shownChild.leader_votes)} votos ({formatPercent(shownChild.leader_percent ?? 0)})
                  <br />
                  Ventaja: {shownChild.margin_percent == null ? "—" : `${formatPercent(shownChild.margin_percent).replace(" %", "")} puntos`}
                  {shownChild.runner_up ? ` sobre ${shownChild.runner_up}` : ""}
                </>
              ) : (
                <>
                  <br />
                  Sin votos contados aún
                </>
              )}
              {pointer.current === "touch" ? (
                <>
                  <br />
                  <em>Toque de nuevo para abrir</em>
                </>
              ) : null}
              {shownChild ? (
                <>
                  <br />
                  Actas: {formatInt(shownChild.actas_counted)} de {formatInt(shownChild.actas_expected)} ({formatPercent(shownChild.percent_counted)})
                </>
              ) : null}
            </div>
          ) : null}
        </div>
        <div className="map-legend" data-testid="map-legend">
          <h3>Lidera</h3>
          <ul className="legend">
            {leaders.map((l) => (
              <li key={l} data-partido={l}>
                <span className="swatch" style={{ background: partidoColor(l) }} aria-hidden="true" /> {l}
              </li>
            ))}
            <li data-partido="">
              <span className="swatch" style={{ background: partidoColor(null) }} aria-hidden="true" /> Sin votos contados
            </li>
          </ul>
          <h3>Ventaja sobre el segundo</h3>
          <ul className="legend">
            {MARGIN_STEPS.map((s) => (
              <li key={s.min} data-margin={s.min}>
                <span className="swatch" style={{ background: "#333", opacity: s.opacity }} aria-hidden="true" /> {s.label}
              </li>
            ))}
          </ul>
          <p className="note">
            Pase el cursor sobre un área, o tóquela, para ver sus números; un clic, o un segundo toque, abre su página.
          </p>
        </div>
      </div>
    </Panel>
  );
}
