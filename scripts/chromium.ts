// Launches Debian's chromium headless with WebGPU on (SwiftShader where there is no GPU) through puppeteer,
// serving pages from 127.0.0.1. Shared by the browser tests, the demo test and the benchmark runner.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer';

export function chromiumPath(): string | null {
  const env = process.env.KILN_CHROMIUM ?? process.env.PUPPETEER_EXECUTABLE_PATH;
  for (const p of [env, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    if (p && existsSync(p)) return p;
  }
  return null;
}

export async function launch(opts: { webgpu?: boolean; protocolTimeout?: number } = {}): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const exe = chromiumPath();
  if (!exe) throw new Error('no chromium found: install it (bash scripts/setup.sh) or set KILN_CHROMIUM');
  const profile = mkdtempSync(join(tmpdir(), 'kiln-chromium-'));
  const webgpu = opts.webgpu ?? true;
  const browser = await puppeteer.launch({
    executablePath: exe,
    headless: true,
    protocolTimeout: opts.protocolTimeout ?? 600_000,
    dumpio: Boolean(process.env.KILN_CHROMIUM_DUMPIO),
    args: [
      '--headless=new', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`,
      // Vulkan on SwiftShader for the compositor too: without it a WebGPU canvas has no swap-chain backing in
      // headless mode (Chromium logs "Could not find SharedImageBackingFactory" and destroys the device).
      ...(webgpu ? ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-angle=vulkan'] : ['--disable-webgpu']),
      ...(process.env.KILN_CHROMIUM_ARGS ? process.env.KILN_CHROMIUM_ARGS.split(' ') : []),
    ],
  });
  return {
    browser,
    close: async () => { await browser.close(); rmSync(profile, { recursive: true, force: true }); },
  };
}

/** A static server on 127.0.0.1 (a secure context, which WebGPU requires) for in-memory files. */
export async function serve(files: Record<string, { type: string; body: string | Buffer }>): Promise<{ url: string; close: () => void }> {
  const server = http.createServer((req, res) => {
    const f = files[(req.url ?? '/').split('?')[0]];
    if (!f) { res.statusCode = 404; res.end(); return; }
    res.setHeader('content-type', f.type);
    res.end(f.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}`, close: () => server.close() };
}
