// Calls web_demo/js/tiling.js from tests/test_tfjs_tiled.py, in Node.js:
//
//   node tests/browser/tiling_calls.mjs < call.json
//
// call.json: {"fn": NAME, "args": [...]} calls the export NAME with `args`
// (arrays of numbers stand for Float32Arrays where the function wants one:
// the indices listed in "float32"); prints {"result": ...} (typed arrays as
// lists) or {"error": message}.
//
// {"fn": "stylizeTiled", "photo": {height, width, seed}, "tileSize", "overlap",
//  "options", "cancelAfter"} runs stylizeTiled with an identity model (its
// stylized output is its content input, its attention map and matte the
// mask input, or 0.5 without one), on a random photo, and prints the output,
// the progress calls, the model calls and whether it was cancelled; what the
// tiling itself does (planning, cropping, blending, colour, composite) is
// then checked exactly, without the slow real model.

import path from 'node:path';
import { createRequire } from 'node:module';

const here = path.dirname(new URL(import.meta.url).pathname);
const demo = path.resolve(here, '..', '..', 'web_demo');
const tiling = await import(path.join(demo, 'js', 'tiling.js'));

function plain(value) {
  if (ArrayBuffer.isView(value)) return Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

function identityModel(tf) {
  const inputs = ['content_image', 'style_image', 'alpha', 'stroke_scales', 'num_regions', 'preserve_color',
    'region', 'color_transfer', 'mask'];
  const dtypes = { num_regions: 'DT_INT32', region: 'DT_INT32', preserve_color: 'DT_BOOL' };
  const model = {
    calls: 0,
    signature: {
      inputs: Object.fromEntries(inputs.map((name) => [`${name}:0`, { name: `${name}:0`, dtype: dtypes[name] || 'DT_FLOAT' }])),
      outputs: { stylized_image: { name: 'out_image:0' }, attention_map: { name: 'out_attention:0' }, matte: { name: 'out_matte:0' } },
    },
    async executeAsync(feed) {
      model.calls += 1;
      const content = feed.content_image;
      const [, h, w] = content.shape;
      const mask = feed.mask;
      const peak = tf.max(mask);
      const given = (await peak.data())[0] >= 0;
      peak.dispose();
      const map = given ? tf.image.resizeBilinear(mask, [h, w], false, true) : tf.fill([1, h, w, 1], 0.5);
      return [tf.clone(content), map, tf.clone(map)];
    },
  };
  return model;
}

function randomPhoto(height, width, seed) {
  // A smooth random photo (sums of sines), values in [0, 1].
  const data = new Float32Array(height * width * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      for (let k = 0; k < 3; k += 1) {
        data[3 * (y * width + x) + k] = 0.5 + 0.25 * Math.sin(0.07 * x * (k + 1) + seed) +
          0.2 * Math.cos(0.05 * y * (2 - k) + 2 * seed);
      }
    }
  }
  return data;
}

async function runIdentity(call, config) {
  const require = createRequire(path.join(demo, 'package.json'));
  const tf = require('@tensorflow/tfjs-core');
  require('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const model = identityModel(tf);
  const { height, width, seed = 1 } = call.photo;
  const content = randomPhoto(height, width, seed);
  const scale = Math.min(1, config.maxContentSize / Math.max(height, width));
  const full = tf.tensor4d(content, [1, height, width, 3]);
  const globalContent = tf.image.resizeBilinear(
    full, [Math.round(height * scale), Math.round(width * scale)], false, true);
  const style = tf.fill([1, 40, 40, 3], 0.3);
  const progress = [];
  let cancelled = false;
  let result = null;
  try {
    result = await tiling.stylizeTiled({
      tf, model, config, content, height, width, globalContent, style, options: call.options || {},
      tileSize: call.tileSize, overlap: call.overlap, align: call.align || config.tileAlign,
      onProgress: (event) => progress.push(event),
      cancelled: () => call.cancelAfter != null && progress.length >= call.cancelAfter,
    });
  } catch (error) {
    if (!(error instanceof tiling.CancelledError)) throw error;
    cancelled = true;
  }
  return {
    content, progress: progress.map(({ done, total }) => ({ done, total })), modelCalls: model.calls, cancelled,
    image: result && result.image, plan: result && result.plan, globalMatte: result && result.globalMatte,
    globalShape: result && result.globalShape, leakedTensors: tf.memory().numTensors - 3,
  };
}

async function main() {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  const call = JSON.parse(text);
  try {
    let result;
    if (call.fn === 'stylizeTiled') {
      result = await runIdentity(call, call.config);
    } else {
      const args = call.args.map((arg, i) => ((call.float32 || []).includes(i) ? new Float32Array(arg) : arg));
      result = tiling[call.fn](...args);
    }
    console.log(JSON.stringify({ result: plain(result) }));
  } catch (error) {
    console.log(JSON.stringify({ error: String(error.message || error) }));
  }
}

main();
