/**
 * A small line chart drawn as SVG (no chart library: the screens that use it are lazy chunks and stay small),
 * with the same numbers as a table for screen readers and for anyone who prefers to read them: the SVG is
 * decorative (aria-hidden) and the table is the chart's accessible form.
 */
import { For } from 'solid-js';
import { layOutChart, SMALL_CHART, type ChartPoint } from './chart-geometry.ts';
import './trend-chart.css';

export function TrendChart(props: {
  /** What the chart shows, e.g. "Mood, last 30 days": the figure's caption and the table's caption. */
  caption: string;
  points: readonly ChartPoint[];
  scale: { min: number; max: number; ticks: readonly number[] };
  /** Column headings of the table: when, and what. */
  columns: readonly [string, string];
  formatAt: (at: number) => string;
  formatValue: (value: number) => string;
}) {
  const layout = () => layOutChart(props.points, props.scale);
  const frame = SMALL_CHART;
  return (
    <figure class="trend-chart">
      <figcaption>{props.caption}</figcaption>
      <svg viewBox={`0 0 ${frame.width} ${frame.height}`} aria-hidden="true">
        <For each={layout().yTicks}>
          {(tick) => (
            <>
              <line class="grid" x1={frame.left} x2={frame.width - frame.right} y1={tick.y} y2={tick.y} />
              <text class="tick" x={frame.left - 4} y={tick.y + 4} text-anchor="end">
                {tick.value}
              </text>
            </>
          )}
        </For>
        <path class="line" d={layout().path} />
        <For each={layout().points}>{(p) => <circle class="dot" cx={p.x} cy={p.y} r="3" />}</For>
      </svg>
      <table class="chart-table">
        <caption class="visually-hidden">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">{props.columns[0]}</th>
            <th scope="col">{props.columns[1]}</th>
          </tr>
        </thead>
        <tbody>
          <For each={layout().points}>
            {(p) => (
              <tr>
                <td>{props.formatAt(p.at)}</td>
                <td>{props.formatValue(p.value)}</td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </figure>
  );
}
