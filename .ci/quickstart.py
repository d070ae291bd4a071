"""Print the Nth shell command of the README's Quick start (1: install and run, 2: tests).

CI runs these exactly as the README writes them, so the README cannot drift from what is tested.
"""

import re
import sys
from pathlib import Path

readme = Path(__file__).resolve().parent.parent.joinpath("README.md").read_text(encoding="utf-8")
section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
commands = re.findall(r"```sh\n(.*?)\n```", section, flags=re.DOTALL)
print(commands[int(sys.argv[1]) - 1])
