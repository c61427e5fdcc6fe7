"""`python -m tf_cbam_style.evaluation {evaluate,benchmark} ...` (same as the `tf-cbam-style` subcommands)."""

import argparse
import sys

from tf_cbam_style.evaluation.cli import register_cli


def main(argv=None):
    """Parses and runs one command; bad input prints one `error:` line and returns 2."""
    parser = argparse.ArgumentParser(prog="python -m tf_cbam_style.evaluation")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError, ImportError) as error:
        print("error: " + (" ".join(str(error).split()) or type(error).__name__), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
