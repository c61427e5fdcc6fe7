// Runs TensorFlow.js off the page's main thread, so that the page keeps
// responding (and its progress timer ticking) while the model runs.
//
// Messages in:  {type: 'init', modelUrl, config, backend, renderer} (config: the model's options.json)
//               {type: 'run', id, content: ImageData, style: ImageData, options}
//               {type: 'runTiled', id, content: ImageData (full resolution), globalContent: ImageData
//                 (the photo as the single pass sees it), style: ImageData, options, tileSize, overlap}
//                 (js/tiling.js)
//               {type: 'cancel', id}: a tiled run stops before its next tile
// Messages out: {type: 'progress', fraction}, {type: 'ready', backend, detail},
//               {type: 'tileProgress', id, done, total, seconds} (after the global pass and each tile),
//               {type: 'result', id, ...float32 arrays and shapes} (a tiled run: `rgba`, the result's
//                 RGBA bytes, and the global pass's `attention`), {type: 'error', id, message, cancelled}

import '../vendor/tf-core.min.js';
import '../vendor/tf-converter.min.js';
import '../vendor/tf-backend-wasm.min.js';
import '../vendor/tf-backend-webgl.min.js';

import { selectBackend } from './backend.js';
import { checkConfig, stylize } from './stylizer.js';
import { CancelledError, checkTiledSize, stylizeTiled, toRGBA } from './tiling.js';

const tf = self.tf;
let model = null;
let config = null;
const cancelled = new Set(); // ids of tiled runs asked to stop

function pixelsToTensor(image) {
  return tf.tidy(() => tf.expandDims(tf.div(tf.cast(tf.browser.fromPixels(image), 'float32'), 255), 0));
}

async function init({ modelUrl, config: modelConfig, backend, renderer }) {
  config = checkConfig(modelConfig);
  const chosen = await selectBackend(tf, backend, renderer);
  model = await tf.loadGraphModel(modelUrl, {
    onProgress: (fraction) => self.postMessage({ type: 'progress', fraction }),
  });
  return { type: 'ready', backend: chosen.name, detail: chosen.detail };
}

async function run({ id, content, style, options }) {
  const started = performance.now();
  const inputs = [pixelsToTensor(content), pixelsToTensor(style)];
  try {
    const result = await stylize(tf, model, config, inputs[0], inputs[1], options);
    try {
      // Copies: the backend's arrays may share (wasm) memory, which must not be transferred.
      const [stylized, attention, contentData, styleData] = (await Promise.all([
        result.stylizedImage.data(), result.attentionMap.data(), inputs[0].data(), inputs[1].data(),
      ])).map((array) => new Float32Array(array));
      return {
        type: 'result', id, backend: tf.getBackend(), seconds: (performance.now() - started) / 1000,
        shape: result.stylizedImage.shape, contentShape: inputs[0].shape, styleShape: inputs[1].shape,
        stylized, attention, content: contentData, style: styleData,
      };
    } finally {
      tf.dispose([result.stylizedImage, result.attentionMap]);
    }
  } finally {
    tf.dispose(inputs);
  }
}

// A tiled run: its content stays RGBA bytes (4 per pixel, not 12); its
// result comes back as RGBA bytes too.
async function runTiled({ id, content, globalContent, style, options, tileSize, overlap }) {
  const started = performance.now();
  checkTiledSize(content.height, content.width, config);
  const inputs = [pixelsToTensor(globalContent), pixelsToTensor(style)];
  try {
    const result = await stylizeTiled({
      tf, model, config, content: content.data, height: content.height, width: content.width,
      contentChannels: 4, contentScale: 1 / 255, globalContent: inputs[0], style: inputs[1], options, tileSize,
      overlap,
      onProgress: ({ done, total, seconds }) => self.postMessage({ type: 'tileProgress', id, done, total, seconds }),
      cancelled: () => cancelled.has(id),
    });
    const [contentData, styleData] = (await Promise.all(inputs.map((tensor) => tensor.data())))
      .map((array) => new Float32Array(array));
    return {
      type: 'result', id, tiled: true, backend: tf.getBackend(), seconds: (performance.now() - started) / 1000,
      width: content.width, height: content.height, rgba: toRGBA(result.image), tiles: result.plan.tiles.length,
      tileSeconds: result.tileSeconds, attention: result.globalAttention, contentShape: inputs[0].shape,
      styleShape: inputs[1].shape, content: contentData, style: styleData,
    };
  } finally {
    tf.dispose(inputs);
    cancelled.delete(id);
  }
}

const HANDLERS = { init, run, runTiled };

self.onmessage = async (event) => {
  const message = event.data;
  if (message.type === 'cancel') {
    cancelled.add(message.id);
    return;
  }
  try {
    const reply = await HANDLERS[message.type](message);
    const transfer = reply.type !== 'result' ? []
      : [reply.tiled ? reply.rgba.buffer : reply.stylized.buffer, reply.attention.buffer, reply.content.buffer,
        reply.style.buffer];
    self.postMessage(reply, transfer);
  } catch (error) {
    self.postMessage({
      type: 'error', id: message.id, stage: message.type, message: String(error.message || error),
      cancelled: error instanceof CancelledError,
    });
  }
};
