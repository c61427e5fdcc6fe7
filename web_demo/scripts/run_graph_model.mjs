// Runs the converted graph model in Node.js on inputs written by Python and
// writes the outputs back, for the numeric checks against the SavedModel.
//
//   node scripts/run_graph_model.mjs --model DIR --inputs run/inputs.json \
//        --out run/ [--backend wasm|cpu] [--repeat N]
//        [--tile-size N [--overlap N] [--global-size N] [--tile-maps]]
//
// inputs.json: {"content": {"file", "shape"}, "style": {...}, "options": {...},
// optional "mask": {...}, optional "global_content": {...}} with raw
// little-endian float32 files (relative to the JSON's folder). The option
// defaults and ranges come from the model's options.json (written by
// `tf-cbam-style export tfjs`), as on the page. Writes stylized_image.bin,
// attention_map.bin, matte.bin (when the model has it) and outputs.json to
// --out.
//
// With --tile-size, the content is stylized in tiles as the page's "full
// resolution (tiled)" mode does (js/tiling.js): the global pass runs on
// "global_content" (the page's downscaled photo), or on the content resized
// bilinearly to --global-size px on the longer side; --overlap defaults to
// options.json's. attention_map and matte are then the global ones resampled
// to the content's size; global_attention_map.bin and global_matte.bin are
// the global pass's own, and --tile-maps adds tile_attention_map.bin, the
// tiles' own attention outputs blended like the image. outputs.json then
// also has "plan" (tiles and cores, [y0, x0, y1, x1]) and "tileSeconds".

import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { loadGraphModel } from '@tensorflow/tfjs-converter';

import { OPTIONS_FILE, checkConfig, stylize } from '../js/stylizer.js';
import { matteRefinement, matteRows, resizeWindow, stylizeTiled } from '../js/tiling.js';

export function fileHandler(modelDir) {
  // tfjs-node's file:// loader is not used (no native build offline).
  return {
    async load() {
      const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
      const buffers = [];
      for (const group of manifest.weightsManifest) {
        for (const shard of group.paths) {
          buffers.push(fs.readFileSync(path.join(modelDir, shard)));
        }
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: manifest.modelTopology,
        weightSpecs: manifest.weightsManifest.flatMap((group) => group.weights),
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
        format: manifest.format,
        generatedBy: manifest.generatedBy,
        convertedBy: manifest.convertedBy,
        signature: manifest.signature,
        userDefinedMetadata: manifest.userDefinedMetadata,
      };
    },
  };
}

function readConfig(modelDir) {
  const file = path.join(modelDir, OPTIONS_FILE);
  if (!fs.existsSync(file)) {
    throw new Error(`The model folder has no ${OPTIONS_FILE}; convert it with \`tf-cbam-style export tfjs\`. ` +
      `Received: model=${modelDir}`);
  }
  return checkConfig(JSON.parse(fs.readFileSync(file, 'utf8')));
}

function readTensor(base, spec) {
  const bytes = fs.readFileSync(path.join(base, spec.file));
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  return tf.tensor(data.slice(), spec.shape, 'float32');
}

function writeOutputs(out, arrays) {
  const outputs = {};
  for (const [key, { data, shape }] of Object.entries(arrays)) {
    fs.writeFileSync(path.join(out, `${key}.bin`), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    outputs[key] = { file: `${key}.bin`, shape, dtype: 'float32' };
  }
  return outputs;
}

async function runTiled(args, model, config, content, style, options, spec, base) {
  const [, height, width] = content.shape;
  let globalContent;
  if (spec.global_content) {
    globalContent = readTensor(base, spec.global_content);
  } else {
    const size = Number(args['global-size'] || config.maxContentSize);
    const scale = Math.min(1, size / Math.max(height, width));
    globalContent = tf.image.resizeBilinear(
      content, [Math.round(height * scale), Math.round(width * scale)], false, true);
  }
  const data = await content.data();
  const times = [];
  let result;
  for (let i = 0; i < Number(args.repeat); i += 1) {
    const start = performance.now();
    result = await stylizeTiled({
      tf, model, config, content: data, height, width, globalContent, style, options,
      tileSize: Number(args['tile-size']),
      overlap: args.overlap === undefined ? config.tileOverlap : Number(args.overlap),
      tileMaps: Boolean(args['tile-maps']),
    });
    times.push((performance.now() - start) / 1000);
  }
  const [gh, gw] = result.globalShape;
  const whole = [0, 0, height, width];
  const arrays = {
    stylized_image: { data: result.image, shape: [1, height, width, 3] },
    attention_map: { data: resizeWindow(result.globalAttention, gh, gw, 1, height, width, whole),
      shape: [1, height, width, 1] },
    matte: { data: matteRows(result.globalMatte, gh, gw, data, height, width, 0, height, matteRefinement(config)),
      shape: [1, height, width, 1] },
    global_attention_map: { data: result.globalAttention, shape: [1, gh, gw, 1] },
    global_matte: { data: result.globalMatte, shape: [1, gh, gw, 1] },
    global_content: { data: await globalContent.data(), shape: globalContent.shape },
  };
  if (result.tileAttention) arrays.tile_attention_map = { data: result.tileAttention, shape: [1, height, width, 1] };
  const { tiles, cores } = result.plan;
  return { times, arrays, extra: { plan: { height, width, tiles, cores }, tileSeconds: result.tileSeconds } };
}

async function runWhole(args, model, config, content, style, options) {
  const times = [];
  let result;
  for (let i = 0; i < Number(args.repeat); i += 1) {
    if (result) tf.dispose(Object.values(result).filter(Boolean));
    const start = performance.now();
    result = await stylize(tf, model, config, content, style, options);
    await result.stylizedImage.data();
    times.push((performance.now() - start) / 1000);
  }
  const arrays = {};
  for (const [key, tensor] of [['stylized_image', result.stylizedImage], ['attention_map', result.attentionMap],
    ['matte', result.matte]]) {
    if (tensor) arrays[key] = { data: await tensor.data(), shape: tensor.shape };
  }
  return { times, arrays, extra: {} };
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      model: { type: 'string' },
      inputs: { type: 'string' },
      out: { type: 'string' },
      backend: { type: 'string', default: 'wasm' },
      repeat: { type: 'string', default: '1' },
      'tile-size': { type: 'string' },
      overlap: { type: 'string' },
      'global-size': { type: 'string' },
      'tile-maps': { type: 'boolean', default: false },
    },
  });
  for (const name of ['model', 'inputs', 'out']) {
    if (!args[name]) throw new Error(`\`--${name}\` is required. Received: ${name}=undefined`);
  }
  if (!['wasm', 'cpu'].includes(args.backend)) {
    throw new Error(`\`--backend\` must be wasm or cpu. Received: backend=${args.backend}`);
  }
  await tf.setBackend(args.backend);
  await tf.ready();
  const spec = JSON.parse(fs.readFileSync(args.inputs, 'utf8'));
  const base = path.dirname(args.inputs);
  const config = readConfig(args.model);
  const model = await loadGraphModel(fileHandler(args.model));
  const content = readTensor(base, spec.content);
  const style = readTensor(base, spec.style);
  const options = { ...spec.options };
  if (spec.mask) options.mask = readTensor(base, spec.mask);
  const { times, arrays, extra } = args['tile-size']
    ? await runTiled(args, model, config, content, style, options, spec, base)
    : await runWhole(args, model, config, content, style, options);
  fs.mkdirSync(args.out, { recursive: true });
  const report = { backend: tf.getBackend(), seconds: times, outputs: writeOutputs(args.out, arrays), ...extra };
  fs.writeFileSync(path.join(args.out, 'outputs.json'), JSON.stringify(report, null, 2));
  console.log(JSON.stringify({ backend: report.backend, seconds: times }));
}

main().catch((error) => {
  console.error(`error: ${error.message}`);
  process.exit(1);
});
