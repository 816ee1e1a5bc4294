// The TensorFlow.js backend the MLP trains on, loaded on first use (nothing imports tfjs before a
// model is trained or `personas doctor` asks): `@tensorflow/tfjs-node` ("tensorflow", native
// libtensorflow) when the user has installed it, else the WebAssembly backend shipped inside the
// `@tensorflow/tfjs-backend-wasm` package, its .wasm files read from the package on disk (never
// the network). PERSONAS_TF_BACKEND=wasm|tensorflow forces one. The wasm backend runs on one
// thread: each trainMany worker is already one model, and one thread keeps training repeatable.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ModelError } from '../../errors.ts';

export type Tf = typeof import('@tensorflow/tfjs-core');

export interface BackendInfo {
  /** The tfjs backend in use: "wasm" or "tensorflow". */
  name: string;
  tfjsVersion: string;
  /** For wasm: where the .wasm files are read from; for tensorflow: the tfjs-node package. */
  detail: string;
  /** Why the native backend is not used (not installed, or failed to load), when it is not. */
  nativeNote?: string;
}

const NATIVE_PACKAGE = '@tensorflow/tfjs-node';
let loading: Promise<{ tf: Tf; info: BackendInfo }> | undefined;
let loaded: { tf: Tf; info: BackendInfo } | undefined;

/** Loads tfjs and selects its backend once per thread; later calls return the same. */
export function initBackend(): Promise<{ tf: Tf; info: BackendInfo }> {
  loading ??= selectBackend().then((r) => (loaded = r));
  return loading;
}

/** The tfjs module once `initBackend` has resolved in this thread (undefined before). */
export function loadedBackend(): { tf: Tf; info: BackendInfo } | undefined {
  return loaded;
}

async function selectBackend(): Promise<{ tf: Tf; info: BackendInfo }> {
  const wanted = process.env.PERSONAS_TF_BACKEND?.trim() || 'auto';
  if (!['auto', 'wasm', 'tensorflow'].includes(wanted)) {
    throw new ModelError('TRAINING_DATA_INVALID', `PERSONAS_TF_BACKEND=${wanted}: expected wasm, tensorflow or nothing (automatic)`);
  }
  const tf: Tf = await import('@tensorflow/tfjs-core');
  let nativeNote: string | undefined;
  if (wanted !== 'wasm') {
    try {
      // A variable specifier: tfjs-node is an optional extra, never a dependency, so TypeScript
      // must not resolve it at build time.
      const specifier = NATIVE_PACKAGE;
      await import(specifier);
      if (await tf.setBackend('tensorflow')) {
        return { tf, info: { name: 'tensorflow', tfjsVersion: tf.version_core, detail: NATIVE_PACKAGE } };
      }
      nativeNote = `${NATIVE_PACKAGE} is installed but its backend did not start (version mismatch with @tensorflow/tfjs-core ${tf.version_core}?)`;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      nativeNote = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' ? `${NATIVE_PACKAGE} not installed` : `${NATIVE_PACKAGE} failed to load: ${(err as Error).message.split('\n')[0]}`;
    }
    if (wanted === 'tensorflow') throw new ModelError('TRAINING_DATA_INVALID', `PERSONAS_TF_BACKEND=tensorflow: ${nativeNote}`);
  }
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const dir = wasmDirectory();
  // Node reads a file path here (fs), so the .wasm files come from the package on disk.
  wasm.setWasmPaths(dir.endsWith('/') ? dir : `${dir}/`);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  let ok = false;
  try {
    ok = await tf.setBackend('wasm');
  } catch (err) {
    throw new ModelError('TRAINING_DATA_INVALID', `the tfjs wasm backend did not start from ${dir}: ${(err as Error).message}`);
  }
  if (!ok) throw new ModelError('TRAINING_DATA_INVALID', `the tfjs wasm backend did not start from ${dir} (are the .wasm files of @tensorflow/tfjs-backend-wasm there?)`);
  await tf.ready();
  return { tf, info: { name: 'wasm', tfjsVersion: tf.version_core, detail: dir, nativeNote } };
}

/** The dist/ directory of the installed @tensorflow/tfjs-backend-wasm package. */
function wasmDirectory(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
}
