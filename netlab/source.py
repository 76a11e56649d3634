"""Where a topology's text comes from: a file, standard input (``-``) or a pipe.

The one reader every command that takes a topology uses (validate, plan, up,
graph, ``netlab generate | netlab up -``). Whatever the path names, it answers
quickly: a regular file is read up to a size limit; standard input and pipes
(``<(…)`` process substitution, a FIFO) up to the same limit and within a time
limit, so a FIFO nobody writes to is an error, not a hang; devices, directories
and sockets are refused by name, before they are opened. Bytes are decoded as
UTF-8 (a byte-order mark is fine) or refused with what they look like.
Every refusal is a TopologyError naming the file.
"""

from __future__ import annotations

import codecs
import os
import select
import stat
import time
from pathlib import Path

from netlab.errors import Problem, TopologyError

STDIN = "-"
STDIN_NAME = "<stdin>"
MAX_BYTES = 8 << 20  # 8 MiB: a 10,000-node generated star is ~0.5 MB
READ_TIMEOUT = 30.0  # seconds a pipe may take to deliver the whole topology
TIMEOUT_ENV = "NETLAB_READ_TIMEOUT"  # a slower generator: NETLAB_READ_TIMEOUT=120 netlab up <(…)

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))
_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32 (little-endian)"), (codecs.BOM_UTF32_BE, "UTF-32 (big-endian)"),
         (codecs.BOM_UTF16_LE, "UTF-16 (little-endian)"), (codecs.BOM_UTF16_BE, "UTF-16 (big-endian)"))
_MAGIC = ((b"\x1f\x8b", "gzip-compressed data"), (b"PK\x03\x04", "a zip archive"), (b"\x7fELF", "an ELF program"),
          (b"\x89PNG", "a PNG image"), (b"%PDF", "a PDF document"), (b"BZh", "bzip2-compressed data"),
          (b"\xfd7zXZ", "xz-compressed data"), (b"\x28\xb5\x2f\xfd", "zstd-compressed data"))


def _refuse(name: str, message: str, line: int = 0, col: int = 0) -> TopologyError:
    return TopologyError([Problem(name, line, col, "(file)", message)])


def timeout_from_env() -> float:
    """The pipe time limit: NETLAB_READ_TIMEOUT seconds if set (and a positive number), else 30."""
    try:
        value = float(os.environ.get(TIMEOUT_ENV, READ_TIMEOUT))
    except ValueError:
        return READ_TIMEOUT
    return value if value > 0 else READ_TIMEOUT


def read(path: str | os.PathLike, limit: int = MAX_BYTES, timeout: float | None = None) -> tuple[str, str]:
    """(text, name to report it by) of a topology at ``path`` (``-``: standard input)."""
    timeout = timeout_from_env() if timeout is None else timeout
    if str(path) == STDIN:
        return decode(_read_stdin(limit, timeout), STDIN_NAME), STDIN_NAME
    name = str(path)
    return decode(_read_path(Path(path), name, limit, timeout), name), name


def _read_stdin(limit: int, timeout: float) -> bytes:
    try:
        info = os.fstat(0)
    except OSError:
        raise _refuse(STDIN_NAME, "standard input is closed") from None
    if os.isatty(0):
        raise _refuse(STDIN_NAME, "standard input is a terminal: pipe a topology in "
                                  "(e.g. netlab generate star --hosts 4 | netlab up -)")
    if stat.S_ISREG(info.st_mode):
        return _read_file(0, STDIN_NAME, info, limit)
    # whatever the shell opened (a pipe, /dev/null, even /dev/zero) is read within both limits
    try:
        return _read_pipe(0, STDIN_NAME, limit, timeout)
    except OSError as exc:
        raise _refuse(STDIN_NAME, exc.strerror or str(exc)) from None


def _read_path(path: Path, name: str, limit: int, timeout: float) -> bytes:
    try:
        _refuse_kind(name, os.stat(path))  # by name, before opening: opening a device can act
        # O_NONBLOCK: opening a FIFO that has no writer returns at once instead of waiting
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        raise _refuse(name, exc.strerror or str(exc)) from None
    try:
        info = os.fstat(fd)
        _refuse_kind(name, info)  # the same file it was a moment ago
        if stat.S_ISREG(info.st_mode):
            return _read_file(fd, name, info, limit)
        return _read_pipe(fd, name, limit, timeout)
    except OSError as exc:
        raise _refuse(name, exc.strerror or str(exc)) from None
    finally:
        os.close(fd)


def _refuse_kind(name: str, info: os.stat_result) -> None:
    for test, what in _KINDS:
        if test(info.st_mode):
            raise _refuse(name, f"is {what}, not a topology file")


def _too_big(name: str, size: int, limit: int) -> TopologyError:
    return _refuse(name, f"is larger than {_mib(limit)} ({size:,} bytes or more); netlab reads topologies "
                         f"up to {_mib(limit)}")


def _mib(n: int) -> str:
    return f"{n / (1 << 20):g} MiB"


def _read_file(fd: int, name: str, info: os.stat_result, limit: int) -> bytes:
    if info.st_size > limit:
        raise _too_big(name, info.st_size, limit)
    chunks, total = [], 0
    while chunk := os.read(fd, 1 << 20):  # st_size may be 0 (/proc) or stale: read to the end
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise _too_big(name, total, limit)
    return b"".join(chunks)


def _read_pipe(fd: int, name: str, limit: int, timeout: float) -> bytes:
    """Read to end of file, within ``timeout`` seconds and ``limit`` bytes.

    poll(2) before each read: a FIFO no writer has opened yet reports nothing
    (Linux), so it is waited for, up to the deadline, like a slow writer."""
    deadline = time.monotonic() + timeout
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    chunks, total = [], 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not poller.poll(left * 1000):
            if time.monotonic() < deadline:
                continue
            got = f"only {total:,} bytes" if total else "nothing"
            raise _refuse(name, f"no end of file within {timeout:g} s, {got} read (a pipe nobody writes to, "
                                f"or a slow writer: {TIMEOUT_ENV}=SECONDS waits longer)")
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            continue
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise _too_big(name, total, limit)


def decode(data: bytes, name: str) -> str:
    """UTF-8 text of ``data`` (a UTF-8 byte-order mark is dropped); else say what the bytes look like."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            raise _refuse(name, f"is {encoding} text (it starts with a byte-order mark); netlab reads UTF-8: "
                                f"convert it with `iconv -f {encoding.split()[0]} -t UTF-8`")
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise _refuse(name, f"is {what}, not YAML text")
    if not data.strip():
        raise _refuse(name, "is empty: a topology is a mapping with `name` and `nodes`")
    nul = data.find(b"\0")
    if nul >= 0:
        line, col = _position(data, nul)
        head = data[:64]
        if head[1::2].count(0) >= len(head[1::2]) * 0.75 or head[0::2].count(0) >= len(head[0::2]) * 0.75:
            raise _refuse(name, "looks like UTF-16 text without a byte-order mark (every other byte is NUL); "
                                "netlab reads UTF-8: convert it with `iconv -f UTF-16 -t UTF-8`")
        raise _refuse(name, "holds a NUL byte: binary data, not YAML text", line, col)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        raise _refuse(name, f"is not UTF-8: byte 0x{data[exc.start]:02x} cannot start or continue a character "
                            "(Latin-1 or another legacy encoding? netlab reads UTF-8: convert it with "
                            "`iconv -f LATIN1 -t UTF-8`)", line, col) from None


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters, as far as they decode) of a byte offset."""
    start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, len(data[start:offset].decode("utf-8", "replace")) + 1
