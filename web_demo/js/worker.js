// Runs TensorFlow.js off the page's main thread, so that the page keeps
// responding (and its progress timer ticking) while the model runs.
//
// Messages in:  {type: 'init', modelUrl, config, backend, renderer} (config: the model's options.json)
//               {type: 'run', id, content: ImageData, style: ImageData, options}
// Messages out: {type: 'progress', fraction}, {type: 'ready', backend, detail},
//               {type: 'result', id, ...float32 arrays and shapes}, {type: 'error', id, message}

import '../vendor/tf-core.min.js';
import '../vendor/tf-converter.min.js';
import '../vendor/tf-backend-wasm.min.js';
import '../vendor/tf-backend-webgl.min.js';

import { selectBackend } from './backend.js';
import { checkConfig, stylize } from './stylizer.js';

const tf = self.tf;
let model = null;
let config = null;

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

self.onmessage = async (event) => {
  const message = event.data;
  try {
    const reply = message.type === 'init' ? await init(message) : await run(message);
    const transfer = reply.type === 'result'
      ? [reply.stylized.buffer, reply.attention.buffer, reply.content.buffer, reply.style.buffer] : [];
    self.postMessage(reply, transfer);
  } catch (error) {
    self.postMessage({ type: 'error', id: message.id, stage: message.type, message: String(error.message || error) });
  }
};
