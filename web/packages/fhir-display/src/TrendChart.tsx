// One test over time, drawn by uPlot (small, maintained, canvas), the normal range as a band
// between two flat series (uPlot's own `bands`), and the same readings as a table: the chart is
// for the eye, the table for everyone (screen readers read the table, not the canvas). uPlot's
// stylesheet comes with the apps' own (app-shell/src/styles.css). uPlot itself is fetched when a
// chart is first drawn, not with the app's first page (which most visits never need it on).

import { useEffect, useRef } from 'react';
import type uPlot from 'uplot';
import { formatDate } from './fhir.ts';
import type { Trend } from './trends.ts';
import { useFirst } from './useFirst.tsx';

const COLOURS = ['#1f5fa8', '#b34700'];

function options(trend: Trend, width: number): uPlot.Options {
  const ranged = trend.low !== undefined && trend.high !== undefined;
  const series: uPlot.Series[] = [
    {},
    ...trend.lines.map((line, i) => ({
      label: line.label,
      stroke: COLOURS[i % COLOURS.length]!,
      width: 2,
      points: { show: true, size: 6 },
      spanGaps: true,
    })),
  ];
  if (ranged)
    series.push(
      { label: 'Top of normal', stroke: '#6a9f6a', dash: [4, 4] },
      { label: 'Bottom of normal', stroke: '#6a9f6a', dash: [4, 4] },
    );
  const n = trend.lines.length;
  return {
    width,
    height: 220,
    series,
    ...(ranged ? { bands: [{ series: [n + 1, n + 2] as [number, number], fill: 'rgba(106,159,106,0.15)' }] } : {}),
    axes: [{}, { label: trend.unit ?? '' }],
    legend: { show: true },
  };
}

/** The chart's data: one x (seconds) per date any line has, each line's value there or null. */
function data(trend: Trend): uPlot.AlignedData {
  const times = [...new Set(trend.lines.flatMap((l) => l.points.map((p) => p.date.getTime() / 1000)))].sort(
    (a, b) => a - b,
  );
  const lines = trend.lines.map((line) => {
    const at = new Map(line.points.map((p) => [p.date.getTime() / 1000, p.value]));
    return times.map((t) => at.get(t) ?? null);
  });
  const flat = (v: number | undefined) => (v === undefined ? [] : [times.map(() => v)]);
  return [times, ...lines, ...flat(trend.high), ...flat(trend.low)] as uPlot.AlignedData;
}

function Canvas({ trend }: { trend: Trend }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element || typeof window.matchMedia !== 'function') return;
    const width = () => Math.max(element.clientWidth, 240);
    let plot: uPlot | undefined;
    let gone = false;
    // The chart follows its box (a phone turned, a window narrowed): never wider than the page.
    const resized = new ResizeObserver(() => plot?.setSize({ width: width(), height: 220 }));
    void import('uplot').then(({ default: UPlot }) => {
      if (gone) return; // the record was closed while uPlot loaded
      plot = new UPlot(options(trend, width()), data(trend), element);
      resized.observe(element);
    });
    return () => {
      gone = true;
      resized.disconnect();
      plot?.destroy();
    };
  }, [trend]);
  return <div ref={box} className="trend-canvas" aria-hidden="true" />;
}

/** Readings listed before "Show all": the newest, which the chart's right end shows too. */
const LATEST_READINGS = 12;

export function TrendChart({ trend }: { trend: Trend }) {
  const range =
    trend.low !== undefined && trend.high !== undefined
      ? `normal ${trend.low} to ${trend.high}${trend.unit ? ` ${trend.unit}` : ''}`
      : undefined;
  const readings = trend.lines
    .flatMap((l) => l.points.map((p) => ({ ...p, label: l.label })))
    .sort((a, b) => b.date.getTime() - a.date.getTime());
  const { shown, more } = useFirst(readings, LATEST_READINGS, 'readings');
  return (
    <figure className="trend" aria-label={`${trend.name} over time`}>
      <figcaption>
        {trend.name} over time{range ? ` (${range})` : ''}
      </figcaption>
      <Canvas trend={trend} />
      <table className="results">
        <caption>Readings of {trend.name}</caption>
        <thead>
          <tr>
            <th scope="col">Date</th>
            {trend.lines.length > 1 && <th scope="col">Reading</th>}
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r, i) => (
            <tr key={i}>
              <td>{formatDate(r.date)}</td>
              {trend.lines.length > 1 && <td>{r.label}</td>}
              <td>
                {r.value}
                {trend.unit ? ` ${trend.unit}` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {more}
    </figure>
  );
}
