// Plots without a plotting library: SVG line charts for loss curves, and a raster scatter (RGBA bytes for
// encodePng) for 2-D samples.

export interface Series { name: string; color: string; values: number[] }

/** A line chart of several series over steps, as an SVG document. */
export function lineChartSvg(title: string, steps: number[], series: Series[], width = 720, height = 360): string {
  const m = { l: 56, r: 16, t: 32, b: 40 };
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  const lo = all.length ? Math.min(...all) : 0;
  const hi = all.length ? Math.max(...all) : 1;
  const ymin = lo === hi ? lo - 1 : lo;
  const ymax = lo === hi ? hi + 1 : hi;
  const x0 = steps[0] ?? 0;
  const x1 = steps[steps.length - 1] ?? 1;
  const sx = (x: number) => m.l + ((x - x0) / Math.max(1e-9, x1 - x0)) * (width - m.l - m.r);
  const sy = (y: number) => height - m.b - ((y - ymin) / (ymax - ymin)) * (height - m.t - m.b);
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`, `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${title}</text>`];
  for (let i = 0; i <= 4; i++) {
    const v = ymin + ((ymax - ymin) * i) / 4;
    parts.push(`<line x1="${m.l}" x2="${width - m.r}" y1="${sy(v)}" y2="${sy(v)}" stroke="#ddd"/>`,
      `<text x="${m.l - 6}" y="${sy(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  parts.push(`<text x="${width / 2}" y="${height - 8}" text-anchor="middle">step</text>`,
    `<text x="${m.l}" y="${height - m.b + 16}" text-anchor="middle">${x0}</text>`,
    `<text x="${width - m.r}" y="${height - m.b + 16}" text-anchor="middle">${x1}</text>`);
  series.forEach((s, k) => {
    const pts = s.values.map((v, i) => (Number.isFinite(v) ? `${sx(steps[i]).toFixed(1)},${sy(v).toFixed(1)}` : '')).filter(Boolean);
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts.join(' ')}"/>`,
      `<rect x="${m.l + 10 + k * 120}" y="${m.t - 2}" width="12" height="3" fill="${s.color}"/>`,
      `<text x="${m.l + 26 + k * 120}" y="${m.t + 3}">${s.name}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Scatter of point sets (x, y interleaved) into an RGBA image; the view fits all points. */
export function scatterRgba(sets: { points: Float32Array | number[]; color: [number, number, number] }[], size = 400):
  { pixels: Uint8Array; width: number; height: number; channels: 4 } {
  const pixels = new Uint8Array(size * size * 4).fill(255);
  let xmin = Infinity; let xmax = -Infinity; let ymin = Infinity; let ymax = -Infinity;
  for (const s of sets) for (let i = 0; i + 1 < s.points.length; i += 2) {
    const x = s.points[i]; const y = s.points[i + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    xmin = Math.min(xmin, x); xmax = Math.max(xmax, x); ymin = Math.min(ymin, y); ymax = Math.max(ymax, y);
  }
  if (!Number.isFinite(xmin)) { xmin = -1; xmax = 1; ymin = -1; ymax = 1; }
  const span = Math.max(xmax - xmin, ymax - ymin, 1e-6) * 1.1;
  const cx = (xmin + xmax) / 2; const cy = (ymin + ymax) / 2;
  const px = (x: number) => Math.round(((x - cx) / span + 0.5) * (size - 1));
  const py = (y: number) => Math.round((0.5 - (y - cy) / span) * (size - 1));
  for (const s of sets) for (let i = 0; i + 1 < s.points.length; i += 2) {
    const x = px(s.points[i]); const y = py(s.points[i + 1]);
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
      const X = x + dx; const Y = y + dy;
      if (X < 0 || Y < 0 || X >= size || Y >= size) continue;
      const o = (Y * size + X) * 4;
      pixels[o] = s.color[0]; pixels[o + 1] = s.color[1]; pixels[o + 2] = s.color[2]; pixels[o + 3] = 255;
    }
  }
  return { pixels, width: size, height: size, channels: 4 };
}
