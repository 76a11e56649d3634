"""A lab's C helper is compiled once per source and flags, and a broken source says why."""

from __future__ import annotations

import subprocess

import pytest

from netlab.errors import NetlabError
from netlab import cbuild


def test_compiled_once_and_runs(tmp_path, monkeypatch):
    monkeypatch.setenv(cbuild.CACHE_ENV, str(tmp_path / "cache"))
    src = tmp_path / "hello.c"
    src.write_text('#include <stdio.h>\nint main(void) { puts("from C"); return 0; }\n')
    exe = cbuild.build(src)
    assert exe.name.startswith(f"{tmp_path.name}-hello-")  # named after the lab folder and the source
    assert subprocess.run([exe], capture_output=True, text=True).stdout == "from C\n"
    mtime = exe.stat().st_mtime_ns
    assert cbuild.build(src) == exe and exe.stat().st_mtime_ns == mtime  # cached, not rebuilt
    src.write_text('#include <stdio.h>\nint main(void) { puts("changed"); return 0; }\n')
    assert cbuild.build(src) != exe  # a new source is a new key


def test_a_compile_error_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv(cbuild.CACHE_ENV, str(tmp_path / "cache"))
    src = tmp_path / "broken.c"
    src.write_text("int main(void) { return nope; }\n")
    with pytest.raises(NetlabError, match=r"(?s)compiling broken\.c failed:.*nope"):
        cbuild.build(src)
    assert not list((tmp_path / "cache").glob("*broken-*"))


def test_a_header_beside_the_source_is_part_of_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv(cbuild.CACHE_ENV, str(tmp_path / "cache"))
    (tmp_path / "word.h").write_text('#define WORD "one"\n')
    src = tmp_path / "say.c"
    src.write_text('#include <stdio.h>\n#include "word.h"\nint main(void) { puts(WORD); return 0; }\n')
    first = cbuild.build(src)
    (tmp_path / "word.h").write_text('#define WORD "two"\n')
    second = cbuild.build(src)
    assert second != first
    assert subprocess.run([second], capture_output=True, text=True).stdout == "two\n"
