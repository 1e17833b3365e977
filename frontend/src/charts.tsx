// Hand-written charts: a few dozen lines each, no chart library in the bundle. Every chart
// carries its numbers as text and data-* attributes, so screen readers and tests read
// numbers, not pixels.
import { formatInt, formatPercent } from "./format";

export interface Bar {
  key: string;
  label: string;
  value: number;
}

/** Horizontal bars: long Spanish place names stay readable on a phone. */
export function BarChart({ name, bars, unit }: { name: string; bars: Bar[]; unit: string }) {
  const max = Math.max(1, ...bars.map((b) => b.value));
  if (bars.length === 0) return <p className="empty" data-chart={name} data-empty="true">Aún no hay votos.</p>;
  return (
    <ol className="bars" data-chart={name} aria-label={bars.map((b) => `${b.label}: ${b.value} ${unit}`).join("; ")}>
      {bars.map((bar, i) => (
        <li key={bar.key} className="bar" data-key={bar.key} data-label={bar.label} data-value={bar.value} data-rank={i + 1}>
          <span className="bar-label">{bar.label}</span>
          <span className="bar-track" aria-hidden="true">
            <span className="bar-fill" style={{ width: `${(bar.value / max) * 100}%` }} />
          </span>
          <span className="bar-value">
            {formatInt(bar.value)} <span className="unit">{unit}</span>
          </span>
        </li>
      ))}
    </ol>
  );
}

export interface Slice {
  key: string;
  label: string;
  value: number;
  percent: number;
  color: string;
}

function arcPath(start: number, end: number): string {
  // Angles in turns (0..1) from 12 o'clock, clockwise, on a circle of radius 1 at the origin.
  const point = (t: number) => [Math.sin(2 * Math.PI * t), -Math.cos(2 * Math.PI * t)];
  const [x0, y0] = point(start);
  const [x1, y1] = point(end);
  const large = end - start > 0.5 ? 1 : 0;
  return `M0 0 L${x0.toFixed(5)} ${y0.toFixed(5)} A1 1 0 ${large} 1 ${x1.toFixed(5)} ${y1.toFixed(5)} Z`;
}

export function PieChart({ name, slices, total }: { name: string; slices: Slice[]; total: number }) {
  if (total === 0 || slices.length === 0) {
    return <p className="empty" data-chart={name} data-empty="true">Sin votos en esta área.</p>;
  }
  let at = 0;
  const shapes = slices.map((slice) => {
    const start = at;
    at += slice.value / total;
    return { slice, start, end: at };
  });
  return (
    <div className="pie" data-chart={name} data-total={total}>
      <svg viewBox="-1.05 -1.05 2.1 2.1" role="img" aria-label={slices.map((s) => `${s.label} ${formatPercent(s.percent)}`).join("; ")}>
        {shapes.map(({ slice, start, end }) =>
          end - start >= 0.99999 ? (
            <circle key={slice.key} r="1" fill={slice.color} />
          ) : (
            <path key={slice.key} d={arcPath(start, end)} fill={slice.color} stroke="#fff" strokeWidth="0.01" />
          ),
        )}
      </svg>
      <ul className="legend">
        {slices.map((slice) => (
          <li key={slice.key} data-label={slice.label} data-value={slice.value} data-percent={slice.percent.toFixed(2)}>
            <span className="swatch" style={{ background: slice.color }} aria-hidden="true" />
            <span className="legend-label">{slice.label}</span>
            <span className="legend-value">
              {formatPercent(slice.percent)} <span className="unit">({formatInt(slice.value)})</span>
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}

// Twenty colours that stay apart from each other (after Kelly's colours of maximum contrast).
const PALETTE = [
  "#1f5fa8", "#e6194b", "#3cb44b", "#f58231", "#911eb4", "#42a5b5", "#f032e6", "#9a6324",
  "#808000", "#000075", "#800000", "#469990", "#e6a800", "#5c6bc0", "#aa6e28", "#2e7d32",
  "#c2185b", "#546e7a", "#7b1fa2", "#00838f",
];

/** A stable colour per partido (its place in the catalogue), the same in every chart. */
export function partidoColor(index: number): string {
  return PALETTE[index % PALETTE.length];
}
