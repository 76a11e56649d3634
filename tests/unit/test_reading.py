"""Whatever a path names, reading it answers quickly with the text or a problem
naming the file: regular files, standard input, pipes, FIFOs nobody writes to,
devices, directories, and bytes that are not UTF-8."""

from __future__ import annotations

import codecs
import os
import subprocess
import sys
import threading
import time

import pytest

from netlab import loader, source
from netlab.errors import TopologyError

GOOD = "name: lab\nnodes: {a: {}, b: {}}\nlinks: [[a, b]]\n"


def refused(path, **kw) -> str:
    with pytest.raises(TopologyError) as info:
        source.read(path, **kw)
    (problem,) = info.value.problems
    return str(problem)


def test_a_regular_file_is_read(tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text(GOOD)
    assert source.read(f) == (GOOD, str(f))


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path):
    f = tmp_path / "big.yaml"
    f.write_bytes(b"#" * 2048)
    assert "is larger than" in refused(f, limit=1024) and "netlab reads topologies up to" in refused(f, limit=1024)


def test_directories_and_devices_are_refused_by_name(tmp_path):
    assert refused(tmp_path) == f"{tmp_path}: is a directory, not a topology file"
    assert refused("/dev/zero") == "/dev/zero: is a character device, not a topology file"
    assert refused(tmp_path / "absent.yaml").endswith("No such file or directory")


def test_a_fifo_nobody_writes_to_is_an_error_not_a_hang(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    message = refused(fifo, timeout=0.3)
    assert time.monotonic() - started < 5
    assert "no end of file within 0.3 s, nothing read" in message and source.TIMEOUT_ENV in message


def test_a_fifo_whose_writer_comes_later_is_waited_for(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def writer() -> None:
        time.sleep(0.2)
        with open(fifo, "w") as fh:
            fh.write(GOOD)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert source.read(fifo, timeout=10)[0] == GOOD
    finally:
        thread.join()


def test_a_pipe_over_the_size_limit_is_refused(tmp_path):
    read_end, write_end = os.pipe()
    os.write(write_end, b"x" * 4096)
    os.close(write_end)
    try:
        assert "is larger than" in refused(f"/proc/self/fd/{read_end}", limit=1000)
    finally:
        os.close(read_end)


def _netlab(args: list[str], **kw) -> subprocess.CompletedProcess:
    code = "import sys; from netlab.cli import main; sys.argv = ['netlab'] + sys.argv[1:]; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60, **kw)


def test_validate_reads_standard_input_and_process_substitution():
    done = _netlab(["validate", "-"], input=GOOD)
    assert done.returncode == 0 and done.stdout.startswith("<stdin>: ok (lab lab, 2 nodes)")
    shell = subprocess.run(["bash", "-c", f"{sys.executable} -c \"$0\" validate <(printf '%s' \"$1\")",
                            "import sys; from netlab.cli import main; sys.argv = ['netlab'] + sys.argv[1:]; main()",
                            GOOD], capture_output=True, text=True, timeout=60)
    assert shell.returncode == 0 and shell.stdout.startswith("/dev/fd/") and ": ok (lab lab" in shell.stdout


def test_standard_input_that_never_ends_is_cut_by_the_time_limit():
    writer = subprocess.Popen(["sleep", "30"], stdout=subprocess.PIPE)  # holds the pipe open, writes nothing
    try:
        done = _netlab(["validate", "-"], stdin=writer.stdout, env={**os.environ, source.TIMEOUT_ENV: "0.5"})
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()
    assert done.returncode == 2
    assert "<stdin>: no end of file within 0.5 s" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("data, message", [
    (codecs.BOM_UTF16_LE + GOOD.encode("utf-16-le"), "is UTF-16 (little-endian) text (it starts with a byte-order mark)"),
    (codecs.BOM_UTF32_BE + GOOD.encode("utf-32-be"), "is UTF-32 (big-endian) text"),
    (GOOD.encode("utf-16-le"), "looks like UTF-16 text without a byte-order mark"),
    (b"name: lab\nnodes: {a: {}}\n\x00\x01\x02", "t.yaml:3:1: (file): holds a NUL byte: binary data, not YAML text"),
    (b"\x1f\x8b\x08\x00junk", "is gzip-compressed data, not YAML text"),
    (b"\x7fELF\x02\x01\x01", "is an ELF program, not YAML text"),
    ("name: lab\nnodes: {caf\u00e9: {}}\n".encode("latin-1"), "t.yaml:2:12: (file): is not UTF-8: byte 0xe9"),
    (b"  \n\n", "t.yaml: is empty"),
])
def test_bytes_that_are_not_utf8_text_are_named(data, message):
    with pytest.raises(TopologyError) as info:
        source.decode(data, "t.yaml")
    assert message in str(info.value)


def test_a_utf8_byte_order_mark_is_fine(tmp_path):
    f = tmp_path / "bom.yaml"
    f.write_bytes(codecs.BOM_UTF8 + GOOD.encode())
    assert loader.load(f).name == "lab"
