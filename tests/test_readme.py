"""The README's commands stay true: CI runs exactly the README test command."""

import pathlib
import re
import shlex

REPO = pathlib.Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def test_ci_runs_the_readme_test_commands():
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
          if line and not line.startswith(("#", "set ", "cd ", "export "))]
    assert len(ci) == 2 and ci[0].startswith("python3 -m venv") and "-m tfjs" in ci[1]
    for command in ci:
        assert command in README.splitlines()


def test_files_named_in_readme_commands_exist():
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    paths = []
    for block in blocks:
        for token in shlex.split(block.replace("&&", " ")):
            if re.match(r"^(examples|docs|saved_models|tests|serving|web_demo)/", token) and "*" not in token:
                paths.append(token)
    assert paths
    outputs = {"docs/sheet.png", "web_demo/model"}  # written by the commands that name them
    missing = [p for p in paths if not (REPO / p).exists() and p not in outputs]
    assert not missing, missing


def test_no_placeholder_left():
    assert "RESULTS_" not in README and "TODO" not in README


def _shell_commands(text):
    """The commands of a shell text, with continuation lines joined."""
    return [line.strip() for line in text.replace("\\\n", " ").splitlines()
            if line.strip() and not line.strip().startswith("#")]


def test_regenerate_results_runs_the_readme_commands():
    # tools/regenerate_results.sh regenerates what the README's figures come
    # from; it must run the README's own commands, not a drifted copy.
    script = " ".join(re.sub(r"\s+", " ", line) for line in _shell_commands(
        (REPO / "tools" / "regenerate_results.sh").read_text()))
    script = script.replace("tcs ", ".venv/bin/tf-cbam-style ").replace(" --quiet", "")
    script = script.replace('"$PYTHON" tools/', "python tools/")
    readme = [line for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S)
              for line in _shell_commands(block)]
    wanted = [c for c in readme if re.match(
        r"^(\.venv/bin/tf-cbam-style (evaluate|saliency|reconstruct|sheet)|python tools/tiling_consistency)", c)]
    assert len(wanted) >= 8, wanted
    missing = [c for c in wanted if c not in script]
    assert not missing, missing
