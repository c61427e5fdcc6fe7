// The demo page: picks images and options, runs the converted model in a
// worker (js/worker.js, TensorFlow.js from vendor/), shows the result and
// the attention map. `window.demo` exposes the same actions for tests.
//
// "Full resolution" stylizes an upload larger than the page limit at its own
// size, in tiles, in the worker (js/tiling.js), with a progress bar over the
// tiles and a cancel button; photos over `maxTiledPixels` are refused with the
// limit named.
//
// Every default and range (the knobs, the image size limits) comes from
// options.json next to model.json, written by `tf-cbam-style export tfjs`
// from tf_cbam_style/options.py; this page keeps no copy of them.

import { webglRenderer } from './backend.js';
import { ImageInputError, decodeImage, drawFitted } from './images.js';
import { drawOverlay } from './overlay.js';
import { checkConfig, optionsUrl } from './stylizer.js';
import { checkTiledSize, planTiles } from './tiling.js';

const params = new URLSearchParams(window.location.search);
const MODEL_URL = new URL(params.get('model') || 'model/model.json', window.location.href).href;
// The models the Model menu offers (name, label, url relative to the page).
const MODELS_URL = new URL('models.json', window.location.href).href;
const OPTIONS_URL = optionsUrl(MODEL_URL);
const SAMPLES = {
  content: ['samples/content_bird.jpg', 'samples/content_sailboat.jpg'],
  style: ['samples/style_candy.jpg', 'samples/style_la_muse.jpg'],
};
const REGION_LABELS = {
  all: 'everything',
  foreground: 'foreground only (the salient object)',
  background: 'background only (the object stays the photo)',
};

const $ = (id) => document.getElementById(id);
let config = null; // the model's options.json
const MAX_SIZE = { content: null, style: null };
const images = { content: null, style: null }; // {width, height, ...} once drawn
let modelReady = false;
let backendName = null;
let lastRun = null;
let running = false;
// The content upload at its own size (an ImageBitmap) when the page shows it
// downscaled, and why full resolution refuses it (a message) or null.
let original = null;
let originalRefusal = null;
const TILES = { size: null, overlap: null }; // the tiled mode's tile side and overlap, pixels
let tiledRun = null; // {id, done, total} while a tiled run is going
let downloadUrl = null; // the object URL of a tiled result's PNG

// --- The worker ------------------------------------------------------------

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const pending = new Map();
const tileProgress = new Map(); // id -> callback({done, total, seconds})
let nextId = 1;
let onInit = null;

worker.onmessage = (event) => {
  const message = event.data;
  if (message.type === 'progress') {
    setProgress(message.fraction, `Downloading the model… ${Math.round(100 * message.fraction)}%`);
  } else if (message.type === 'tileProgress') {
    if (tileProgress.has(message.id)) tileProgress.get(message.id)(message);
  } else if (message.type === 'ready' || (message.type === 'error' && message.stage === 'init')) {
    onInit(message);
  } else if (pending.has(message.id)) {
    pending.get(message.id)(message);
    pending.delete(message.id);
  }
};
worker.onerror = (event) => {
  const message = { type: 'error', stage: 'init', message: event.message || 'the worker failed to start' };
  if (onInit) onInit(message);
  for (const resolve of pending.values()) resolve(message);
  pending.clear();
};

function startWorker() {
  return new Promise((resolve, reject) => {
    onInit = (message) => (message.type === 'ready' ? resolve(message) : reject(new Error(message.message)));
    worker.postMessage({
      type: 'init', modelUrl: MODEL_URL, config, backend: params.get('backend'), renderer: webglRenderer(),
    });
  });
}

class CancelledError extends Error {}

function reply(resolve, reject) {
  return (message) => {
    if (message.type === 'result') resolve(message);
    else reject(message.cancelled ? new CancelledError(message.message) : new Error(message.message));
  };
}

function runInWorker(content, style, options) {
  const id = nextId;
  nextId += 1;
  return new Promise((resolve, reject) => {
    pending.set(id, reply(resolve, reject));
    worker.postMessage({ type: 'run', id, content, style, options });
  });
}

// `content`: {data: Uint8ClampedArray RGBA, width, height}, the photo at its
// own size (its buffer moves to the worker); `onProgress({done, total,
// seconds})`. Resolves to the worker's result; `cancel()` stops it before
// its next tile (it then rejects with a CancelledError).
function runTiledInWorker(id, content, globalContent, style, options, onProgress) {
  return new Promise((resolve, reject) => {
    tileProgress.set(id, onProgress);
    pending.set(id, (message) => {
      tileProgress.delete(id);
      reply(resolve, reject)(message);
    });
    worker.postMessage({
      type: 'runTiled', id, content, globalContent, style, options, tileSize: TILES.size, overlap: TILES.overlap,
    }, [content.data.buffer]);
  });
}

// --- The page --------------------------------------------------------------

function setStatus(element, text, kind = '') {
  element.textContent = text;
  element.className = `badge ${kind}`;
}

function setProgress(value, text) {
  const bar = $('progress');
  if (value == null) bar.removeAttribute('value'); else bar.value = value;
  $('progress-text').textContent = text;
}

function updateRunButton() {
  $('run').disabled = running || !modelReady || !images.content || !images.style;
  $('cancel').disabled = !tiledRun;
  $('full-resolution').disabled = running || !original || Boolean(originalRefusal);
  if ($('full-resolution').disabled && !running) $('full-resolution').checked = false;
}

// Keeps the content upload at its own size when the page downscales it.
function keepOriginal(bitmap, fitted) {
  if (original) original.close();
  original = null;
  originalRefusal = null;
  $('full-resolution-info').textContent = '';
  if (!fitted.resized) {
    bitmap.close();
    return '';
  }
  const { originalWidth: width, originalHeight: height } = fitted;
  try {
    checkTiledSize(height, width, config);
  } catch (error) {
    bitmap.close();
    originalRefusal = error.message;
    return ` Full resolution is not available. ${error.message}`;
  }
  original = bitmap;
  const tiles = planTiles(height, width, TILES.size, TILES.overlap, config.tileAlign).tiles.length;
  $('full-resolution-info').textContent = `(${width}×${height}, ${tiles} tiles)`;
  return ` Tick “Full resolution” to stylize all ${width}×${height} px in ${tiles} tiles.`;
}

function notice(role, text, isError = false) {
  const element = $(`${role}-notice`);
  element.textContent = text;
  element.classList.toggle('error', isError);
}

async function setImage(role, source) {
  const canvas = $(`${role}-canvas`);
  try {
    const bitmap = await decodeImage(source);
    let fitted;
    try {
      fitted = drawFitted(bitmap, canvas, MAX_SIZE[role], config.minImageSize);
    } catch (error) {
      bitmap.close();
      throw error;
    }
    images[role] = fitted;
    let extra = '';
    if (role === 'content') extra = keepOriginal(bitmap, fitted); else bitmap.close();
    notice(role, fitted.resized
      ? `Downscaled from ${fitted.originalWidth}×${fitted.originalHeight} to ${fitted.width}×${fitted.height} ` +
        `(maximum ${MAX_SIZE[role]} px) to keep the browser responsive.${extra}`
      : `${fitted.width}×${fitted.height} px`);
  } catch (error) {
    if (!(error instanceof ImageInputError)) console.error(error);
    notice(role, error.message, true);
    if (!images[role]) canvas.width = 0;
    throw error;
  } finally {
    updateRunButton();
  }
  return images[role];
}

function buildSamples() {
  for (const element of document.querySelectorAll('.samples')) {
    const role = element.dataset.role;
    SAMPLES[role].forEach((url, index) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.title = url.split('/').pop();
      button.dataset.index = String(index);
      button.innerHTML = `<img src="${url}" alt="${role} sample ${index + 1}">`;
      button.addEventListener('click', () => selectSample(role, index).catch(() => {}));
      element.appendChild(button);
    });
  }
}

async function selectSample(role, index) {
  $(`${role}-file`).value = '';
  document.querySelectorAll(`.samples[data-role=${role}] button`).forEach((b) => {
    b.classList.toggle('selected', Number(b.dataset.index) === index);
  });
  return setImage(role, SAMPLES[role][index]);
}

async function loadConfig() {
  const response = await fetch(OPTIONS_URL);
  if (!response.ok) throw new Error(`Could not load ${OPTIONS_URL} (HTTP ${response.status})`);
  return checkConfig(await response.json());
}

// `?max_content=N&max_style=N` lower (never raise) the size limits, e.g.
// for quick tests.
function sizeParam(name, limit) {
  const value = Number(params.get(name));
  return Number.isInteger(value) && value >= config.minImageSize ? Math.min(value, limit) : limit;
}

// `?tile_size=N` lowers (never raises) the tile side, e.g. for quick tests:
// a multiple of tileAlign, at least minImageSize + tileAlign; the overlap
// is then at most a quarter of it.
function tileParam() {
  const value = Number(params.get('tile_size'));
  const size = Number.isInteger(value) && value % config.tileAlign === 0 &&
    value >= config.minImageSize + config.tileAlign ? Math.min(value, config.tileSize) : config.tileSize;
  return { size, overlap: Math.min(config.tileOverlap, size / 4) };
}

// Sets every control to the defaults and ranges of options.json.
function applyConfig() {
  MAX_SIZE.content = sizeParam('max_content', config.maxContentSize);
  MAX_SIZE.style = sizeParam('max_style', config.maxStyleSize);
  Object.assign(TILES, tileParam());
  $('alpha').value = String(config.alpha);
  $('alpha-value').textContent = config.alpha.toFixed(2);
  const strokes = $('strokes');
  for (const scale of config.strokeScaleChoices) {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.name = 'stroke';
    box.value = String(scale);
    box.checked = config.strokeScales.includes(scale);
    // At least one scale stays checked.
    box.addEventListener('change', () => {
      if (!document.querySelector('input[name=stroke]:checked')) box.checked = true;
    });
    label.append(box, ` ${scale.toFixed(2)}`);
    strokes.appendChild(label);
  }
  $('num-regions').max = String(config.maxNumRegions);
  $('num-regions').value = String(config.numRegions);
  $('num-regions-value').textContent = String(config.numRegions);
  $('color-transfer').value = String(config.colorTransfer);
  $('color-transfer-value').textContent = config.colorTransfer.toFixed(2);
  $('preserve-color').checked = config.preserveColor;
  for (const region of config.regions) {
    const option = document.createElement('option');
    option.value = region;
    option.textContent = REGION_LABELS[region] || region;
    $('region').appendChild(option);
  }
  $('region').value = config.region;
  document.querySelectorAll('.max-content').forEach((e) => { e.textContent = MAX_SIZE.content; });
  document.querySelectorAll('.max-style').forEach((e) => { e.textContent = MAX_SIZE.style; });
}

// The options the controls show, with the names of options.json.
function readOptions() {
  return {
    alpha: Number($('alpha').value),
    strokeScales: [...document.querySelectorAll('input[name=stroke]:checked')].map((box) => Number(box.value)),
    numRegions: Number($('num-regions').value),
    preserveColor: $('preserve-color').checked,
    region: $('region').value,
    colorTransfer: Number($('color-transfer').value),
  };
}

function pixels(canvas) {
  return canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, canvas.width, canvas.height);
}

function drawImage(canvas, data, width, height) {
  const out = new ImageData(width, height);
  for (let i = 0; i < width * height; i += 1) {
    for (let k = 0; k < 3; k += 1) {
      out.data[4 * i + k] = Math.round(255 * Math.min(1, Math.max(0, data[3 * i + k])));
    }
    out.data[4 * i + 3] = 255;
  }
  canvas.width = width;
  canvas.height = height;
  canvas.getContext('2d').putImageData(out, 0, 0);
}

function redrawOverlay() {
  if (!lastRun) return;
  // A tiled run's attention map is its global pass's, at the content canvas's size.
  const [height, width] = lastRun.contentShape.slice(1, 3);
  drawOverlay($('attention-canvas'), $('content-canvas'), lastRun.attention, width, height,
    Number($('overlay').value));
}

// The upload at its own size as RGBA bytes, through a canvas freed at once.
function originalPixels() {
  const canvas = document.createElement('canvas');
  canvas.width = original.width;
  canvas.height = original.height;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(original, 0, 0);
  const { data, width, height } = context.getImageData(0, 0, canvas.width, canvas.height);
  canvas.width = 0;
  canvas.height = 0;
  return { data, width, height };
}

function setDownload(href) {
  if (downloadUrl && downloadUrl !== href) URL.revokeObjectURL(downloadUrl);
  downloadUrl = href.startsWith('blob:') ? href : null;
  const link = $('download');
  link.href = href;
  link.classList.remove('disabled');
}

async function runSingle(options, started) {
  const result = await runInWorker(pixels($('content-canvas')), pixels($('style-canvas')), options);
  const [height, width] = result.shape.slice(1, 3);
  drawImage($('result-canvas'), result.stylized, width, height);
  setDownload($('result-canvas').toDataURL('image/png'));
  return { ...result, width, height, seconds: (performance.now() - started) / 1000 };
}

async function runTiled(options, started) {
  const id = nextId;
  nextId += 1;
  tiledRun = { id, done: 0, total: null, progress: [] };
  updateRunButton();
  const result = await runTiledInWorker(id, originalPixels(), pixels($('content-canvas')),
    pixels($('style-canvas')), options, ({ done, total }) => {
      Object.assign(tiledRun, { done, total });
      tiledRun.progress.push({ done, total });
    });
  const { width, height } = result;
  const canvas = $('result-canvas');
  canvas.width = width;
  canvas.height = height;
  canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(result.rgba.buffer), width, height), 0, 0);
  const blob = await new Promise((resolve) => { canvas.toBlob(resolve, 'image/png'); });
  setDownload(URL.createObjectURL(blob));
  return { ...result, width, height, seconds: (performance.now() - started) / 1000, progress: tiledRun.progress };
}

function progressText(started) {
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (!tiledRun) return [null, `Stylizing… ${seconds} s`];
  if (tiledRun.total == null) return [0, `Full resolution: the global pass… ${seconds} s`];
  const tiles = tiledRun.total - 1;
  const text = tiledRun.cancelling ? 'cancelling after this tile' : `${tiledRun.done - 1} of ${tiles} tiles done`;
  return [tiledRun.done / tiledRun.total, `Full resolution: ${text}… ${seconds} s`];
}

// Stylizes the images on the page with the controls' options; at full
// resolution (in tiles) when `fullResolution` (default: the check box).
async function run({ fullResolution = $('full-resolution').checked } = {}) {
  if (running) throw new Error('A stylization is already running.');
  if (!modelReady) throw new Error('The model is not loaded yet.');
  if (!images.content || !images.style) throw new Error('Pick a content and a style image first.');
  if (fullResolution && !original) {
    throw new Error(originalRefusal || 'Full resolution needs a content upload larger than ' +
      `${MAX_SIZE.content} px. Received: ${images.content.width}×${images.content.height}`);
  }
  running = true;
  updateRunButton();
  const options = readOptions();
  const started = performance.now();
  const tick = () => setProgress(...progressText(started));
  tick();
  const timer = setInterval(tick, 100);
  try {
    const result = fullResolution ? await runTiled(options, started) : await runSingle(options, started);
    const { width, height, seconds, backend } = result;
    lastRun = { ...result, options };
    redrawOverlay();
    const how = result.tiled ? `, ${result.tiles} tiles` : '';
    setProgress(1, `Done in ${seconds.toFixed(1)} s (${width}×${height}${how}, ${backend})`);
    return { width, height, seconds, backend, tiled: Boolean(result.tiled) };
  } catch (error) {
    if (error instanceof CancelledError) {
      setProgress(0, `Cancelled after ${Math.max(tiledRun.done - 1, 0)} of ${(tiledRun.total || 1) - 1} tiles.`);
    } else {
      setProgress(0, `Failed: ${error.message}`);
    }
    throw error;
  } finally {
    clearInterval(timer);
    running = false;
    tiledRun = null;
    updateRunButton();
  }
}

// Stops a full-resolution run before its next tile; false when none runs.
function cancel() {
  if (!tiledRun) return false;
  tiledRun.cancelling = true;
  worker.postMessage({ type: 'cancel', id: tiledRun.id });
  return true;
}

function toBase64(typed) {
  const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

// The last run's exact float32 inputs and outputs (little-endian, base64) for tests.
function exportLastRun() {
  if (!lastRun) return null;
  const { width, height, seconds, options, backend, contentShape, styleShape } = lastRun;
  const common = {
    width, height, seconds, options, backend, contentShape, styleShape,
    content: toBase64(lastRun.content), style: toBase64(lastRun.style), attention: toBase64(lastRun.attention),
  };
  if (!lastRun.tiled) return { ...common, stylized: toBase64(lastRun.stylized) };
  // A tiled run: `content` is the global pass's (the content canvas), the
  // result RGBA bytes at the upload's size.
  const { tiles, tileSeconds, progress } = lastRun;
  return { ...common, tiled: true, tiles, tileSeconds, progress, rgba: toBase64(lastRun.rgba) };
}

// Fills the Model menu from models.json; picking another model reloads the
// page with ?model=<its url> (the other parameters kept). A ?model= that
// models.json does not list is shown as its own entry. The menu is a
// convenience: without models.json the page runs the model it was given.
async function buildModelMenu() {
  const select = $('model-select');
  let models = [];
  try {
    const response = await fetch(MODELS_URL);
    if (response.ok) models = (await response.json()).models || [];
  } catch (error) {
    console.warn(`No model menu: ${error.message}`);
  }
  const href = (entry) => new URL(entry.url, window.location.href).href;
  if (!models.some((entry) => href(entry) === MODEL_URL)) {
    models = [...models, { name: 'custom', label: `custom: ${params.get('model')}`, url: MODEL_URL }];
  }
  for (const entry of models) {
    const option = new Option(entry.label, entry.url, false, href(entry) === MODEL_URL);
    option.dataset.name = entry.name;
    select.add(option);
  }
  select.disabled = models.length < 2;
  select.addEventListener('change', () => {
    const next = new URLSearchParams(window.location.search);
    next.set('model', select.value);
    window.location.search = next.toString();
  });
}

async function start() {
  setStatus($('model-status'), 'model: downloading…');
  const menuBuilt = buildModelMenu();
  try {
    config = await loadConfig();
  } catch (error) {
    setStatus($('backend'), 'backend: not started', 'error');
    setStatus($('model-status'), 'model: not loaded', 'error');
    setProgress(0, `Could not start: ${error.message}. Convert a model with \`tf-cbam-style export tfjs\`.`);
    throw error;
  }
  applyConfig();
  buildSamples();
  for (const role of ['content', 'style']) {
    $(`${role}-file`).addEventListener('change', (event) => {
      const file = event.target.files[0];
      if (file) setImage(role, file).catch(() => {});
    });
  }
  $('alpha').addEventListener('input', () => { $('alpha-value').textContent = Number($('alpha').value).toFixed(2); });
  $('color-transfer').addEventListener('input', () => {
    $('color-transfer-value').textContent = Number($('color-transfer').value).toFixed(2);
  });
  $('num-regions').addEventListener('input', () => { $('num-regions-value').textContent = $('num-regions').value; });
  $('overlay').addEventListener('input', redrawOverlay);
  $('run').addEventListener('click', () => run().catch((error) => {
    if (!(error instanceof CancelledError)) console.error(error);
  }));
  $('cancel').addEventListener('click', cancel);

  const samplesLoaded = Promise.all([selectSample('content', 0), selectSample('style', 0)]);
  setProgress(0, 'Starting TensorFlow.js…');
  let ready;
  try {
    ready = await startWorker();
  } catch (error) {
    setStatus($('backend'), 'backend: failed', 'error');
    setStatus($('model-status'), 'model: not loaded', 'error');
    setProgress(0, `Could not start: ${error.message}. Is ${MODEL_URL} there? ` +
      'Convert a model with `tf-cbam-style export tfjs`.');
    throw error;
  }
  backendName = ready.backend;
  setStatus($('backend'), `backend: ${ready.backend}`, 'ok');
  $('backend').title = ready.detail;
  setStatus($('model-status'), 'model: ready', 'ok');
  modelReady = true;
  setProgress(0, 'Ready: pick images and press Stylize.');
  await Promise.all([samplesLoaded, menuBuilt]);
  updateRunButton();
  return ready;
}

const ready = start();
window.demo = {
  ready,
  run,
  cancel,
  selectSample,
  setImage,
  exportLastRun,
  readOptions,
  get config() { return config; },
  get maxSize() { return { ...MAX_SIZE }; },
  get backend() { return backendName; },
  get tiles() { return { ...TILES }; },
  get model() {
    const option = $('model-select').selectedOptions[0];
    return { url: MODEL_URL, name: option ? option.dataset.name : null };
  },
};
ready.catch((error) => console.error(error));
