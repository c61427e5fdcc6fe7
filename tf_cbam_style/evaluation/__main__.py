"""`python -m tf_cbam_style.evaluation {evaluate,benchmark} ...` (same as the `tf-cbam-style` subcommands)."""

import argparse
import sys

from tf_cbam_style.cli import evaluation
from tf_cbam_style.cli.main import run


def main(argv=None):
    """Parses and runs one command under the command line's error rule; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m tf_cbam_style.evaluation")
    evaluation.register(parser.add_subparsers(dest="command", required=True))
    return run(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
