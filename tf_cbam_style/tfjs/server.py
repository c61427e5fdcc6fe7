"""A static server for `web_demo/` (the `tf-cbam-style demo` command).

Serves the right MIME types (`.wasm` as `application/wasm`, `.mjs`/`.js` as
JavaScript) and the cross-origin isolation headers that let the TF.js wasm
backend use threads (`SharedArrayBuffer`). Everything stays on this machine.
"""

import functools
import http.server
import pathlib
import posixpath
import typing
import urllib.parse

MIME_TYPES = {
    ".wasm": "application/wasm",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".bin": "application/octet-stream",
    ".css": "text/css",
    ".html": "text/html",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
MODEL_URL_PREFIX = "/model/"


class DemoRequestHandler(http.server.SimpleHTTPRequestHandler):
    """`SimpleHTTPRequestHandler` with fixed MIME types, isolation headers,
    no caching, `/model/` mapped to `model_dir`, and no request logging."""

    extensions_map: typing.ClassVar[dict] = dict(
        http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES
    )

    def __init__(self, *args, directory=None, model_dir=None, quiet=True, **kwargs):
        self.model_dir = model_dir
        self.quiet = quiet
        super().__init__(*args, directory=directory, **kwargs)

    def translate_path(self, path):
        if self.model_dir is not None:
            clean = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
            if clean.startswith(MODEL_URL_PREFIX):
                parts = [p for p in posixpath.normpath(clean[len(MODEL_URL_PREFIX):]).split("/")
                         if p and p not in (".", "..")]
                return str(pathlib.Path(self.model_dir).joinpath(*parts))
        return super().translate_path(path)

    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format, *args):
        if not self.quiet:
            super().log_message(format, *args)


def check_demo_files(root, model_dir=None):
    """Raises with the fixing command when the page's files are missing."""
    root = pathlib.Path(root)
    if not (root / "index.html").is_file():
        raise FileNotFoundError(f"`root` must be the web_demo folder (with index.html). Received: root='{root}'")
    if not (root / "vendor" / "tf-core.min.js").is_file():
        raise FileNotFoundError(
            f"The vendored TF.js files (committed in web_demo/vendor/) are missing: restore them with "
            f"git, or run `npm ci` in {root} (it copies them there). Received: vendor='{root / 'vendor'}'"
        )
    model = pathlib.Path(model_dir) if model_dir is not None else root / "model"
    for name in ("model.json", "options.json"):
        if not (model / name).is_file():
            raise FileNotFoundError(
                f"No converted model ({name} is missing): the shipped one is committed in "
                "web_demo/model/ (tools/regenerate_web_demo.sh makes it); for another, run "
                f"`tf-cbam-style export tfjs SAVED_MODEL --out {model}`. Received: model_dir='{model}'"
            )


def make_server(root, host="127.0.0.1", port=8000, model_dir=None, quiet=True, check=True):
    """A `ThreadingHTTPServer` for the demo; call `serve_forever()` on it.

    Args:
        root: the `web_demo/` folder.
        host: interface to bind; defaults to `127.0.0.1` (this machine only).
        port: TCP port; `0` picks a free one (see `server.server_address`).
        model_dir: serve this converted model at `/model/` instead of
            `root/model`.
        quiet: do not log requests.
        check: fail early when the vendored files or the model are missing.
    """
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"`port` must be an int in [0, 65535]. Received: port={port!r}")
    if check:
        check_demo_files(root, model_dir)
    handler = functools.partial(
        DemoRequestHandler, directory=str(root),
        model_dir=str(model_dir) if model_dir is not None else None, quiet=quiet,
    )
    return http.server.ThreadingHTTPServer((host, port), handler)
