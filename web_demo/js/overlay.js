// Draws the attention map as a heat overlay on the content image.

// A short "inferno"-like ramp: black -> purple -> orange -> yellow.
const STOPS = [
  [0.0, [0, 0, 4]], [0.25, [87, 16, 110]], [0.5, [188, 55, 84]],
  [0.75, [249, 142, 9]], [1.0, [252, 255, 164]],
];

export function heatColor(value) {
  const v = Math.min(1, Math.max(0, value));
  for (let i = 1; i < STOPS.length; i += 1) {
    const [t1, c1] = STOPS[i];
    const [t0, c0] = STOPS[i - 1];
    if (v <= t1) {
      const f = (v - t0) / (t1 - t0);
      return c0.map((c, k) => Math.round(c + f * (c1[k] - c)));
    }
  }
  return STOPS[STOPS.length - 1][1];
}

// `attention`: Float32Array (H * W) in [0, 1]; `content`: a canvas of H x W.
export function drawOverlay(canvas, content, attention, width, height, opacity) {
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  context.drawImage(content, 0, 0, width, height);
  const base = context.getImageData(0, 0, width, height);
  const pixels = base.data;
  for (let i = 0; i < width * height; i += 1) {
    const [r, g, b] = heatColor(attention[i]);
    pixels[4 * i] = Math.round((1 - opacity) * pixels[4 * i] + opacity * r);
    pixels[4 * i + 1] = Math.round((1 - opacity) * pixels[4 * i + 1] + opacity * g);
    pixels[4 * i + 2] = Math.round((1 - opacity) * pixels[4 * i + 2] + opacity * b);
  }
  context.putImageData(base, 0, 0);
}
