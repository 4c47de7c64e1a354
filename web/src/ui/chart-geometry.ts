/**
 * Where a trend chart's points and axis ticks go, as plain numbers (the SVG in trend-chart.tsx only draws them).
 * Time runs left to right over the points' own span; values map onto a fixed scale (e.g. mood 1–5, PHQ-9 0–27)
 * so that two charts of the same measure can be compared by eye. Kept apart from the DOM so it is tested alone.
 */

export type ChartPoint = { readonly at: number; readonly value: number };

export type ChartFrame = {
  readonly width: number;
  readonly height: number;
  /** Room left of and below the plot for the tick labels. */
  readonly left: number;
  readonly bottom: number;
  readonly top: number;
  readonly right: number;
};

export const SMALL_CHART: ChartFrame = { width: 320, height: 160, left: 28, bottom: 22, top: 8, right: 8 };

export type PlacedPoint = ChartPoint & { readonly x: number; readonly y: number };

export type ChartLayout = {
  readonly points: readonly PlacedPoint[];
  /** The SVG path through the points in time order ("M x y L x y …"); empty for no points. */
  readonly path: string;
  readonly yTicks: readonly { readonly value: number; readonly y: number }[];
};

/** Places points (any order) on the frame; values outside [min, max] are clamped to the edge, never dropped. */
export function layOutChart(
  points: readonly ChartPoint[],
  scale: { readonly min: number; readonly max: number; readonly ticks: readonly number[] },
  frame: ChartFrame = SMALL_CHART,
): ChartLayout {
  const sorted = [...points].sort((a, b) => a.at - b.at);
  const plotWidth = frame.width - frame.left - frame.right;
  const plotHeight = frame.height - frame.top - frame.bottom;
  const first = sorted[0]?.at ?? 0;
  const span = (sorted[sorted.length - 1]?.at ?? 0) - first;
  const yOf = (value: number) => {
    const clamped = Math.min(scale.max, Math.max(scale.min, value));
    return round(frame.top + plotHeight * (1 - (clamped - scale.min) / (scale.max - scale.min)));
  };
  // One point (or all at one moment) sits in the middle rather than on the axis.
  const xOf = (at: number) =>
    round(frame.left + (span === 0 ? plotWidth / 2 : (plotWidth * (at - first)) / span));
  const placed = sorted.map((p) => ({ ...p, x: xOf(p.at), y: yOf(p.value) }));
  return {
    points: placed,
    path: placed.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x} ${p.y}`).join(' '),
    yTicks: scale.ticks.map((value) => ({ value, y: yOf(value) })),
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
