"""The README's Python blocks run, and print what the README says they print."""

import contextlib
import io
import pathlib
import re

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def blocks():
    """(language, text) of each fenced block, in order."""
    return re.findall(r"```(\w*)\n(.*?)```", README.read_text(), flags=re.S)


def torch_missing():
    try:
        import torch  # noqa: F401
    except ImportError:
        return True
    return False


def test_readme_python_blocks_run_and_print_what_they_show(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)      # the blocks may write files (a checkpoint)
    found = blocks()
    namespace, checked = {}, 0
    for i, (lang, code) in enumerate(found):
        if lang != "python" or code.startswith("# (excerpt"):
            continue
        if code.startswith("# (needs torch)") and torch_missing():
            continue             # an optional extra: the block and what it prints are skipped
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"README block {i}", "exec"), namespace)
        following = found[i + 1] if i + 1 < len(found) else None
        if out.getvalue() and following is not None and following[0] == "":
            assert out.getvalue().strip() == following[1].strip(), f"README block {i}"
            checked += 1
    assert checked >= 4
