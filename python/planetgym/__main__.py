"""The ``planetgym`` command line from the Python package: the console script installed into
the virtual environment's ``bin/`` and ``python -m planetgym`` run the same code as the Rust
binary (``planetgym --help``), plus ``planetgym sweep``, which runs on Ray from Python."""

import signal
import sys


def main() -> None:
    if sys.argv[1:2] == ["sweep"]:
        from planetgym.cluster import sweep_command

        sys.exit(sweep_command(sys.argv[2:]))
    from planetgym import _core

    # Ctrl-C stops the command as it stops the binary (training installs its own handler, which
    # finishes the current update and writes a checkpoint).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(_core.cli(["planetgym", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
