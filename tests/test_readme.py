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
