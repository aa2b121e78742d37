"""The ``gdo`` command: ``gdo <command> [hydra overrides]``.

Every command composes the same Hydra config (``conf/config.yaml``) and calls one
stage function ``run(cfg) -> Path``. ``gdo <command> --help`` shows the config
groups and the composed config; ``gdo <command> -m ...`` is a Hydra multirun.

Bad input and bad config (:class:`gdo.utils.errors.GdoError`: a file, line, field or
key and what was expected) print one line, ``gdo <command>: error: ...``, and exit 1;
the traceback shows only with ``--debug`` (or ``HYDRA_FULL_ERROR=1``). In a multirun
the first point that fails this way ends the sweep.
"""

from __future__ import annotations

import importlib
import os
import sys

from gdo import __version__
from gdo.stages import STAGES
from gdo.utils.conf import conf_dir

# command -> (function, one-line help): `gdo run`, every stage (gdo.stages.STAGES: its first
# step; `gdo describe` writes the shards, `gdo describe merge` joins them) and the commands
# of one step that `gdo run` calls as part of a stage or not at all.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("gdo.pipeline:run", "the main job: every stage end to end, skipping fresh ones"),
    **{spec.name: (spec.steps[0], spec.help) for spec in STAGES.values()},
    "world_custom": (
        "gdo.world.custom:run",
        "write a custom question set (one skill) from the world",
    ),
    "describe_merge": ("gdo.descriptors.merge:merge", "merge descriptor shards + robust z-scores"),
}
# Two-word commands: `gdo describe merge` -> describe_merge.
SUBCOMMANDS = {("describe", "merge"): "describe_merge", ("world", "custom"): "world_custom"}
# Plain commands (argparse, no Hydra config): name -> (main(argv) -> int, help).
PLAIN: dict[str, tuple[str, str]] = {
    "inspect": (
        "gdo.inspect.cli:main",
        "write a static HTML browser of a pool or a goal's subset (frames, scores, why picked)",
    ),
    "compare": (
        "gdo.compare:main",
        "paired accuracy deltas of two runs' frontiers (RUN_A RUN_B, bootstrap CIs)",
    ),
    "benchmark check": (
        "gdo.benchmarks.check:main",
        "validate a custom benchmark file (every problem with its row)",
    ),
}


def usage() -> str:
    width = max(len(c) for c in [*COMMANDS, *PLAIN]) + 2
    lines = [
        "usage: gdo <command> [key=value ...] [--help] [-m] [--debug]\n       gdo --version",
        "",
        "Goal-driven data optimization for multimodal instruction tuning.",
        "",
        "commands:",
    ]
    for name, (_, text) in COMMANDS.items():
        lines.append(f"  {name.replace('_', ' '):<{width}}{text}")
    for name, (_, text) in PLAIN.items():
        lines.append(f"  {name:<{width}}{text}")
    lines += [
        "",
        "examples:",
        "  gdo run experiment=demo                  # the CPU demo end to end",
        "  gdo select goal=temp select.budget=2000  # one stage with overrides",
        "  gdo run -m experiment=demo sweep=grid    # a Hydra multirun sweep",
        "  gdo select --help                        # config groups and the composed config",
        "",
        "Bad input or config prints one line naming the file, line, field or key and exits 1;",
        "--debug (or HYDRA_FULL_ERROR=1) shows the traceback.",
    ]
    return "\n".join(lines)


def resolve(target: str):
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def parse_command(argv: list[str]) -> tuple[str | None, list[str]]:
    if not argv or argv[0] in ("-h", "--help", "help"):
        return None, argv
    cmd, rest = argv[0], argv[1:]
    if rest and (cmd, rest[0]) in SUBCOMMANDS:
        return SUBCOMMANDS[(cmd, rest[0])], rest[1:]
    return cmd.replace("-", "_"), rest


def with_command(args: list[str], cmd: str) -> list[str]:
    """Insert ``command=<cmd>`` next to the user's overrides.

    Hydra's parser takes the overrides as one run of positional arguments, so the
    extra override must not end up on the other side of a flag (``-m``, ``--cfg job``).
    """
    # The command is the subcommand's, never an override's: a stray command=... (say,
    # from a parent's overrides) would run another stage in its place.
    args = [a for a in args if not a.lstrip("+~").startswith("command=")]
    for i, arg in enumerate(args):
        if "=" in arg and not arg.startswith("-"):
            return [*args[:i], f"command={cmd}", *args[i:]]
    return [*args, f"command={cmd}"]


DEBUG_FLAG = "--debug"
# Hydra's own switch for full tracebacks; `--debug` sets it, so child processes
# (torchrun steps of `gdo run`) show theirs too.
DEBUG_ENV = "HYDRA_FULL_ERROR"


def debugging() -> bool:
    """Whether errors of bad input should show their traceback."""
    return os.environ.get(DEBUG_ENV) == "1"


def _task(cfg) -> object:
    import gdo.config  # registers the schemas
    from gdo.utils.errors import GdoError

    try:
        from gdo.utils.plugins import load_plugins

        load_plugins(cfg.plugins)  # before the check: they may register what cfg names
        gdo.config.check_config(cfg)
        from gdo.media.config import apply_media

        apply_media(cfg.media)  # the video decoder every stage (and child process) uses
        return resolve(COMMANDS[cfg.command][0])(cfg)
    except GdoError as exc:
        if debugging():
            raise
        name = str(cfg.command).replace("_", " ")
        print(f"gdo {name}: error: {exc}", file=sys.stderr)
        print(f"(the traceback: rerun with {DEBUG_FLAG} or {DEBUG_ENV}=1)", file=sys.stderr)
        raise SystemExit(1) from None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["--version"], ["-V"]):
        print(f"gdo {__version__}")
        return 0
    if DEBUG_FLAG in argv:
        argv.remove(DEBUG_FLAG)
        os.environ[DEBUG_ENV] = "1"
    plain = " ".join(argv[:2])
    if plain in PLAIN:
        return int(resolve(PLAIN[plain][0])(argv[2:]))
    if argv[:1] and argv[0] in PLAIN:  # one-word plain commands (gdo inspect PATH)
        return int(resolve(PLAIN[argv[0]][0])(argv[1:]))
    cmd, rest = parse_command(argv)
    if cmd is None:
        print(usage())
        return 0
    if cmd not in COMMANDS:
        print(f"gdo: unknown command '{cmd}'\n\n{usage()}", file=sys.stderr)
        return 2
    import hydra

    import gdo.config

    renamed = gdo.config.renamed_overrides(rest)
    if renamed:
        print(
            f"gdo {cmd.replace('_', ' ')}: error: renamed config key(s): {'; '.join(renamed)}",
            file=sys.stderr,
        )
        return 1
    from gdo.sweep_resume import register_plugins

    register_plugins()

    entry = hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")(_task)
    sys.argv = [f"gdo {cmd.replace('_', ' ')}", *with_command(rest, cmd)]
    try:
        entry()
    except SystemExit as exc:  # Hydra's own errors and _task's bad-input exit
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
