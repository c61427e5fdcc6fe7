// Copies the TensorFlow.js browser bundles and wasm binaries from
// node_modules into vendor/, so that the page loads nothing from a CDN.
// vendor/ is committed (so that `tf-cbam-style demo` needs no npm); this
// runs on `npm ci` (postinstall) and `npm run vendor`, and after a version
// bump in package.json its output is committed with the new lock file.
// The bundles keep their Apache-2.0 license headers; vendor/README.md and
// vendor/LICENSE are not touched.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const modules = path.join(root, 'node_modules', '@tensorflow');
const vendor = path.join(root, 'vendor');

const FILES = [
  ['tfjs-core/dist/tf-core.min.js', 'tf-core.min.js'],
  ['tfjs-converter/dist/tf-converter.min.js', 'tf-converter.min.js'],
  ['tfjs-backend-wasm/dist/tf-backend-wasm.min.js', 'tf-backend-wasm.min.js'],
  ['tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm', 'tfjs-backend-wasm.wasm'],
  ['tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-simd.wasm'],
  ['tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'],
  ['tfjs-backend-webgl/dist/tf-backend-webgl.min.js', 'tf-backend-webgl.min.js'],
];

fs.mkdirSync(vendor, { recursive: true });
const versions = {};
for (const [source, target] of FILES) {
  const from = path.join(modules, source);
  if (!fs.existsSync(from)) {
    console.error(`error: ${from} is missing; run \`npm ci\` in ${root} first.`);
    process.exit(1);
  }
  fs.copyFileSync(from, path.join(vendor, target));
  fs.chmodSync(path.join(vendor, target), 0o644);
  const pkg = source.split('/')[0];
  versions[`@tensorflow/${pkg}`] = JSON.parse(
    fs.readFileSync(path.join(modules, pkg, 'package.json'), 'utf8')).version;
}
fs.writeFileSync(path.join(vendor, 'versions.json'), JSON.stringify(versions, null, 2) + '\n');
console.log(`Vendored ${FILES.length} TensorFlow.js files into ${path.relative(process.cwd(), vendor) || '.'}/`);
