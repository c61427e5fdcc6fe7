// Runs the converted graph model in Node on inputs written by Python and
// writes the outputs back, for the numeric checks against the SavedModel.
//
//   node scripts/run_graph_model.mjs --model DIR --inputs run/inputs.json \
//        --out run/ [--backend wasm|cpu] [--repeat N]
//
// inputs.json: {"content": {"file", "shape"}, "style": {...}, "options": {...},
// optional "mask": {...}} with raw little-endian float32 files (relative to
// the JSON's folder). The option defaults and ranges come from the model's
// options.json (written by `tf-cbam-style export tfjs`), as on the page.
// Writes stylized_image.bin, attention_map.bin and outputs.json to --out.

import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { loadGraphModel } from '@tensorflow/tfjs-converter';

import { OPTIONS_FILE, checkConfig, stylize } from '../js/stylizer.js';

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

async function main() {
  const { values: args } = parseArgs({
    options: {
      model: { type: 'string' },
      inputs: { type: 'string' },
      out: { type: 'string' },
      backend: { type: 'string', default: 'wasm' },
      repeat: { type: 'string', default: '1' },
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
  const times = [];
  let result;
  for (let i = 0; i < Number(args.repeat); i += 1) {
    if (result) tf.dispose([result.stylizedImage, result.attentionMap]);
    const start = performance.now();
    result = await stylize(tf, model, config, content, style, options);
    await result.stylizedImage.data();
    times.push((performance.now() - start) / 1000);
  }
  fs.mkdirSync(args.out, { recursive: true });
  const outputs = {};
  for (const [key, tensor] of [['stylized_image', result.stylizedImage],
                               ['attention_map', result.attentionMap]]) {
    const data = await tensor.data();
    fs.writeFileSync(path.join(args.out, `${key}.bin`), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    outputs[key] = { file: `${key}.bin`, shape: tensor.shape, dtype: tensor.dtype };
  }
  const report = { backend: tf.getBackend(), seconds: times, outputs };
  fs.writeFileSync(path.join(args.out, 'outputs.json'), JSON.stringify(report, null, 2));
  console.log(JSON.stringify({ backend: report.backend, seconds: times }));
}

main().catch((error) => {
  console.error(`error: ${error.message}`);
  process.exit(1);
});
