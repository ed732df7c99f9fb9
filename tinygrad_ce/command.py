"""What every subcommand of the command line shares: one-line errors, Ctrl-C, closed pipes,
and output paths checked before any work starts.

A subcommand raises ``CommandError`` (or a ValueError, OSError, ... from the library) for a
user's mistake; ``run`` prints it as one line on stderr and returns exit status 2. Ctrl-C
returns 130 and says what was saved (a subcommand that saved something raises ``Interrupted``
with that news); a closed pipe (``tinygrad-ce trace | head -1``) ends quietly.
"""

import argparse
import os
import pathlib
import sys

EXIT_ERROR, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 2, 130, 141  # 128 + SIGINT, 128 + SIGPIPE


class CommandError(Exception):
    """A mistake in the command's options or files: one line on stderr, exit status 2."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what the subcommand saved before stopping ("saved ... to m.npz")."""


# library errors that are a user's mistake or an unusable file, never a bug of ours
USER_ERRORS = (CommandError, ValueError, OSError, FloatingPointError, RuntimeError,
               MemoryError, EOFError)


def one_line(error):
    """The message of ``error`` on one line (dot and zlib write several)."""
    text = " ".join(part.strip() for part in str(error).splitlines() if part.strip())
    if isinstance(error, MemoryError):
        return f"out of memory ({text or 'MemoryError'}); try smaller sizes"
    return text or type(error).__name__


def run(name, function, args):
    """Call ``function(args)`` and turn every way it can end into an exit status."""
    try:
        code = function(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except BrokenPipeError:
        return _quiet_exit()
    except KeyboardInterrupt as e:
        news = str(e) if isinstance(e, Interrupted) else "nothing was saved"
        print(f"tinygrad-ce {name}: interrupted; {news}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except USER_ERRORS as e:
        print(f"tinygrad-ce {name}: error: {one_line(e)}", file=sys.stderr)
        return EXIT_ERROR


def _quiet_exit():
    """The reader of our stdout went away: say nothing, and let no later flush complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_BROKEN_PIPE


class Parser(argparse.ArgumentParser):
    """argparse, with a mistake reported in one line (and where to read the usage)."""

    def error(self, message):
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def check_output(path, option, suffixes):
    """Refuse, before any work, an output ``path`` that cannot be written: a missing or
    unwritable folder, a folder given as the file, or a suffix not in ``suffixes``."""
    path = pathlib.Path(path)
    if path.suffix.lower() not in suffixes:
        raise CommandError(f"{option} {path}: write a {' or '.join(suffixes)} file "
                           f"(got {path.suffix or 'no extension'!r})")
    folder = path.parent
    if not folder.is_dir():
        raise CommandError(f"{option} {path}: the folder {folder} does not exist; create it "
                           "(mkdir -p) or choose another path")
    if path.is_dir():
        raise CommandError(f"{option} {path}: is a folder; give a file name")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CommandError(f"{option} {path}: the folder {folder} is not writable; choose "
                           "another path")
    return path
