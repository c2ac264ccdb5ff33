// The "Kiln in your app" example: this page owns its GPUDevice and renders its own 3-D scene; a Kiln generator
// samples straight into the app's vertex buffer every frame (Tensor.fromGPUBuffer, no readback), and the app
// draws it with its own pipeline and a camera from wgpu-matrix.
import { mat4 } from 'wgpu-matrix';
import { noGrad, randn, tidy, Tensor, type nn } from 'kiln';

const WGSL = /* wgsl */ `
struct Cam { m: mat4x4f }
@group(0) @binding(0) var<uniform> cam: Cam;
struct Out { @builtin(position) pos: vec4f, @location(0) color: vec4f }
@vertex fn vs(@location(0) p: vec2f, @builtin(vertex_index) vi: u32, @builtin(instance_index) ii: u32) -> Out {
  var o: Out;
  // Each sample is a small camera-facing cross made of two quads; z fans the points out by their index.
  let c = array<vec2f, 6>(vec2f(-1, -1), vec2f(1, -1), vec2f(-1, 1), vec2f(-1, 1), vec2f(1, -1), vec2f(1, 1))[vi % 6u];
  let q = cam.m * vec4f(p.x - 2.0, p.y - 1.0, (f32(ii % 64u) / 64.0 - 0.5) * 2.0, 1.0);
  o.pos = q + vec4f(c * 0.012 * q.w, 0.0, 0.0);
  o.color = vec4f(0.9, 0.3 + 0.4 * f32(ii % 64u) / 64.0, 0.2, 1.0);
  return o;
}
@fragment fn fs(i: Out) -> @location(0) vec4f { return i.color; }`;

export class AppScene {
  readonly points: GPUBuffer;
  readonly target: Tensor;
  private pipe: GPURenderPipeline;
  private cam: GPUBuffer;
  private bg: GPUBindGroup;
  private ctx: GPUCanvasContext;

  constructor(readonly device: GPUDevice, canvas: HTMLCanvasElement, readonly n = 4096) {
    this.ctx = canvas.getContext('webgpu') as GPUCanvasContext;
    const format = navigator.gpu.getPreferredCanvasFormat();
    this.ctx.configure({ device, format, alphaMode: 'opaque' });
    // The app's own vertex buffer; STORAGE lets Kiln write it, VERTEX lets the app draw it.
    this.points = device.createBuffer({ size: n * 8, usage: GPUBufferUsage.VERTEX | GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
    this.target = Tensor.fromGPUBuffer(this.points, [n, 2]);
    const module = device.createShaderModule({ code: WGSL });
    this.pipe = device.createRenderPipeline({
      layout: 'auto',
      vertex: { module, entryPoint: 'vs', buffers: [{ arrayStride: 8, stepMode: 'instance', attributes: [{ shaderLocation: 0, offset: 0, format: 'float32x2' }] }] },
      fragment: { module, entryPoint: 'fs', targets: [{ format }] },
    });
    this.cam = device.createBuffer({ size: 64, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.bg = device.createBindGroup({ layout: this.pipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: this.cam } }] });
  }

  /** One frame: Kiln samples G into the vertex buffer, then the app renders with its own encoder. */
  frame(G: nn.Module, t: number, aspect: number): void {
    tidy(() => noGrad(() => { this.target.copy_(G.forward(randn([this.n, 2]))); }));
    this.target.gpuBuffer(); // submits Kiln's recorded work before the app's pass below
    const proj = mat4.perspective(Math.PI / 4, aspect, 0.1, 100);
    const view = mat4.lookAt([Math.sin(t) * 14, 4, Math.cos(t) * 14], [0, 0, 0], [0, 1, 0]);
    this.device.queue.writeBuffer(this.cam, 0, new Float32Array(mat4.multiply(proj, view)));
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginRenderPass({ colorAttachments: [{ view: this.ctx.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store', clearValue: { r: 0.06, g: 0.07, b: 0.1, a: 1 } }] });
    pass.setPipeline(this.pipe);
    pass.setBindGroup(0, this.bg);
    pass.setVertexBuffer(0, this.points);
    pass.draw(6, this.n);
    pass.end();
    this.device.queue.submit([enc.finish()]);
  }
}
