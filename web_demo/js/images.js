// Decoding, downscaling and tensor conversion of the page's images.

export const MAX_CONTENT_SIZE = 512;
export const MAX_STYLE_SIZE = 256;
export const MIN_SIZE = 32;

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
// most `maxSize`. Returns {width, height, originalWidth, originalHeight, resized}.
export function drawFitted(bitmap, canvas, maxSize) {
  const { width: w0, height: h0 } = bitmap;
  if (Math.min(w0, h0) < MIN_SIZE) {
    throw new ImageInputError(`The image is ${w0}×${h0} px; it must be at least ${MIN_SIZE} px on each side.`);
  }
  const scale = Math.min(1, maxSize / Math.max(w0, h0));
  const width = Math.max(MIN_SIZE, Math.round(w0 * scale));
  const height = Math.max(MIN_SIZE, Math.round(h0 * scale));
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = 'high';
  context.drawImage(bitmap, 0, 0, width, height);
  return { width, height, originalWidth: w0, originalHeight: h0, resized: scale < 1 };
}
