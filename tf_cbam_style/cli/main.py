"""The `tf-cbam-style` entry point: the parser and the one rule for errors.

The rule (`run`): bad input (`ValueError`, including `ImageError`, and
`OSError` such as a missing file or a `ServingError`) and a missing
optional extra (`ImportError`, naming the pip command) print one
`error: ...` line on stderr and return 2; Ctrl-C returns 130. Argument
syntax errors (an unknown option, a bad choice, a missing argument) follow
the same rule: one `PROG: error: ...` line that points at `--help`, exit
code 2 (`OneLineParser`). Commands return their own code otherwise (0, or
1 for a failed `load-test` or TF.js conversion). Python warnings raised
while a command runs (e.g. a mask stretched to another aspect ratio) print
as one `warning: ...` line each.
"""

import argparse
import os
import sys
import warnings

from tf_cbam_style import __version__
from tf_cbam_style.cli import evaluation, export, saliency, serving, stylize, train

# The command groups, in the order of `--help`.
COMMAND_GROUPS = (train, stylize, export, evaluation, saliency, serving)


class OneLineParser(argparse.ArgumentParser):
    """An `ArgumentParser` whose syntax errors are one line (not the usage block); subcommands inherit it."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see `{self.prog} --help`)\n")


def build_parser():
    """The `tf-cbam-style` parser with every command."""
    parser = OneLineParser(
        prog="tf-cbam-style",
        description="Attention-aware arbitrary neural style transfer (CBAM / AAMS).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(subparsers)
    return parser


def one_line(error):
    """`error`'s message with its whitespace collapsed (its type name if empty)."""
    return " ".join(str(error).split()) or type(error).__name__


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Python warnings on the command line: one `warning: ...` line on stderr, without the source line."""
    print(f"warning: {one_line(message)}", file=file or sys.stderr)


def run(parser, argv=None):
    """Parses `argv` and runs the chosen command under the error rule; returns the exit code."""
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.func(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, ImportError, MemoryError) as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2
    except Exception as error:  # TensorFlow's own out-of-memory error, without importing TensorFlow here
        if type(error).__name__ != "ResourceExhaustedError":
            raise
        print(f"error: out of memory while stylizing ({one_line(error)[:200]}); use a smaller --tile-size "
              "or --max-size", file=sys.stderr)
        return 2


def main(argv=None):
    """Runs the command line; returns the exit code (see the module doc)."""
    # Most of TensorFlow's C++ start-up chatter is noise on a command line
    # (users can ask for it with TF_CPP_MIN_LOG_LEVEL=0). The oneDNN notice
    # ignores this setting; silencing it would mean TF_ENABLE_ONEDNN_OPTS=0,
    # which changes speed and numerics, so it stays.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return run(build_parser(), argv)
