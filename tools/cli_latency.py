"""Where the time of one `tf-cbam-style stylize` call goes.

Runs the README sample end to end N times (each a fresh process, timed with
its CPU time), then once more in-process, piece by piece: Python start and
the command line's own work (arguments, checks, decoding), `import
tensorflow`, loading the model, tracing the pipeline, the first run (graph
optimisation + run), a second run and writing the file.

    .venv/bin/python tools/cli_latency.py [--repeats 3] [--content ...] [--style ...]

Wall times depend on what else the machine runs; CPU times less so.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _end_to_end(content, style, output):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tf_cbam_style", "stylize", content, style, "-o", output,
                    "--overwrite", "--quiet"], check=True, cwd=REPO)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.perf_counter() - start, cpu


_PIECES = r"""
import sys, time
marks = [("start", time.perf_counter(), time.process_time())]
def mark(name):
    marks.append((name, time.perf_counter(), time.process_time()))
from tf_cbam_style import api
from tf_cbam_style.cli import main
class _Stop(BaseException):
    pass
def _stop(*args, **kwargs):
    raise _Stop
load_model, api.load_model = api.load_model, _stop
try:
    main(["stylize", sys.argv[1], sys.argv[2], "-o", sys.argv[3], "--overwrite", "--quiet"])
except _Stop:
    pass
api.load_model = load_model
mark("command line: arguments, checks, decoding (no TensorFlow)")
import tensorflow
mark("import tensorflow (+ keras)")
from tf_cbam_style import io
content = io.fit_max_size(io.load_image(sys.argv[1]), 1024, min_size=32).image
style = io.fit_max_size(io.load_image(sys.argv[2]), 512, min_size=32).image
model = api.load_model()
mark("load the .keras model")
from tf_cbam_style import options as opts
function = api.pipeline_function(model, opts.transfer_for("cbam", model.attention_kind))
inputs = {"content_image": content[None], "style_image": style[None], **opts.option_inputs()}
function.get_concrete_function(inputs)
mark("trace the pipeline (tf.function)")
function(inputs)["stylized_image"].numpy()
mark("first run (graph optimisation + run)")
result = api.stylize(content, style, model=model, style_max_size=None)
mark("second run (api.stylize)")
io.save_image(sys.argv[3], result.image, overwrite=True)
mark("write the PNG")
for (_, w0, c0), (name, w1, c1) in zip(marks, marks[1:]):
    print(f"  {name:58s} wall {w1 - w0:6.2f} s  cpu {c1 - c0:6.2f} s")
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--content", default="examples/content/lotus.jpg")
    parser.add_argument("--style", default="examples/style/candy.jpg")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory() as tmp:
        output = os.path.join(tmp, "out.png")
        print(f"tf-cbam-style stylize {args.content} {args.style} -o OUT.png --overwrite, "
              f"end to end ({args.repeats} fresh processes):")
        for _ in range(args.repeats):
            wall, cpu = _end_to_end(args.content, args.style, output)
            print(f"  wall {wall:6.2f} s  cpu {cpu:6.2f} s")
        print("The same call, piece by piece (one process):")
        subprocess.run([sys.executable, "-c", _PIECES, args.content, args.style, output], check=True,
                       cwd=REPO)
    return 0


if __name__ == "__main__":
    sys.exit(main())
