// The benchmark table inside the browser: Kiln and tfjs both on navigator.gpu. Bundled by bench/browser.ts.
import { adapter, init } from '../src/index.js';
import * as tf from './tfjs.js';
import { runBench, tuneReport, tuneSummary } from './run.js';

declare global { interface Window { kilnBench: (o: { quick: boolean; filter?: string }) => Promise<unknown> } }

window.kilnBench = async ({ quick, filter }) => {
  await init();
  await tf.setBackend('webgpu');
  await tf.ready();
  const log: string[] = [];
  const rows = await runBench({ tf, quick, filter: filter ? new RegExp(filter, 'i') : undefined, log: (s) => { log.push(s); console.log(s); } });
  const info = (tf.backend() as unknown as { adapterInfo?: { description?: string; vendor?: string; architecture?: string } }).adapterInfo;
  return { rows, kilnAdapter: adapter(), tfjsAdapter: info, tfjs: tf.version_core, userAgent: navigator.userAgent, tune: tuneReport ? tuneSummary(tuneReport) : 'default' };
};
