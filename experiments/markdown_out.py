"""Where the report scripts under experiments/ put their markdown: the file named by their first
argument, else stdout."""

import sys
from pathlib import Path


def emit(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(text)
    else:
        print(text, end="")
