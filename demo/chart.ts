// Loss and score curves on a 2-D canvas: two panels sharing one step axis (losses on top, D's probabilities
// below on a fixed 0..1 scale), sized to the element's CSS width. Hand-drawn: two static panels of at most a
// few thousand points need no charting library.
export interface Series { name: string; color: string; values: number[] }
export interface Panel { title: string; series: Series[]; range?: [number, number] }

/** Round tick values covering [lo, hi], about `n` of them. */
export function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** Where a panel's legend items go: the title then each series, wrapped onto further rows when the next
 * item would pass `maxX` (a phone-width chart holds two or three names per row). `width` measures text. */
export interface LegendItem { text: string; x: number; row: number; series: number }
export function legendLayout(panel: Panel, left: number, maxX: number, width: (s: string) => number): { items: LegendItem[]; rows: number } {
  const items: LegendItem[] = [{ text: panel.title, x: left + 6, row: 0, series: -1 }];
  let lx = left + 6 + width(panel.title) + 12;
  let row = 0;
  panel.series.forEach((s, i) => {
    const w = 15 + width(s.name);
    if (lx + w > maxX && lx > left + 6) { row++; lx = left + 6; }
    items.push({ text: s.name, x: lx, row, series: i });
    lx += w + 13;
  });
  return { items, rows: row + 1 };
}

/** Height of one legend row, px. */
export const LEGEND_ROW = 14;

const fmt = (v: number) => (Math.abs(v) >= 1000 ? `${+(v / 1000).toFixed(1)}k` : String(+v.toFixed(3)));

export function drawChart(canvas: HTMLCanvasElement, steps: number[], panels: Panel[], empty = 'no steps yet: press Start'): void {
  const dpr = window.devicePixelRatio || 1;
  const W = Math.max(200, canvas.clientWidth || 480);
  const H = Math.max(160, canvas.clientHeight || 300);
  if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr)) { canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr); }
  const g = canvas.getContext('2d')!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.fillStyle = '#fff'; g.fillRect(0, 0, W, H);
  g.font = '11px system-ui, sans-serif';
  const left = 44; const right = 10; const axis = 30; const gap = 20; // gap: room for a one-row legend
  const legends = panels.map((p) => legendLayout(p, left, W - right, (t) => g.measureText(t).width));
  const gaps = legends.map((l) => gap + (l.rows - 1) * LEGEND_ROW);
  const ph = (H - axis - gaps.reduce((a, b) => a + b, 0)) / panels.length;
  const x0 = steps.length ? steps[0] : 0;
  const x1 = steps.length ? Math.max(steps[steps.length - 1], x0 + 1) : 100;
  const sx = (x: number) => left + ((x - x0) / (x1 - x0)) * (W - left - right);
  let top = 0;
  panels.forEach((p, k) => {
    top += gaps[k];
    const lineY = (row: number) => top - 6 - (legends[k].rows - 1 - row) * LEGEND_ROW;
    const all = p.series.flatMap((s) => s.values).filter(Number.isFinite);
    let [lo, hi] = p.range ?? [all.length ? Math.min(...all) : 0, all.length ? Math.max(...all) : 1];
    if (!p.range) { const pad = (hi - lo) * 0.05 || 0.5; lo -= pad; hi += pad; }
    const sy = (y: number) => top + ph - ((y - lo) / (hi - lo)) * ph;
    g.strokeStyle = '#e4e4e4'; g.fillStyle = '#666'; g.lineWidth = 1; g.textAlign = 'right';
    for (const v of ticks(lo, hi, 4)) { g.beginPath(); g.moveTo(left, sy(v)); g.lineTo(W - right, sy(v)); g.stroke(); g.fillText(fmt(v), left - 4, sy(v) + 4); }
    g.strokeStyle = '#bbb'; g.strokeRect(left, top, W - left - right, ph);
    g.textAlign = 'left';
    g.fillStyle = '#333'; g.fillText(p.title, left + 6, lineY(0));
    for (const s of p.series) {
      g.save(); g.beginPath(); g.rect(left, top, W - left - right, ph); g.clip();
      g.strokeStyle = s.color; g.lineWidth = 1.5; g.beginPath();
      let pen = false;
      s.values.forEach((v, i) => { if (!Number.isFinite(v)) { pen = false; return; } const X = sx(steps[i]); const Y = sy(v); if (pen) g.lineTo(X, Y); else g.moveTo(X, Y); pen = true; });
      g.stroke(); g.restore();
    }
    for (const it of legends[k].items.slice(1)) {
      const y = lineY(it.row);
      g.fillStyle = p.series[it.series].color; g.fillRect(it.x, y - 5, 12, 3); g.fillStyle = '#333'; g.fillText(it.text, it.x + 15, y);
    }
    top += ph;
  });
  g.fillStyle = '#666'; g.textAlign = 'center';
  const base = H - axis + 14;
  for (const v of ticks(x0, x1, Math.max(2, Math.floor((W - left) / 80)))) g.fillText(fmt(v), sx(v), base);
  g.fillText('step', left + (W - left - right) / 2, base + 13);
  if (!steps.length) { g.fillStyle = '#888'; g.font = '13px system-ui, sans-serif'; g.fillText(empty, left + (W - left - right) / 2, gaps[0] + ph / 2); }
  g.textAlign = 'left';
}
