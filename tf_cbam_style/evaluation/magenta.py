"""The external peer: Magenta's arbitrary stylization (Ghiasi et al. 2017) in ONNX."""

import os
import pathlib

import numpy as np

DEFAULT_DIR = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "baselines" / "magenta_arbitrary_onnx"
STYLE_SIZE = 256
CONTENT_SIZE = 384


def default_magenta_dir():
    """`$TF_CBAM_STYLE_MAGENTA_DIR`, else `../shared/baselines/magenta_arbitrary_onnx`."""
    return pathlib.Path(os.environ.get("TF_CBAM_STYLE_MAGENTA_DIR") or DEFAULT_DIR)


def magenta_available(directory=None):
    """Whether the two ONNX files are there (onnxruntime is checked on load)."""
    directory = pathlib.Path(directory) if directory is not None else default_magenta_dir()
    return (directory / "arbitrary_predict.onnx").is_file() and (directory / "arbitrary_transform.onnx").is_file()


def _resize(image, height, width):
    # PIL (LANCZOS), not TensorFlow: the peer's process stays free of TF.
    from tf_cbam_style.io import resize_image

    return resize_image(np.asarray(image, np.float32), (width, height))


class MagentaStylizer:
    """Runs `arbitrary_predict.onnx` then `arbitrary_transform.onnx` on the CPU.

    The ONNX graphs have fixed shapes: the style is resized to 256x256 and
    the content to 384x384 (aspect ratio not kept), and the output is resized
    back to the content's size, all with PIL's LANCZOS filter (no
    TensorFlow in this path). So the peer always computes at 384 px,
    whatever the content size.

    Args:
        directory: folder of the two ONNX files; defaults to
            `default_magenta_dir()`.
        threads: onnxruntime intra-op threads; `None` lets it decide.
    """

    def __init__(self, directory=None, threads=None):
        try:
            import onnxruntime
        except ImportError:
            raise ImportError(
                "The Magenta peer needs onnxruntime: pip install onnxruntime"
            ) from None
        directory = pathlib.Path(directory) if directory is not None else default_magenta_dir()
        if not magenta_available(directory):
            raise FileNotFoundError(
                "`directory` must hold arbitrary_predict.onnx and arbitrary_transform.onnx. "
                f"Received: directory='{directory}'"
            )
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        providers = ["CPUExecutionProvider"]
        self.predict = onnxruntime.InferenceSession(
            str(directory / "arbitrary_predict.onnx"), options, providers=providers)
        self.transform = onnxruntime.InferenceSession(
            str(directory / "arbitrary_transform.onnx"), options, providers=providers)

    def __call__(self, content, style):
        """`(H, W, 3)` content and any style in [0, 1] -> `(H, W, 3)` float32."""
        content = np.asarray(content, np.float32)
        style = _resize(style, STYLE_SIZE, STYLE_SIZE)
        (bottleneck,) = self.predict.run(None, {self.predict.get_inputs()[0].name: style[None]})
        inputs = self.transform.get_inputs()
        feed = {
            inputs[0].name: _resize(content, CONTENT_SIZE, CONTENT_SIZE)[None],
            inputs[1].name: bottleneck.astype(np.float32),
        }
        (out,) = self.transform.run(None, feed)
        out = _resize(np.clip(out[0], 0.0, 1.0), content.shape[0], content.shape[1])
        return np.clip(out, 0.0, 1.0).astype(np.float32)
