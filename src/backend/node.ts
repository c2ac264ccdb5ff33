// Node only: brings Dawn (the `webgpu` package) and, on machines without a hardware GPU, points Vulkan at a
// CPU driver before Dawn starts: Mesa's lavapipe when it is version 24 or newer, else the SwiftShader ICD that
// Debian's chromium ships. Loaded with a dynamic import, so browser bundles never see node built-ins.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const LAVAPIPE_ICDS = [
  '/usr/share/vulkan/icd.d/lvp_icd.json',
  '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json',
  '/usr/share/vulkan/icd.d/lvp_icd.aarch64.json',
];
const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];

export type CpuDriver = 'lavapipe' | 'swiftshader';

/** True when the machine exposes a GPU device node (DRM render node or NVIDIA device). */
function hasHardwareGpu(): boolean {
  try {
    if (existsSync('/dev/nvidia0')) return true;
    return existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

/** Mesa's major version from dpkg's database, or null where that cannot be read (non-Debian). */
function mesaMajorFromDpkg(): number | null {
  try {
    const status = readFileSync('/var/lib/dpkg/status', 'utf8');
    const block = status.split('\n\n').find((b) => /^Package: mesa-vulkan-drivers$/m.test(b) &&
      /^Status: install ok installed$/m.test(b));
    const m = block?.match(/^Version: (?:\d+:)?(\d+)\./m);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Picks the CPU driver: lavapipe >= 24 (Dawn rejects Mesa 22's), else SwiftShader, else none. */
export function pickCpuIcd(prefer?: CpuDriver): { driver: CpuDriver; icd: string } | null {
  const lvp = LAVAPIPE_ICDS.find((p) => existsSync(p));
  const swift = SWIFTSHADER_ICDS.find((p) => existsSync(p));
  const mesa = mesaMajorFromDpkg();
  const lvpOk = lvp !== undefined && (mesa === null || mesa >= 24);
  if (prefer === 'swiftshader' && swift) return { driver: 'swiftshader', icd: swift };
  if (lvpOk) return { driver: 'lavapipe', icd: lvp! };
  if (swift) return { driver: 'swiftshader', icd: swift };
  return null;
}

export interface NodeGpu {
  gpu: GPU;
  icd?: string;
}

/**
 * Returns Dawn's `navigator.gpu` equivalent. Sets VK_ICD_FILENAMES first when the user has not and there is
 * no hardware GPU (or `cpuDriver` asks for one). Dawn reads it once, at its first start in this process.
 */
export async function nodeGpu(opts: { cpuDriver?: CpuDriver; dawnFlags?: string[] } = {}): Promise<NodeGpu> {
  const env = process.env;
  let icd: string | undefined;
  if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && (opts.cpuDriver || !hasHardwareGpu())) {
    const pick = pickCpuIcd(opts.cpuDriver);
    if (pick) {
      env.VK_ICD_FILENAMES = pick.icd;
      icd = pick.icd;
    }
  } else {
    icd = env.VK_ICD_FILENAMES ?? env.VK_DRIVER_FILES;
  }
  let webgpu: { create: (flags: string[]) => GPU };
  try {
    webgpu = (await import('webgpu')) as unknown as { create: (flags: string[]) => GPU };
  } catch (e) {
    throw new Error(`kiln: running in Node needs the 'webgpu' package (Dawn): npm install webgpu (${String(e)})`);
  }
  return { gpu: webgpu.create(opts.dawnFlags ?? []), icd };
}
