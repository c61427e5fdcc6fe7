// Runs the converted `stylize_with_options` graph model. Shared by the page
// (tf is the global from the vendored UMD bundles) and the Node scripts (tf
// from node_modules); it only uses the TensorFlow.js API passed in.
//
// No default or range is written here: `tf-cbam-style export tfjs` writes
// them from tf_cbam_style/options.py into options.json next to model.json
// (see tf_cbam_style/tfjs/page.py), and callers pass that object as `config`.

export const OPTIONS_FILE = 'options.json';

// The keys of options.json this file and the page read.
const CONFIG_KEYS = [
  'alpha', 'strokeScales', 'numRegions', 'maxNumRegions', 'preserveColor', 'region', 'regions', 'colorTransfer',
  'minImageSize', 'maxContentSize', 'maxStyleSize', 'strokeScaleChoices',
  'tileSize', 'tileOverlap', 'tileAlign', 'maxTiledPixels', 'tiledBytesPerPixel',
];
// The knobs a run takes; each is the camelCase name of a signature input.
export const KNOBS = ['alpha', 'strokeScales', 'numRegions', 'preserveColor', 'region', 'colorTransfer'];
const IMAGE_INPUTS = ['content_image', 'style_image'];
const DTYPES = { DT_FLOAT: 'float32', DT_INT32: 'int32', DT_BOOL: 'bool' };

// The URL of options.json for a model.json URL.
export function optionsUrl(modelUrl) {
  return new URL(OPTIONS_FILE, modelUrl).href;
}

// Checks that `config` (parsed options.json) has every key; returns it.
export function checkConfig(config) {
  const missing = CONFIG_KEYS.filter((key) => config == null || !(key in config));
  if (missing.length) {
    throw new Error(
      `${OPTIONS_FILE} lacks ${missing.join(', ')}; convert the model again with ` +
      `\`tf-cbam-style export tfjs\`. Received: keys=${config ? Object.keys(config).join(',') : config}`);
  }
  return config;
}

function knobDefaults(config) {
  return Object.fromEntries(KNOBS.map((key) => [key, config[key]]));
}

// `options` over the defaults of `config`, checked; throws naming the bad
// option and ending with `Received: ...`, as the Python checks do.
export function resolveOptions(config, options = {}) {
  const o = { ...knobDefaults(config), ...options };
  const unknown = Object.keys(o).filter((key) => !KNOBS.includes(key) && key !== 'mask');
  if (unknown.length) throw new Error(`Unknown options. Received: ${unknown.join(',')}`);
  if (typeof o.alpha !== 'number' || !(o.alpha >= 0 && o.alpha <= 1)) {
    throw new Error(`\`alpha\` must be a number in [0, 1]. Received: alpha=${o.alpha}`);
  }
  if (!Array.isArray(o.strokeScales) || !o.strokeScales.length ||
      o.strokeScales.some((s) => typeof s !== 'number' || !(s > 0 && s <= 1))) {
    throw new Error(
      `\`strokeScales\` must be a non-empty list of numbers in (0, 1]. Received: strokeScales=${o.strokeScales}`);
  }
  if (!Number.isInteger(o.numRegions) || o.numRegions < 1 || o.numRegions > config.maxNumRegions) {
    throw new Error(
      `\`numRegions\` must be an integer in [1, ${config.maxNumRegions}]. Received: numRegions=${o.numRegions}`);
  }
  if (typeof o.preserveColor !== 'boolean') {
    throw new Error(`\`preserveColor\` must be a boolean. Received: preserveColor=${o.preserveColor}`);
  }
  if (typeof o.colorTransfer !== 'number' || !(o.colorTransfer >= 0 && o.colorTransfer <= 1)) {
    throw new Error(`\`colorTransfer\` must be a number in [0, 1]. Received: colorTransfer=${o.colorTransfer}`);
  }
  if (!config.regions.includes(o.region)) {
    throw new Error(`\`region\` must be one of ${config.regions.join(', ')}. Received: region=${o.region}`);
  }
  return o;
}

function nodeName(tensorName) {
  return tensorName.split(':')[0];
}

function camelCase(name) {
  return name.replace(/_([a-z])/g, (_, letter) => letter.toUpperCase());
}

// The model's inputs and outputs, keyed by the signature's names (the
// converter writes some keys with a ':0' suffix, so strip it):
// {inputs: {name: {node, dtype}}, outputs: {name: node}}.
export function signatureNames(model) {
  const signature = model.signature || (model.artifacts && model.artifacts.signature) || {};
  const inputs = {};
  for (const [key, value] of Object.entries(signature.inputs || {})) {
    inputs[nodeName(key)] = { node: nodeName(value.name), dtype: DTYPES[value.dtype] || 'float32' };
  }
  const outputs = {};
  for (const [key, value] of Object.entries(signature.outputs || {})) {
    outputs[nodeName(key)] = nodeName(value.name);
  }
  return { inputs, outputs };
}

function checkImage(image, name, minSize) {
  if (image.rank !== 4 || image.shape[0] !== 1 || image.shape[3] !== 3) {
    throw new Error(`\`${name}\` must be a (1, H, W, 3) tensor. Received: shape=[${image.shape}]`);
  }
  if (image.shape[1] < minSize || image.shape[2] < minSize) {
    throw new Error(
      `\`${name}\` must be at least ${minSize}x${minSize} pixels. ` +
      `Received: ${image.shape[2]}x${image.shape[1]}`);
  }
}

// Feeds `content` and `style` (float32 (1, H, W, 3) tensors in [0, 1]) and
// `options` (any of KNOBS, plus an optional `mask` tensor (1, h, w, 1) in
// [0, 1]) to the model; resolves to `{stylizedImage, attentionMap, matte}`
// tensors, (1, H, W, 3), (1, H, W, 1) and (1, H, W, 1) (`matte` is null for
// models converted before it was an output), which the caller disposes.
export async function stylize(tf, model, config, content, style, options = {}) {
  checkConfig(config);
  checkImage(content, 'content', config.minImageSize);
  checkImage(style, 'style', config.minImageSize);
  const o = resolveOptions(config, options);
  const names = signatureNames(model);
  const lacking = KNOBS.filter((knob) => !Object.keys(names.inputs).map(camelCase).includes(knob));
  if (lacking.length) {
    throw new Error(
      'The model lacks inputs this page sets (convert a current stylize_with_options export). ' +
      `Received: missing=${lacking.join(',')}, inputs=${Object.keys(names.inputs).join(',')}`);
  }
  const feed = {};
  const made = [];
  try {
    for (const [key, { node, dtype }] of Object.entries(names.inputs)) {
      if (IMAGE_INPUTS.includes(key)) {
        feed[node] = key === 'content_image' ? content : style;
      } else if (key === 'mask') {
        // A mask whose maximum is negative means "use the attention map".
        feed[node] = o.mask || tf.fill([1, 1, 1, 1], -1, 'float32');
        if (!o.mask) made.push(feed[node]);
      } else {
        const knob = camelCase(key);
        if (!KNOBS.includes(knob)) {
          throw new Error(`The model wants an input this page does not know. Received: input=${key}`);
        }
        const value = knob === 'region' ? config.regions.indexOf(o.region) : o[knob];
        feed[node] = Array.isArray(value) ? tf.tensor1d(value, dtype) : tf.scalar(value, dtype);
        made.push(feed[node]);
      }
    }
    const wanted = ['stylized_image', 'attention_map'];
    for (const key of wanted) {
      if (!(key in names.outputs)) {
        throw new Error(
          `The model must have a \`${key}\` output (convert the stylize_with_options signature). ` +
          `Received: outputs=${Object.keys(names.outputs).join(',')}`);
      }
    }
    // `matte` (the region composite's, which full resolution needs) where
    // the model has it (exports since SIGNATURE_EXTRA_OUTPUTS).
    if ('matte' in names.outputs) wanted.push('matte');
    const [stylizedImage, attentionMap, matte = null] = await model.executeAsync(
      feed, wanted.map((key) => names.outputs[key]));
    return { stylizedImage, attentionMap, matte };
  } finally {
    tf.dispose(made);
  }
}
