// Shared helpers of the browser scripts: start Debian's Chromium through
// playwright-core (no downloaded browser) and open the demo page.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const here = path.dirname(new URL(import.meta.url).pathname);
export const DEMO_ROOT = path.resolve(here, '..', '..', 'web_demo');
const require = createRequire(path.join(DEMO_ROOT, 'package.json'));
const { chromium } = require('playwright-core');

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

export async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-demo-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 1000 },
  });
  const close = async () => {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

// Opens the page and waits until the backend and model are ready.
export async function openDemo(context, url, timeout = 180000) {
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  page.setDefaultTimeout(timeout);
  await page.goto(url);
  const backend = await page.evaluate(async () => { await window.demo.ready; return window.demo.backend; });
  return { page, backend, errors };
}

export function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i].startsWith('--')) {
      const key = argv[i].slice(2);
      const value = argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[(i += 1)] : 'true';
      args[key] = value;
    }
  }
  return args;
}

// A minimal static server for the scripts when no --url is given; same
// MIME types and cross-origin isolation headers as `tf-cbam-style demo`.
const MIME = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.wasm': 'application/wasm', '.bin': 'application/octet-stream',
  '.jpg': 'image/jpeg', '.png': 'image/png',
};

export async function serveDemo(root = DEMO_ROOT, modelDir = null) {
  const http = await import('node:http');
  const server = http.createServer((request, response) => {
    const url = decodeURIComponent(new URL(request.url, 'http://localhost').pathname);
    const relative = path.normalize(url === '/' ? '/index.html' : url).replace(/^(\.\.[/\\])+/, '');
    const file = modelDir && relative.startsWith('/model/')
      ? path.join(modelDir, relative.slice('/model/'.length))
      : path.join(root, relative);
    fs.readFile(file, (error, data) => {
      const headers = {
        'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cache-Control': 'no-cache',
      };
      if (error) { response.writeHead(404, headers); response.end(); return; }
      headers['Content-Type'] = MIME[path.extname(file)] || 'application/octet-stream';
      response.writeHead(200, headers);
      response.end(data);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() };
}
