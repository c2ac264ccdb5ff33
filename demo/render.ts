// WebGPU drawing for the demo, on the page's own device (which Kiln shares): point clouds and a heat map read
// straight from tensors' GPU buffers, ellipses computed in the vertex shader from the generator's weight
// buffer, and image grids from sample tensors — nothing is copied back to JavaScript. wgpu-matrix makes the
// view transforms.
import { mat4 } from 'wgpu-matrix';

export interface GpuView { buffer: GPUBuffer; offset: number; size: number }

const POINTS_WGSL = /* wgsl */ `
struct View { m: mat4x4f, color: vec4f, size: f32, mode: u32, n: u32, grid: u32 }
@group(0) @binding(0) var<uniform> v: View;
@group(0) @binding(1) var<storage, read> data: array<f32>;
struct Out { @builtin(position) pos: vec4f, @location(0) color: vec4f }
const CORNERS = array<vec2f, 6>(vec2f(-1, -1), vec2f(1, -1), vec2f(-1, 1), vec2f(-1, 1), vec2f(1, -1), vec2f(1, 1));
@vertex fn vs(@builtin(vertex_index) vi: u32, @builtin(instance_index) ii: u32) -> Out {
  var o: Out;
  let c = CORNERS[min(vi, 5u)];
  if (v.mode == 0u) { // points: data = [n, 2]
    let p = vec2f(data[2u * ii], data[2u * ii + 1u]);
    let q = v.m * vec4f(p, 0.0, 1.0);
    o.pos = vec4f(q.xy + c * v.size, 0.0, 1.0);
    o.color = v.color;
  } else if (v.mode == 1u) { // heat map cell ii of a grid x grid lattice over [-1, 1]^2 in clip space, data = [grid^2] in [0, 1]
    let gx = f32(ii % v.grid); let gy = f32(ii / v.grid);
    let cell = 2.0 / f32(v.grid);
    o.pos = vec4f(-1.0 + (gx + 0.5 + 0.5 * c.x) * cell, -1.0 + (gy + 0.5 + 0.5 * c.y) * cell, 0.0, 1.0);
    let d = clamp(data[ii], 0.0, 1.0);
    o.color = vec4f(mix(vec3f(0.98, 0.86, 0.80), vec3f(0.80, 0.88, 0.98), d), 1.0);
  } else if (v.mode == 3u) { // arrows: data = [n, 4] rows (x0, y0, x1, y1); a shaft quad (vertices 0-5), a head (6-8)
    let a = (v.m * vec4f(data[4u * ii], data[4u * ii + 1u], 0.0, 1.0)).xy;
    let b = (v.m * vec4f(data[4u * ii + 2u], data[4u * ii + 3u], 0.0, 1.0)).xy;
    let d = b - a;
    let len = length(d);
    let dir = select(vec2f(1.0, 0.0), d / max(len, 1e-6), len > 1e-6);
    let nrm = vec2f(-dir.y, dir.x);
    let head = min(v.size * 5.0, len * 0.5);
    let base = b - dir * head;
    if (vi < 6u) {
      o.pos = vec4f(select(a, base, c.x > 0.0) + nrm * v.size * 0.5 * c.y, 0.0, 1.0);
    } else if (vi == 6u) {
      o.pos = vec4f(b, 0.0, 1.0);
    } else {
      o.pos = vec4f(base + nrm * head * select(-0.45, 0.45, vi == 7u), 0.0, 1.0);
    }
    o.color = v.color;
  } else { // ellipse: x = b + W (cos t, sin t) * 2, W = data[0..4] row-major, b = data[4..6]; thin quads along the curve
    let k = f32(ii) / f32(v.n) * 6.2831853;
    let k2 = f32(ii + 1u) / f32(v.n) * 6.2831853;
    let w = mat2x2f(data[0], data[2], data[1], data[3]);
    let b = vec2f(data[4], data[5]);
    let p0 = (v.m * vec4f(b + w * vec2f(cos(k), sin(k)) * 2.0, 0.0, 1.0)).xy;
    let p1 = (v.m * vec4f(b + w * vec2f(cos(k2), sin(k2)) * 2.0, 0.0, 1.0)).xy;
    let dir = normalize(p1 - p0 + vec2f(1e-6, 0.0));
    let nrm = vec2f(-dir.y, dir.x) * v.size;
    let base = select(p0, p1, c.x > 0.0);
    o.pos = vec4f(base + nrm * c.y, 0.0, 1.0);
    o.color = v.color;
  }
  return o;
}
@fragment fn fs(i: Out) -> @location(0) vec4f { return i.color; }`;

const GRID_WGSL = /* wgsl */ `
struct G { n: u32, c: u32, h: u32, w: u32, cols: u32, rows: u32, pad: u32, width: u32, height: u32 }
@group(0) @binding(0) var<uniform> g: G;
@group(0) @binding(1) var<storage, read> img: array<f32>;
@vertex fn vs(@builtin(vertex_index) vi: u32) -> @builtin(position) vec4f {
  let p = array<vec2f, 3>(vec2f(-1, -1), vec2f(3, -1), vec2f(-1, 3))[vi];
  return vec4f(p, 0.0, 1.0);
}
@fragment fn fs(@builtin(position) pos: vec4f) -> @location(0) vec4f {
  // The grid (cols x rows tiles of w x h, pad pixels apart) is scaled to fit the canvas.
  let gw = f32(g.cols * (g.w + g.pad) + g.pad);
  let gh = f32(g.rows * (g.h + g.pad) + g.pad);
  let s = min(f32(g.width) / gw, f32(g.height) / gh);
  let px = pos.x / s; let py = pos.y / s;
  if (px >= gw || py >= gh) { return vec4f(0.1, 0.1, 0.12, 1.0); }
  let tx = u32(px) / (g.w + g.pad); let ty = u32(py) / (g.h + g.pad);
  let x = u32(px) % (g.w + g.pad); let y = u32(py) % (g.h + g.pad);
  let i = ty * g.cols + tx;
  if (x < g.pad || y < g.pad || i >= g.n) { return vec4f(0.1, 0.1, 0.12, 1.0); }
  let o = (i * g.c * g.h + (y - g.pad)) * g.w + (x - g.pad);
  let hw = g.h * g.w;
  var rgb = vec3f(img[o]);
  if (g.c == 3u) { rgb = vec3f(img[o], img[o + hw], img[o + 2u * hw]); }
  return vec4f(clamp(rgb * 0.5 + 0.5, vec3f(0.0), vec3f(1.0)), 1.0);
}`;

export class Canvas2Gpu {
  readonly ctx: GPUCanvasContext;
  readonly format: GPUTextureFormat;
  private pointsPipe: GPURenderPipeline;
  private gridPipe: GPURenderPipeline;
  private uniforms: GPUBuffer[] = [];

  constructor(readonly device: GPUDevice, readonly canvas: HTMLCanvasElement) {
    this.ctx = canvas.getContext('webgpu') as GPUCanvasContext;
    this.format = navigator.gpu.getPreferredCanvasFormat();
    this.ctx.configure({ device, format: this.format, alphaMode: 'opaque' });
    const mk = (code: string) => {
      const module = device.createShaderModule({ code });
      return device.createRenderPipeline({
        layout: 'auto', vertex: { module, entryPoint: 'vs' },
        fragment: { module, entryPoint: 'fs', targets: [{ format: this.format }] }, primitive: { topology: 'triangle-list' },
      });
    };
    this.pointsPipe = mk(POINTS_WGSL);
    this.gridPipe = mk(GRID_WGSL);
  }

  private uniform(i: number, data: ArrayBuffer): GPUBuffer {
    while (this.uniforms.length <= i) this.uniforms.push(this.device.createBuffer({ size: 256, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }));
    this.device.queue.writeBuffer(this.uniforms[i], 0, data);
    return this.uniforms[i];
  }

  /** A view matrix that maps the box [cx ± span/2] x [cy ± span/2] onto the canvas. */
  static view(cx: number, cy: number, span: number, aspect: number): Float32Array {
    const h = span / 2;
    return mat4.ortho(cx - h * aspect, cx + h * aspect, cy - h, cy + h, -1, 1) as Float32Array;
  }

  /** Draws layers: heat map cells, point clouds and ellipses, each reading a tensor's GPU buffer. */
  drawScene(layers: ({ kind: 'heat'; data: GpuView; grid: number } | { kind: 'points'; data: GpuView; n: number; color: number[]; size: number } |
    { kind: 'ellipse'; data: GpuView; color: number[]; width: number } | { kind: 'arrows'; data: GpuView; n: number; color: number[]; width: number })[],
  view: Float32Array, clear = [1, 1, 1, 1]): void {
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginRenderPass({ colorAttachments: [{ view: this.ctx.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store',
      clearValue: { r: clear[0], g: clear[1], b: clear[2], a: clear[3] } }] });
    pass.setPipeline(this.pointsPipe);
    layers.forEach((l, i) => {
      const u = new ArrayBuffer(112);
      new Float32Array(u, 0, 16).set(view);
      const f = new Float32Array(u, 64, 5);
      const q = new Uint32Array(u, 84, 3);
      if (l.kind === 'points') { f.set([...l.color, l.size]); q.set([0, l.n, 0]); }
      else if (l.kind === 'heat') { f.set([0, 0, 0, 1, 0]); q.set([1, l.grid * l.grid, l.grid]); }
      else if (l.kind === 'arrows') { f.set([...l.color, l.width]); q.set([3, l.n, 0]); }
      else { f.set([...l.color, l.width]); q.set([2, 128, 0]); }
      const bg = this.device.createBindGroup({ layout: this.pointsPipe.getBindGroupLayout(0), entries: [
        { binding: 0, resource: { buffer: this.uniform(i, u) } },
        { binding: 1, resource: { buffer: l.data.buffer, offset: l.data.offset, size: l.data.size } }] });
      pass.setBindGroup(0, bg);
      pass.draw(l.kind === 'arrows' ? 9 : 6, l.kind === 'points' || l.kind === 'arrows' ? l.n : l.kind === 'heat' ? l.grid * l.grid : 128);
    });
    pass.end();
    this.device.queue.submit([enc.finish()]);
  }

  /** Draws images [n, c, h, w] in [-1, 1] as a grid, `cols` images a row (default: about square). */
  drawGrid(img: GpuView, n: number, c: number, h: number, w: number, cols = Math.ceil(Math.sqrt(n))): void {
    const u = new Uint32Array([n, c, h, w, cols, Math.ceil(n / cols), 2, this.canvas.width, this.canvas.height]);
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginRenderPass({ colorAttachments: [{ view: this.ctx.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store',
      clearValue: { r: 0.1, g: 0.1, b: 0.12, a: 1 } }] });
    pass.setPipeline(this.gridPipe);
    pass.setBindGroup(0, this.device.createBindGroup({ layout: this.gridPipe.getBindGroupLayout(0), entries: [
      { binding: 0, resource: { buffer: this.uniform(0, u.buffer) } },
      { binding: 1, resource: { buffer: img.buffer, offset: img.offset, size: img.size } }] }));
    pass.draw(3);
    pass.end();
    this.device.queue.submit([enc.finish()]);
  }
}
