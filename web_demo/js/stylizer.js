// Runs the converted `stylize_with_options` graph model. Shared by the page
// (tf is the global from the vendored UMD bundles) and the Node scripts (tf
// from node_modules); it only uses the TensorFlow.js API passed in.

export const DEFAULT_OPTIONS = Object.freeze({
  alpha: 1.0,
  strokeScales: [0.5, 0.7071, 1.0],
  numRegions: 4,
  preserveColor: false,
  foregroundOnly: false,
});

// Image inputs are float32 (1, H, W, 3) in [0, 1]; both sides at least 32 px.
export const MIN_SIZE = 32;

function nodeName(tensorName) {
  return tensorName.split(':')[0];
}

// The model's input and output node names, keyed by the signature's names
// (the converter writes some keys with a ':0' suffix, so strip it).
export function signatureNames(model) {
  const signature = model.signature || (model.artifacts && model.artifacts.signature) || {};
  const inputs = {};
  for (const [key, value] of Object.entries(signature.inputs || {})) {
    inputs[nodeName(key)] = nodeName(value.name);
  }
  const outputs = {};
  for (const [key, value] of Object.entries(signature.outputs || {})) {
    outputs[nodeName(key)] = nodeName(value.name);
  }
  return { inputs, outputs };
}

function checkImage(tf, image, name) {
  if (image.rank !== 4 || image.shape[0] !== 1 || image.shape[3] !== 3) {
    throw new Error(`\`${name}\` must be a (1, H, W, 3) tensor. Received: shape=[${image.shape}]`);
  }
  if (image.shape[1] < MIN_SIZE || image.shape[2] < MIN_SIZE) {
    throw new Error(
      `\`${name}\` must be at least ${MIN_SIZE}x${MIN_SIZE} pixels. ` +
      `Received: ${image.shape[2]}x${image.shape[1]}`);
  }
}

// Feeds `content` and `style` (float32 (1, H, W, 3) tensors in [0, 1]) and
// `options` to the model; resolves to `{stylizedImage, attentionMap}`
// tensors, (1, H, W, 3) and (1, H, W, 1), which the caller disposes.
export async function stylize(tf, model, content, style, options = {}) {
  checkImage(tf, content, 'content');
  checkImage(tf, style, 'style');
  const o = { ...DEFAULT_OPTIONS, ...options };
  const names = signatureNames(model);
  const values = {
    content_image: content,
    style_image: style,
    alpha: tf.scalar(o.alpha, 'float32'),
    stroke_scales: tf.tensor1d(o.strokeScales, 'float32'),
    num_regions: tf.scalar(o.numRegions, 'int32'),
    preserve_color: tf.scalar(o.preserveColor, 'bool'),
    foreground_only: tf.scalar(o.foregroundOnly, 'bool'),
    mask: o.mask || tf.fill([1, 1, 1, 1], -1, 'float32'),
  };
  const feed = {};
  for (const [key, node] of Object.entries(names.inputs)) {
    if (!(key in values)) {
      throw new Error(`The model wants an input this page does not know. Received: input=${key}`);
    }
    feed[node] = values[key];
  }
  const wanted = ['stylized_image', 'attention_map'];
  for (const key of wanted) {
    if (!(key in names.outputs)) {
      throw new Error(
        `The model must have a \`${key}\` output (convert the stylize_with_options signature). ` +
        `Received: outputs=${Object.keys(names.outputs).join(',')}`);
    }
  }
  try {
    const [stylizedImage, attentionMap] = await model.executeAsync(
      feed, wanted.map((key) => names.outputs[key]));
    return { stylizedImage, attentionMap };
  } finally {
    for (const [key, tensor] of Object.entries(values)) {
      if (key !== 'content_image' && key !== 'style_image' && tensor !== options.mask) {
        tensor.dispose();
      }
    }
  }
}
