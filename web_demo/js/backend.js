// Picks the TensorFlow.js backend: wasm by default, webgl only when the
// browser has a real GPU (a software WebGL renderer such as SwiftShader or
// llvmpipe is slower than wasm). `?backend=wasm|webgl` forces one.
// `webglRenderer` runs on the page; `selectBackend` in the worker.

const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|softpipe|software|lavapipe|basic render|microsoft basic|mesa offscreen/i;

export function webglRenderer() {
  let canvas;
  try {
    canvas = document.createElement('canvas');
    const gl = canvas.getContext('webgl2') || canvas.getContext('webgl');
    if (!gl) return null;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    const lose = gl.getExtension('WEBGL_lose_context');
    if (lose) lose.loseContext();
    return renderer;
  } catch (error) {
    return null;
  }
}

export function hasHardwareGpu(renderer = webglRenderer()) {
  return renderer != null && !SOFTWARE_RENDERERS.test(renderer);
}

// Resolves to {name, detail}; detail says why and how (threads, SIMD, GPU).
// `renderer` is `webglRenderer()` from the page (workers have no document).
export async function selectBackend(tf, requested = null, renderer = null) {
  const candidates = [];
  if (requested) candidates.push(requested);
  if (hasHardwareGpu(renderer)) candidates.push('webgl');
  candidates.push('wasm');
  tf.wasm.setWasmPaths(new URL('../vendor/', import.meta.url).href);
  for (const name of candidates) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return { name, detail: await describe(tf, name, renderer) };
      }
    } catch (error) {
      console.warn(`TF.js backend ${name} failed`, error);
    }
  }
  throw new Error(`No TensorFlow.js backend could start. Received: candidates=${candidates.join(',')}`);
}

async function describe(tf, name, renderer) {
  if (name === 'webgl') return `GPU: ${renderer}`;
  if (name === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    const gpu = renderer == null ? 'no WebGL' : (hasHardwareGpu(renderer) ? `GPU ${renderer}` : `software WebGL (${renderer})`);
    return `${threads ? 'multi-threaded' : 'single-threaded'}${simd ? ', SIMD' : ''}; ${gpu}`;
  }
  return name;
}
