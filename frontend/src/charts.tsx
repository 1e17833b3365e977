// Charts drawn with Recharts (chosen in docs/frontend.md: SVG with its text in the DOM, and
// keyboard navigation through its accessibility layer). Every chart also carries its numbers
// as text and data-* attributes, so screen readers and tests read numbers, not pixels.
import { Bar, BarChart as RBarChart, Cell, LabelList, Pie, PieChart as RPieChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatInt, formatPercent } from "./format";

export interface Bar {
  key: string;
  label: string;
  value: number;
}

/** Horizontal bars: long Spanish place names stay readable on a phone. */
export function BarChart({ name, bars, unit }: { name: string; bars: Bar[]; unit: string }) {
  if (bars.length === 0) return <p className="empty" data-chart={name} data-empty="true">Aún no hay votos.</p>;
  return (
    <div className="bar-chart" data-chart={name}>
      <ResponsiveContainer width="100%" height={bars.length * 44 + 10}>
        <RBarChart data={bars} layout="vertical" margin={{ top: 4, right: 64, bottom: 4, left: 4 }} accessibilityLayer>
          <XAxis type="number" hide domain={[0, "dataMax"]} />
          <YAxis type="category" dataKey="label" width={150} tick={{ fontSize: 12 }} interval={0} />
          <Tooltip formatter={(value) => [`${formatInt(Number(value))} ${unit}`, ""]} separator="" />
          <Bar dataKey="value" fill="var(--accent)" isAnimationActive={false} radius={[0, 4, 4, 0]}>
            <LabelList dataKey="value" position="right" formatter={(v: unknown) => formatInt(Number(v))} className="bar-value" />
          </Bar>
        </RBarChart>
      </ResponsiveContainer>
      <ol className="sr-only">
        {bars.map((bar, i) => (
          <li key={bar.key} data-key={bar.key} data-label={bar.label} data-value={bar.value} data-rank={i + 1}>
            {bar.label}: {formatInt(bar.value)} {unit}
          </li>
        ))}
      </ol>
    </div>
  );
}

export interface Slice {
  key: string;
  label: string;
  value: number;
  percent: number;
  color: string;
}

export function PieChart({ name, slices, total }: { name: string; slices: Slice[]; total: number }) {
  if (total === 0 || slices.length === 0) {
    return <p className="empty" data-chart={name} data-empty="true">Sin votos en esta área.</p>;
  }
  return (
    <div className="pie" data-chart={name} data-total={total}>
      <div className="pie-graphic" role="img" aria-label={slices.map((s) => `${s.label} ${formatPercent(s.percent)}`).join("; ")}>
        <ResponsiveContainer width="100%" height="100%">
          <RPieChart>
            <Pie data={slices} dataKey="value" nameKey="label" outerRadius="95%" isAnimationActive={false} stroke="#fff">
              {slices.map((s) => (
                <Cell key={s.key} fill={s.color} />
              ))}
            </Pie>
            <Tooltip formatter={(value, label) => [`${formatInt(Number(value))} votos`, String(label)]} />
          </RPieChart>
        </ResponsiveContainer>
      </div>
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
