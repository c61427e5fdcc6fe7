"""Quality evaluation and speed benchmark against baselines and an external peer.

`tf-cbam-style evaluate` and `tf-cbam-style benchmark` (see `cli.py`). The
modules import TensorFlow, onnxruntime and matplotlib only when used.
"""
