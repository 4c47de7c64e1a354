import { describe, expect, it } from 'vitest';
import { layOutChart, SMALL_CHART } from './chart-geometry.ts';

const MOOD = { min: 1, max: 5, ticks: [1, 3, 5] };
const plotLeft = SMALL_CHART.left;
const plotRight = SMALL_CHART.width - SMALL_CHART.right;
const plotTop = SMALL_CHART.top;
const plotBottom = SMALL_CHART.height - SMALL_CHART.bottom;

describe('trend chart layout', () => {
  it('[WB43] spans the points over the plot in time order, the scale top to bottom, out-of-range values at the edge', () => {
    const layout = layOutChart(
      [
        { at: 3_000, value: 5 },
        { at: 1_000, value: 1 },
        { at: 2_000, value: 9 },
      ],
      MOOD,
    );
    expect(layout.points.map((p) => [p.at, p.x, p.y])).toEqual([
      [1_000, plotLeft, plotBottom],
      [2_000, (plotLeft + plotRight) / 2, plotTop],
      [3_000, plotRight, plotTop],
    ]);
    expect(layout.path).toBe(
      `M${plotLeft} ${plotBottom} L${(plotLeft + plotRight) / 2} ${plotTop} L${plotRight} ${plotTop}`,
    );
    expect(layout.yTicks).toEqual([
      { value: 1, y: plotBottom },
      { value: 3, y: (plotTop + plotBottom) / 2 },
      { value: 5, y: plotTop },
    ]);
  });

  it('[WB43] one point sits in the middle; no points draw no path', () => {
    expect(layOutChart([{ at: 5, value: 3 }], MOOD).points[0]?.x).toBe((plotLeft + plotRight) / 2);
    expect(layOutChart([], MOOD).path).toBe('');
  });
});
