// The chart's legend layout: names wrap onto further rows instead of running past the canvas edge.
import { describe, expect, it } from 'vitest';
import { legendLayout } from '../../demo/chart.js';

// About the width of 11 px system-ui text.
const width = (s: string) => 6 * s.length;

describe('legendLayout', () => {
  // The CycleGAN tab's lower panel (demo/cycle.ts imports the library through the page's alias).
  const lsgan = { title: 'LSGAN losses (0.25 = even)', series: ['D_A', 'D_B', 'G_A', 'G_B'].map((name) => ({ name, color: '#000', values: [] })) };
  it('keeps every name inside a phone-width chart, wrapping onto more rows', () => {
    const maxX = 350 - 10;
    const { items, rows } = legendLayout(lsgan, 44, maxX, width);
    expect(items.map((i) => i.text)).toEqual([lsgan.title, 'D_A', 'D_B', 'G_A', 'G_B']);
    expect(rows).toBeGreaterThan(1);
    for (const it of items.slice(1)) expect(it.x + 15 + width(it.text)).toBeLessThanOrEqual(maxX);
    // Rows fill left to right: a row's items do not overlap.
    for (let k = 2; k < items.length; k++) {
      if (items[k].row === items[k - 1].row) expect(items[k].x).toBeGreaterThanOrEqual(items[k - 1].x + 15 + width(items[k - 1].text));
    }
  });
  it('uses one row when the chart is wide enough', () => {
    const { items, rows } = legendLayout(lsgan, 44, 1000, width);
    expect(rows).toBe(1);
    expect(items.every((i) => i.row === 0)).toBe(true);
  });
});
