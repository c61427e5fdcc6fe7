"""The `tf-cbam-style` command line.

`main` (in `cli.main`) holds the parser and the one rule that maps errors
to exit codes; `cli.common` what the commands share (expanding inputs,
planning outputs, decoding inputs once); one module per command group:
`cli.stylize` (stylize, sheet), `cli.train` (train, reconstruct),
`cli.export` (export saved-model; export tfjs and demo come from
`tfjs.cli`), `cli.evaluation` (evaluate, benchmark) and `cli.serving`
(client, serve-standin, load-test).

Images, TensorFlow and the model load inside the commands, after every
input and output is checked, so `--help` and bad arguments answer quickly
and fail before any work is done.
"""

from tf_cbam_style.cli.main import build_parser, main
from tf_cbam_style.options import METHOD_NAMES as METHODS

__all__ = ["METHODS", "build_parser", "main"]
