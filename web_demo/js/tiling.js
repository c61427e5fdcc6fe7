// Full-resolution stylization in overlapping tiles, in the browser (the
// page's worker) and in Node.js (scripts/run_graph_model.mjs --tile-size).
//
// The browser's equivalent of tf_cbam_style/tiling.py, within what one
// converted `stylize_with_options` graph can do:
//
// 1. Global pass: the photo downscaled to the page limit, through the graph
//    (region "all", no colour transfer), gives the attention map (the
//    normalised saliency), the region matte and, from its output and the
//    style, the colour transfer's map (`colorTransform`), once.
// 2. Tiles: every tile (side `tileSize`, starting on multiples of
//    `tileAlign`, neighbours sharing at least `tileOverlap` px) goes through
//    the graph with `mask` = the global attention map resampled to full
//    resolution and cropped to the tile, region "all", colour preservation
//    and colour transfer off; so every tile uses the same saliency, style
//    and colouring.
// 3. The tiles are blended into one float32 canvas with linear feathers over
//    the overlaps; then the colour transfer with the global map (the end of
//    the pipeline's `decoder` stage), colour preservation (`preserveColor`, once, with the
//    whole photo's statistics) and the region composite with the global matte
//    resampled to full resolution, binarised and snapped to the full-resolution
//    photo's edges by the same guided filter as the pipeline's (`matteRows`),
//    in the order of the pipeline's `output` stage
//    (tf_cbam_style/models/pipeline.py). The global matte was already refined
//    against the downscaled photo, so its 0.5 level is the object's outline
//    at that scale; the Python tiled mode binarises the soft matte instead.
//
// Unlike the Python tiled mode, each tile's graph still computes its own
// instance statistics, whitening transform, decoder skip statistics and the
// k-means levels of its share of the saliency (the browser cannot run the
// Python statistics passes); the feathers hide the differences (see
// docs/web_demo.md).
//
// Resampling uses the bilinear rule of tf.image.resize (half-pixel centres,
// edges clamped), as tf_cbam_style.tiling.resize_window does.

import { resolveOptions, stylize } from './stylizer.js';

export class CancelledError extends Error {}

// Throws unless a `height` x `width` photo is within the tiled mode's memory
// limit, `config.maxTiledPixels` (options.json, from tf_cbam_style/options.py),
// naming the limit and the memory it stands for; returns the bytes the run
// allocates (`config.tiledBytesPerPixel` per pixel).
export function checkTiledSize(height, width, config) {
  const pixels = height * width;
  const megapixels = (n) => (n / 1e6).toFixed(2);
  if (pixels > config.maxTiledPixels) {
    const megabytes = Math.round((config.maxTiledPixels * config.tiledBytesPerPixel) / 1e6);
    throw new Error(
      `The photo is ${width}×${height} px (${megapixels(pixels)} megapixels); full resolution takes at most ` +
      `${megapixels(config.maxTiledPixels)} megapixels (maxTiledPixels=${config.maxTiledPixels}, about ` +
      `${megabytes} MB of browser memory at ${config.tiledBytesPerPixel} bytes per pixel). ` +
      `Received: width=${width}, height=${height}`);
  }
  return pixels * config.tiledBytesPerPixel;
}

// Tile starts along one axis: 0, ..., ceil((length - tile) / align) * align
// (so the last tile ends at the edge and is at most `tile` long), evenly
// spread in steps of whole `align` units that leave at least `overlap` px
// shared by neighbours.
function axisStarts(length, tile, overlap, align) {
  if (length <= tile) return [0];
  const last = Math.ceil((length - tile) / align);
  const step = Math.floor((tile - overlap) / align);
  const intervals = Math.ceil(last / step);
  const starts = [];
  for (let i = 0; i <= intervals; i += 1) starts.push(Math.round((i * last) / intervals) * align);
  return starts;
}

// Where the tiles of a `height` x `width` photo go. Returns {height, width,
// ys: [[y0, y1]], xs: [[x0, x1]], tiles: [[y0, x0, y1, x1]], cores}: the
// tiles are the rows of `ys` times the columns of `xs`; `cores` (one per
// tile) partition the photo at the middle of the overlaps, as in
// tf_cbam_style.tiling.TilePlan (for the seam score). Throws naming the bad
// argument.
export function planTiles(height, width, tileSize, overlap, align) {
  for (const [name, value] of [['height', height], ['width', width], ['tileSize', tileSize], ['align', align]]) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`\`${name}\` must be a positive integer. Received: ${name}=${value}`);
    }
  }
  if (tileSize % align || tileSize < 2 * align) {
    throw new Error(
      `\`tileSize\` must be a multiple of ${align}, at least ${2 * align}. Received: tileSize=${tileSize}`);
  }
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= tileSize / 2) {
    throw new Error(
      `\`overlap\` must be an integer in [0, tileSize / 2). Received: overlap=${overlap}, tileSize=${tileSize}`);
  }
  const spans = (length) => axisStarts(length, tileSize, overlap, align)
    .map((start) => [start, Math.min(start + tileSize, length)]);
  const cores = (spansOf, length) => spansOf.map(([start], i) => [
    i === 0 ? 0 : Math.floor((start + spansOf[i - 1][1]) / 2),
    i === spansOf.length - 1 ? length : Math.floor((spansOf[i + 1][0] + spansOf[i][1]) / 2),
  ]);
  const ys = spans(height);
  const xs = spans(width);
  const coreY = cores(ys, height);
  const coreX = cores(xs, width);
  const tiles = [];
  const coreBoxes = [];
  ys.forEach(([y0, y1], i) => xs.forEach(([x0, x1], j) => {
    tiles.push([y0, x0, y1, x1]);
    coreBoxes.push([coreY[i][0], coreX[j][0], coreY[i][1], coreX[j][1]]);
  }));
  return { height, width, ys, xs, tiles, cores: coreBoxes };
}

// Feather weights along one axis: for each tile span, linear ramps over the
// pixels it shares with the previous and the next span; and their sum per
// pixel (the normaliser). Returns {ramps: [Float32Array], sum: Float32Array}.
export function featherRamps(spans, length) {
  const sum = new Float32Array(length);
  const ramps = spans.map(([start, stop], i) => {
    const before = i > 0 ? spans[i - 1][1] - start : 0;
    const after = i < spans.length - 1 ? stop - spans[i + 1][0] : 0;
    const ramp = new Float32Array(stop - start);
    for (let k = 0; k < ramp.length; k += 1) {
      let w = 1;
      if (before > 0) w = Math.min(w, (k + 0.5) / before);
      if (after > 0) w = Math.min(w, (ramp.length - k - 0.5) / after);
      ramp[k] = w;
      sum[start + k] += w;
    }
    return ramp;
  });
  return { ramps, sum };
}

function axisSamples(start, stop, small, big) {
  const n = stop - start;
  const low = new Int32Array(n);
  const high = new Int32Array(n);
  const frac = new Float32Array(n);
  for (let i = 0; i < n; i += 1) {
    const position = Math.min(Math.max((start + i + 0.5) * (small / big) - 0.5, 0), small - 1);
    low[i] = Math.floor(position);
    high[i] = Math.min(low[i] + 1, small - 1);
    frac[i] = position - low[i];
  }
  return { low, high, frac };
}

// The window [y0, x0, y1, x1] of `image` (Float32Array, `height` x `width`
// x `channels`, row-major) bilinearly resized to `bigHeight` x `bigWidth`,
// without making the full-size array: tf.image.resize(..., 'bilinear')
// then a crop (half-pixel centres, edges clamped), as
// tf_cbam_style.tiling.resize_window.
export function resizeWindow(image, height, width, channels, bigHeight, bigWidth, window) {
  const [y0, x0, y1, x1] = window;
  const ys = axisSamples(y0, y1, height, bigHeight);
  const xs = axisSamples(x0, x1, width, bigWidth);
  const outWidth = x1 - x0;
  const out = new Float32Array((y1 - y0) * outWidth * channels);
  for (let i = 0; i < y1 - y0; i += 1) {
    const top = ys.low[i] * width;
    const bottom = ys.high[i] * width;
    const fy = ys.frac[i];
    for (let j = 0; j < outWidth; j += 1) {
      const fx = xs.frac[j];
      const a = (top + xs.low[j]) * channels;
      const b = (top + xs.high[j]) * channels;
      const c = (bottom + xs.low[j]) * channels;
      const d = (bottom + xs.high[j]) * channels;
      const o = (i * outWidth + j) * channels;
      for (let k = 0; k < channels; k += 1) {
        const upper = image[a + k] * (1 - fx) + image[b + k] * fx;
        const lower = image[c + k] * (1 - fx) + image[d + k] * fx;
        out[o + k] = upper * (1 - fy) + lower * fy;
      }
    }
  }
  return out;
}

// RGB -> YIQ rows, as tf_cbam_style/layers/color_preservation.py.
const RGB_TO_YIQ = [
  [0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135],
];

function invert3(m) {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  return [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
}
const YIQ_TO_RGB = invert3(RGB_TO_YIQ);

// Colour preservation of the pipeline's `output` stage
// (tf_cbam_style/layers/color_preservation.py, `ColorPreservation`), on
// whole images: both to YIQ; the stylized luminance Y matched to the
// content's mean and standard deviation (population, + 1e-6 under the
// roots); the content's I and Q; back to RGB, clipped to [0, 1].
// `stylized`: Float32Array RGB in [0, 1] (n x 3), changed in place and
// returned. `content`: n pixels, `contentChannels` values each (3: float RGB;
// 4: RGBA), times `contentScale` (1 / 255 for bytes) to give [0, 1].
// tests/test_tfjs_tiled.py checks it against the Python layer.
export function preserveColor(stylized, content, { contentChannels = 3, contentScale = 1 } = {}) {
  const n = stylized.length / 3;
  const [ry, gy, by] = RGB_TO_YIQ[0];
  let sSum = 0; let sSquares = 0; let cSum = 0; let cSquares = 0;
  for (let p = 0; p < n; p += 1) {
    const s = ry * stylized[3 * p] + gy * stylized[3 * p + 1] + by * stylized[3 * p + 2];
    const q = contentChannels * p;
    const c = contentScale * (ry * content[q] + gy * content[q + 1] + by * content[q + 2]);
    sSum += s; sSquares += s * s; cSum += c; cSquares += c * c;
  }
  const sMean = sSum / n;
  const cMean = cSum / n;
  const sVar = Math.max(sSquares / n - sMean * sMean, 0);
  const cVar = Math.max(cSquares / n - cMean * cMean, 0);
  const gain = Math.sqrt(cVar + 1e-6) / Math.sqrt(sVar + 1e-6);
  const [, iRow, qRow] = RGB_TO_YIQ;
  for (let p = 0; p < n; p += 1) {
    const s = ry * stylized[3 * p] + gy * stylized[3 * p + 1] + by * stylized[3 * p + 2];
    const q = contentChannels * p;
    const r = contentScale * content[q];
    const g = contentScale * content[q + 1];
    const b = contentScale * content[q + 2];
    const yiq = [(s - sMean) * gain + cMean, iRow[0] * r + iRow[1] * g + iRow[2] * b,
      qRow[0] * r + qRow[1] * g + qRow[2] * b];
    for (let k = 0; k < 3; k += 1) {
      const value = YIQ_TO_RGB[k][0] * yiq[0] + YIQ_TO_RGB[k][1] * yiq[1] + YIQ_TO_RGB[k][2] * yiq[2];
      stylized[3 * p + k] = Math.min(1, Math.max(0, value));
    }
  }
  return stylized;
}

// Mean (3) and population covariance (3 x 3) of `n` RGB pixels (`channels`
// values each, times `scale`), in doubles.
function colorStatistics(pixels, channels = 3, scale = 1) {
  const n = pixels.length / channels;
  const mean = [0, 0, 0];
  for (let p = 0; p < n; p += 1) {
    for (let k = 0; k < 3; k += 1) mean[k] += scale * pixels[channels * p + k];
  }
  for (let k = 0; k < 3; k += 1) mean[k] /= n;
  const covariance = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  for (let p = 0; p < n; p += 1) {
    const d = [0, 1, 2].map((k) => scale * pixels[channels * p + k] - mean[k]);
    for (let a = 0; a < 3; a += 1) {
      for (let b = 0; b < 3; b += 1) covariance[a][b] += d[a] * d[b];
    }
  }
  return { mean, covariance: covariance.map((row) => row.map((v) => v / n)) };
}

function matMul3(a, b) {
  return a.map((row) => [0, 1, 2].map((j) => row[0] * b[0][j] + row[1] * b[1][j] + row[2] * b[2][j]));
}

// `[sqrt, inverseSqrt]` of a 3 x 3 SPD matrix: WhiteningColoring.matrix_roots
// (tf_cbam_style/layers/whitening_coloring.py): `epsilon` of the mean
// eigenvalue added, coupled Newton-Schulz iterations.
function matrixRoots(covariance, epsilon, iterations) {
  let trace = covariance[0][0] + covariance[1][1] + covariance[2][2];
  const identity = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  const c = covariance.map((row, i) => row.map((v, j) => v + (i === j ? (epsilon / 3) * trace : 0)));
  trace *= 1 + epsilon;
  let y = c.map((row) => row.map((v) => v / trace));
  let z = identity;
  for (let step = 0; step < iterations; step += 1) {
    const zy = matMul3(z, y);
    const t = zy.map((row, i) => row.map((v, j) => 0.5 * ((i === j ? 3 : 0) - v)));
    y = matMul3(y, t);
    z = matMul3(t, z);
  }
  const root = Math.sqrt(trace);
  return [y.map((row) => row.map((v) => v * root)), z.map((row) => row.map((v) => v / root))];
}

// BT.601 luma weights (tf_cbam_style/arrays.py LUMA).
const LUMA = [0.299, 0.587, 0.114];

// `count` evenly spaced quantiles of the luma of the RGB pixels of `pixels`
// (`channels` values each, times `scale`): the sorted values at the nearest
// ranks `floor((k (n - 1) + floor((count - 1) / 2)) / (count - 1))`, as
// `luminance_quantiles` in tf_cbam_style/models/pipeline.py.
export function luminanceQuantiles(pixels, count, channels = 3, scale = 1) {
  const n = pixels.length / channels;
  const values = new Float32Array(n);
  for (let p = 0; p < n; p += 1) {
    const q = channels * p;
    values[p] = scale * (LUMA[0] * pixels[q] + LUMA[1] * pixels[q + 1] + LUMA[2] * pixels[q + 2]);
  }
  values.sort();
  const half = Math.floor((count - 1) / 2);
  return Array.from({ length: count }, (_, k) => values[Math.floor((k * (n - 1) + half) / (count - 1))]);
}

// The piecewise-linear curve through (source[k], target[k]) at luma `y`
// (`luminance_match` in tf_cbam_style/models/pipeline.py: flat beyond the
// ends, half of each tied segment's rise at its tone).
export function luminanceCurve(y, source, target) {
  let curve = target[0];
  for (let k = 0; k + 1 < source.length; k += 1) {
    const width = source[k + 1] - source[k];
    const tie = width < 1e-6 ? 0.5 : 0;
    const t = (y - source[k]) / Math.max(width, 1e-6) + tie;
    curve += (target[k + 1] - target[k]) * Math.min(1, Math.max(0, t));
  }
  return curve;
}

// The affine colour map of pixel `p` of `image`, unclipped (`affine_color_map`).
function affineMap(image, p, mean, matrix, styleMean) {
  const d = [0, 1, 2].map((k) => image[3 * p + k] - mean[k]);
  return [0, 1, 2].map((k) => d[0] * matrix[0][k] + d[1] * matrix[1][k] + d[2] * matrix[2][k] + styleMean[k]);
}

// The colour transfer of the pipeline's `decoder` stage
// (`StylizePipeline.color_transform` in tf_cbam_style/models/pipeline.py):
// the affine map giving `image` (Float32Array RGB in [0, 1]) the RGB mean and
// covariance of `style` (n x `styleChannels` values times `styleScale`),
// with the regularisation of options.json (`colorTransferMinVariance`,
// `colorTransferEpsilon`, `colorTransferIterations`), then the luminance
// step: the curve between `luminanceQuantiles` quantiles of the mapped
// image's luma and of the style's, a share `luminanceMatch` of the way,
// faded for an image whose luma quartiles are closer than
// `luminanceMinSpread`. Returns {mean, matrix, styleMean, sourceQuantiles,
// styleQuantiles, luminanceShare}: x' = (x - mean) matrix + styleMean (row
// vectors, unclipped), then x' + share (curve(luma) - luma).
// tests/test_tfjs_tiled.py checks it against the Python pipeline.
export function colorTransform(image, style, config, { styleChannels = 3, styleScale = 1 } = {}) {
  const source = colorStatistics(image);
  const target = colorStatistics(style, styleChannels, styleScale);
  const floor = (covariance) => covariance.map((row, i) => row.map((v, j) => v + (i === j
    ? config.colorTransferMinVariance : 0)));
  const [, inverseSqrt] = matrixRoots(floor(source.covariance), config.colorTransferEpsilon,
    config.colorTransferIterations);
  const [styleSqrt] = matrixRoots(floor(target.covariance), config.colorTransferEpsilon,
    config.colorTransferIterations);
  const matrix = matMul3(inverseSqrt, styleSqrt);
  const affine = { mean: source.mean, matrix, styleMean: target.mean };
  // A model converted before the luminance step (no `luminanceQuantiles` in
  // its options.json) has only the affine map in its graph: so here too.
  const count = config.luminanceQuantiles;
  if (!count) return { ...affine, luminanceShare: 0 };
  const n = image.length / 3;
  const mapped = new Float32Array(image.length);
  for (let p = 0; p < n; p += 1) mapped.set(affineMap(image, p, source.mean, matrix, target.mean), 3 * p);
  const sourceQuantiles = luminanceQuantiles(mapped, count);
  const iqr = sourceQuantiles[Math.floor((3 * (count - 1)) / 4)] - sourceQuantiles[Math.floor((count - 1) / 4)];
  return {
    ...affine,
    sourceQuantiles,
    styleQuantiles: luminanceQuantiles(style, count, styleChannels, styleScale),
    luminanceShare: config.luminanceMatch * Math.min(1, iqr / config.luminanceMinSpread),
  };
}

// Applies `colorTransform`'s map to `image` in place, blended by `strength`
// (alpha times the colorTransfer option), clipped to [0, 1]; returns `image`.
export function applyColorTransform(image, transform, strength) {
  const { mean, matrix, styleMean, sourceQuantiles, styleQuantiles, luminanceShare } = transform;
  const n = image.length / 3;
  for (let p = 0; p < n; p += 1) {
    const mapped = affineMap(image, p, mean, matrix, styleMean);
    const y = LUMA[0] * mapped[0] + LUMA[1] * mapped[1] + LUMA[2] * mapped[2];
    const shift = luminanceShare ? luminanceShare * (luminanceCurve(y, sourceQuantiles, styleQuantiles) - y) : 0;
    for (let k = 0; k < 3; k += 1) {
      const value = strength * (mapped[k] + shift) + (1 - strength) * image[3 * p + k];
      image[3 * p + k] = Math.min(1, Math.max(0, value));
    }
  }
  return image;
}

// Mean of every (2r+1) x (2r+1) window of an h x w plane, clipped at its
// edges (the mean over the pixels inside), by running sums along the rows,
// then the columns: tf_cbam_style/layers/guided_filter.py's box_mean.
export function boxMean(plane, h, w, r) {
  const rows = new Float64Array(h * w);
  const sums = new Float64Array(Math.max(h, w) + 1);
  for (let y = 0; y < h; y += 1) {
    for (let x = 0; x < w; x += 1) sums[x + 1] = sums[x] + plane[y * w + x];
    for (let x = 0; x < w; x += 1) {
      const lo = Math.max(0, x - r);
      const hi = Math.min(w, x + r + 1);
      rows[y * w + x] = (sums[hi] - sums[lo]) / (hi - lo);
    }
  }
  const out = new Float64Array(h * w);
  for (let x = 0; x < w; x += 1) {
    for (let y = 0; y < h; y += 1) sums[y + 1] = sums[y] + rows[y * w + x];
    for (let y = 0; y < h; y += 1) {
      const lo = Math.max(0, y - r);
      const hi = Math.min(h, y + r + 1);
      out[y * w + x] = (sums[hi] - sums[lo]) / (hi - lo);
    }
  }
  return out;
}

// He, Sun and Tang's guided filter (ECCV 2010) of the one-channel `input`
// (h x w) with the colour guide `guide` (RGB, `channels` values per pixel
// times `scale`, h x w), window radius `radius` and regularisation
// `epsilon`: the colour form of tf_cbam_style/layers/guided_filter.py
// (3 x 3 inverse by the adjugate). Returns a Float32Array, not clipped.
export function guidedFilter(input, guide, h, w, radius, epsilon, { channels = 3, scale = 1 } = {}) {
  const n = h * w;
  const box = (plane) => boxMean(plane, h, w, radius);
  const I = [0, 1, 2].map((c) => {
    const plane = new Float64Array(n);
    for (let i = 0; i < n; i += 1) plane[i] = scale * guide[channels * i + c];
    return plane;
  });
  const product = (a, b) => {
    const plane = new Float64Array(n);
    for (let i = 0; i < n; i += 1) plane[i] = a[i] * b[i];
    return plane;
  };
  const meanP = box(input);
  const meanI = I.map(box);
  const pairs = [[0, 0], [0, 1], [0, 2], [1, 1], [1, 2], [2, 2]];
  const second = pairs.map(([i, j]) => box(product(I[i], I[j])));
  const meanIp = I.map((plane) => box(product(plane, input)));
  const a = [0, 1, 2].map(() => new Float64Array(n));
  const b = new Float64Array(n);
  for (let k = 0; k < n; k += 1) {
    const m0 = meanI[0][k];
    const m1 = meanI[1][k];
    const m2 = meanI[2][k];
    const s00 = second[0][k] - m0 * m0 + epsilon;
    const s01 = second[1][k] - m0 * m1;
    const s02 = second[2][k] - m0 * m2;
    const s11 = second[3][k] - m1 * m1 + epsilon;
    const s12 = second[4][k] - m1 * m2;
    const s22 = second[5][k] - m2 * m2 + epsilon;
    const i00 = s11 * s22 - s12 * s12;
    const i01 = s02 * s12 - s01 * s22;
    const i02 = s01 * s12 - s02 * s11;
    const i11 = s00 * s22 - s02 * s02;
    const i12 = s01 * s02 - s00 * s12;
    const i22 = s00 * s11 - s01 * s01;
    const det = s00 * i00 + s01 * i01 + s02 * i02;
    const c0 = meanIp[0][k] - m0 * meanP[k];
    const c1 = meanIp[1][k] - m1 * meanP[k];
    const c2 = meanIp[2][k] - m2 * meanP[k];
    a[0][k] = (i00 * c0 + i01 * c1 + i02 * c2) / det;
    a[1][k] = (i01 * c0 + i11 * c1 + i12 * c2) / det;
    a[2][k] = (i02 * c0 + i12 * c1 + i22 * c2) / det;
    b[k] = meanP[k] - a[0][k] * m0 - a[1][k] * m1 - a[2][k] * m2;
  }
  const meanA = a.map(box);
  const meanB = box(b);
  const out = new Float32Array(n);
  for (let k = 0; k < n; k += 1) {
    out[k] = meanA[0][k] * I[0][k] + meanA[1][k] * I[1][k] + meanA[2][k] * I[2][k] + meanB[k];
  }
  return out;
}

// The region matte on rows [y0, y1) of the height x width photo: `matte`
// (Float32Array, mHeight x mWidth) resampled to height x width; with
// `refineRadius` > 0 (options.json's `matteRefineRadius`), binarised at 0.5
// and snapped to the photo's edges by `guidedFilter` (radius `refineRadius`,
// `refineEpsilon`), then clipped to [0, 1], as the pipeline's
// ForegroundComposite.refine does. The filter runs on the rows grown by its
// reach (2 * refineRadius) within the photo, so a band equals the whole
// photo's matte on its rows exactly. `content` holds `contentChannels`
// values per pixel, times `contentScale` in [0, 1]. Returns a Float32Array
// of (y1 - y0) x width.
export function matteRows(matte, mHeight, mWidth, content, height, width, y0, y1,
  { contentChannels = 3, contentScale = 1, refineRadius = 0, refineEpsilon = 1e-3 } = {}) {
  if (!(refineRadius > 0)) return resizeWindow(matte, mHeight, mWidth, 1, height, width, [y0, 0, y1, width]);
  const reach = 2 * refineRadius;
  const g0 = Math.max(0, y0 - reach);
  const g1 = Math.min(height, y1 + reach);
  const hard = resizeWindow(matte, mHeight, mWidth, 1, height, width, [g0, 0, g1, width])
    .map((v) => (v >= 0.5 ? 1 : 0));
  const guide = content.subarray(contentChannels * g0 * width, contentChannels * g1 * width);
  const refined = guidedFilter(hard, guide, g1 - g0, width, refineRadius, refineEpsilon,
    { channels: contentChannels, scale: contentScale });
  const out = refined.subarray((y0 - g0) * width, (y1 - g0) * width);
  return out.map((v) => Math.min(1, Math.max(0, v)));
}

// The region composite of the pipeline's `output` stage, in place on
// `stylized` (Float32Array RGB, height x width): foreground (region index 1)
// `m * stylized + (1 - m) * content`, background (2) the reverse, all (0)
// unchanged; `m` is `matteRows` of `matte` (Float32Array, mHeight x mWidth;
// refined against the photo when `refineRadius` > 0), a band of rows at a
// time.
export function compositeRegion(stylized, content, height, width, matte, mHeight, mWidth, regionIndex,
  { contentChannels = 3, contentScale = 1, band = 128, refineRadius = 0, refineEpsilon = 1e-3 } = {}) {
  if (regionIndex === 0) return stylized;
  for (let y0 = 0; y0 < height; y0 += band) {
    const y1 = Math.min(y0 + band, height);
    const m = matteRows(matte, mHeight, mWidth, content, height, width, y0, y1,
      { contentChannels, contentScale, refineRadius, refineEpsilon });
    for (let i = 0; i < m.length; i += 1) {
      const p = y0 * width + i;
      const keep = regionIndex === 1 ? m[i] : 1 - m[i];
      for (let k = 0; k < 3; k += 1) {
        const photo = contentScale * content[contentChannels * p + k];
        stylized[3 * p + k] = keep * stylized[3 * p + k] + (1 - keep) * photo;
      }
    }
  }
  return stylized;
}

// The matte refinement of options.json (`matteRefineRadius`,
// `matteRefineEpsilon`) as `matteRows` options; radius 0 (no refinement)
// for an options.json from before it had them.
export function matteRefinement(config) {
  return { refineRadius: config.matteRefineRadius || 0, refineEpsilon: config.matteRefineEpsilon || 1e-3 };
}

// Float32 RGB in [0, 1] -> RGBA bytes (a Uint8ClampedArray for ImageData).
export function toRGBA(image) {
  const n = image.length / 3;
  const out = new Uint8ClampedArray(4 * n);
  for (let p = 0; p < n; p += 1) {
    out[4 * p] = Math.round(255 * image[3 * p]);
    out[4 * p + 1] = Math.round(255 * image[3 * p + 1]);
    out[4 * p + 2] = Math.round(255 * image[3 * p + 2]);
    out[4 * p + 3] = 255;
  }
  return out;
}

// The float32 (1, h, w, 3) tensor of a window of `content` (RGB or RGBA
// values, `contentChannels` per pixel, times `contentScale`).
function windowTensor(tf, content, width, window, contentChannels, contentScale) {
  const [y0, x0, y1, x1] = window;
  const w = x1 - x0;
  const out = new Float32Array((y1 - y0) * w * 3);
  for (let y = y0; y < y1; y += 1) {
    for (let x = x0; x < x1; x += 1) {
      const p = contentChannels * (y * width + x);
      const o = 3 * ((y - y0) * w + (x - x0));
      out[o] = contentScale * content[p];
      out[o + 1] = contentScale * content[p + 1];
      out[o + 2] = contentScale * content[p + 2];
    }
  }
  return tf.tensor4d(out, [1, y1 - y0, w, 3], 'float32');
}

const nextTask = () => new Promise((resolve) => { setTimeout(resolve, 0); });

// Stylizes a photo of any size in tiles (see the top of this file).
//
// Args (one object):
//   tf, model, config: as for stylizer.js's `stylize` (config: options.json).
//   content: the full-resolution photo, `height` x `width` pixels of
//     `contentChannels` values (3: Float32Array RGB in [0, 1]; 4: RGBA bytes
//     with contentScale 1 / 255).
//   globalContent: float32 (1, h, w, 3) tensor, the photo downscaled to the
//     page limit (the global pass); style: float32 (1, Hs, Ws, 3) tensor.
//   options: the page's options (stylizer.js KNOBS, optional `mask` tensor).
//   tileSize, overlap, align: pixels (default: config's tile settings).
//   onProgress({done, total, seconds}): after the global pass and each tile.
//   cancelled(): true to stop at the next tile (throws CancelledError).
//   tileMaps: also assemble the tiles' own attention_map outputs.
// Resolves to {image: Float32Array RGB (height x width x 3) in [0, 1],
//   globalAttention, globalMatte: Float32Array (gh x gw), globalShape: [gh,
//   gw], plan, tileSeconds: [s], tileAttention: Float32Array or null}.
export async function stylizeTiled({
  tf, model, config, content, height, width, contentChannels = 3, contentScale = 1, globalContent, style,
  options = {}, tileSize = config.tileSize, overlap = config.tileOverlap, align = config.tileAlign,
  onProgress = () => {}, cancelled = () => false, tileMaps = false,
}) {
  const o = resolveOptions(config, options);
  checkTiledSize(height, width, config);
  if (tileSize - align < config.minImageSize) {
    // The last tile of a row or column can be `align - 1` px short.
    throw new Error(
      `\`tileSize\` must be at least ${config.minImageSize + align} px (the model's minimum ` +
      `${config.minImageSize} px plus ${align}). Received: tileSize=${tileSize}`);
  }
  const regionIndex = config.regions.indexOf(o.region);
  const plan = planTiles(height, width, tileSize, overlap, align);
  const total = plan.tiles.length + 1;
  const started = performance.now();
  const stopIfCancelled = async () => {
    await nextTask(); // lets the worker see a 'cancel' message
    if (cancelled()) throw new CancelledError('Cancelled.');
  };
  // The tiles (and the global pass) run without the colour transfer; its map
  // comes from the global pass, once, and is applied to the assembled photo.
  const inner = { ...options, region: 'all', preserveColor: false, colorTransfer: 0 };

  // 1. The global pass.
  const globalRun = await stylize(tf, model, config, globalContent, style, inner);
  let globalAttention;
  let globalMatte;
  let transform = null;
  try {
    if (!globalRun.matte) {
      throw new Error('The model has no `matte` output, which full resolution needs: convert a current ' +
        '`stylize_with_options` export with `tf-cbam-style export tfjs`. Received: outputs without matte');
    }
    [globalAttention, globalMatte] = (await Promise.all([globalRun.attentionMap.data(), globalRun.matte.data()]))
      .map((array) => new Float32Array(array));
    if (o.alpha * o.colorTransfer > 0) {
      transform = colorTransform(await globalRun.stylizedImage.data(), await style.data(), config);
    }
  } finally {
    tf.dispose(Object.values(globalRun).filter(Boolean));
  }
  const [gh, gw] = globalContent.shape.slice(1, 3);
  onProgress({ done: 1, total, seconds: (performance.now() - started) / 1000 });

  // 2. The tiles, blended with feathers (weights wy * wx, normalised by
  // the product of the axis sums: the tiles form a grid).
  const rows = featherRamps(plan.ys, height);
  const columns = featherRamps(plan.xs, width);
  const image = new Float32Array(height * width * 3);
  const tileAttention = tileMaps ? new Float32Array(height * width) : null;
  const tileSeconds = [];
  const innerOptions = { ...inner };
  delete innerOptions.mask;
  for (let i = 0; i < plan.ys.length; i += 1) {
    for (let j = 0; j < plan.xs.length; j += 1) {
      await stopIfCancelled();
      const tileStart = performance.now();
      const window = [plan.ys[i][0], plan.xs[j][0], plan.ys[i][1], plan.xs[j][1]];
      const [y0, x0, y1, x1] = window;
      const th = y1 - y0;
      const tw = x1 - x0;
      const maskData = resizeWindow(globalAttention, gh, gw, 1, height, width, window);
      const mask = tf.tensor4d(maskData, [1, th, tw, 1], 'float32');
      const tile = windowTensor(tf, content, width, window, contentChannels, contentScale);
      let run;
      try {
        run = await stylize(tf, model, config, tile, style, { ...innerOptions, mask });
        const pixels = await run.stylizedImage.data();
        const attention = tileMaps ? await run.attentionMap.data() : null;
        const wy = rows.ramps[i];
        const wx = columns.ramps[j];
        for (let y = 0; y < th; y += 1) {
          for (let x = 0; x < tw; x += 1) {
            const w = wy[y] * wx[x];
            const p = (y0 + y) * width + (x0 + x);
            const q = y * tw + x;
            image[3 * p] += w * pixels[3 * q];
            image[3 * p + 1] += w * pixels[3 * q + 1];
            image[3 * p + 2] += w * pixels[3 * q + 2];
            if (tileAttention) tileAttention[p] += w * attention[q];
          }
        }
      } finally {
        tf.dispose([mask, tile, ...(run ? Object.values(run).filter(Boolean) : [])]);
      }
      tileSeconds.push((performance.now() - tileStart) / 1000);
      onProgress({ done: 1 + tileSeconds.length, total, seconds: (performance.now() - started) / 1000 });
    }
  }
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const w = rows.sum[y] * columns.sum[x];
      const p = y * width + x;
      image[3 * p] /= w;
      image[3 * p + 1] /= w;
      image[3 * p + 2] /= w;
      if (tileAttention) tileAttention[p] /= w;
    }
  }

  // 3. The colour transfer (the end of the `decoder` stage), colour
  // preservation, then the region composite (the `output` stage's order).
  if (transform) applyColorTransform(image, transform, o.alpha * o.colorTransfer);
  const source = { contentChannels, contentScale };
  if (o.preserveColor) preserveColor(image, content, source);
  compositeRegion(image, content, height, width, globalMatte, gh, gw, regionIndex,
    { ...source, ...matteRefinement(config) });
  return { image, globalAttention, globalMatte, globalShape: [gh, gw], plan, tileSeconds, tileAttention };
}
