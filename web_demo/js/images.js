// Decoding and downscaling of the page's images. The size limits come
// from the model's options.json (see js/stylizer.js).

export class ImageInputError extends Error {}

// Decodes a File or URL into an ImageBitmap; non-images get a clear error.
export async function decodeImage(source) {
  let blob = source;
  const label = source instanceof File ? `“${source.name}”` : String(source);
  if (!(source instanceof Blob)) {
    const response = await fetch(source);
    if (!response.ok) throw new ImageInputError(`Could not load ${label} (HTTP ${response.status}).`);
    blob = await response.blob();
  }
  if (blob.type && !blob.type.startsWith('image/')) {
    throw new ImageInputError(
      `${label} is not an image (${blob.type}). Choose a JPEG, PNG, WebP or GIF file.`);
  }
  try {
    return await createImageBitmap(blob);
  } catch (error) {
    throw new ImageInputError(
      `${label} could not be read as an image${blob.type ? ` (${blob.type})` : ''}. ` +
      'Choose a JPEG, PNG, WebP or GIF file.');
  }
}

// Draws `bitmap` onto `canvas`, downscaled so that its longer side is at
// most `maxSize`; both sides must be at least `minSize`.
// Returns {width, height, originalWidth, originalHeight, resized}.
export function drawFitted(bitmap, canvas, maxSize, minSize) {
  const { width: w0, height: h0 } = bitmap;
  if (Math.min(w0, h0) < minSize) {
    throw new ImageInputError(`The image is ${w0}×${h0} px; it must be at least ${minSize} px on each side.`);
  }
  const scale = Math.min(1, maxSize / Math.max(w0, h0));
  const width = Math.max(minSize, Math.round(w0 * scale));
  const height = Math.max(minSize, Math.round(h0 * scale));
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = 'high';
  context.drawImage(bitmap, 0, 0, width, height);
  return { width, height, originalWidth: w0, originalHeight: h0, resized: scale < 1 };
}
