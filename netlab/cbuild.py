"""Build a C helper from source with the system compiler, once per source.

Some labs, and bench paths' spin loop, need a tight loop where Python's own cost
(about a microsecond per call) would hide the kernel's. Their C sources live beside
the lab (``labs/<lab>/*.c``) or the module (``netlab/bench/paths/spin.c``);
this compiles one into a cache keyed by the hash of the source, of the headers
beside it (which it may include as "x.h") and of the flags, so a run pays for
compiling only the first time. The compiler (gcc, from
scripts/install-system.sh) is looked up at run time and its absence is an error
that names the package.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from netlab.errors import NetlabError

FLAGS = ("-O2", "-Wall", "-Wextra", "-D_GNU_SOURCE")
CACHE_ENV = "NETLAB_CACHE"


def cache_dir() -> Path:
    """$NETLAB_CACHE, else $XDG_CACHE_HOME/netlab, else ~/.cache/netlab."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "netlab"


def _key(text: bytes, cc: str, libs: tuple[str, ...]) -> str:
    """Source, flags, libraries and the compiler itself (its file, so an upgraded gcc builds anew)."""
    real = os.path.realpath(cc)
    st = os.stat(real)
    who = f"{real}\0{st.st_size}\0{st.st_mtime_ns}"
    return hashlib.sha256(text + "\0".join((*FLAGS, *libs, who)).encode()).hexdigest()[:16]


def build(source: Path, libs: tuple[str, ...] = (), shared: bool = False) -> Path:
    """The path of an executable (``shared``: a shared library, for ctypes) compiled from
    ``source`` (a .c file); compiled if not cached."""
    source = Path(source)
    try:
        text = source.read_bytes()
    except OSError as exc:
        raise NetlabError(f"C helper {source}: {exc.strerror or exc}") from None
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:  # looked up first: a binary cached earlier does not hide a machine without a compiler
        raise NetlabError(f"C helper {source.name} needs a C compiler: install gcc (`make install`)")
    headers = b"".join(h.read_bytes() for h in sorted(source.parent.glob("*.h")))  # what "x.h" includes find
    extra = ("-shared", "-fPIC") if shared else ()
    key = _key(text + headers, cc, libs + extra)
    out = cache_dir() / f"{source.parent.name}-{source.stem}-{key}{'.so' if shared else ''}"  # e.g. thundering-herd-herd-<key>
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
    done = subprocess.run([cc, *FLAGS, *extra, "-o", str(tmp), str(source), *(f"-l{lib}" for lib in libs)],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise NetlabError(f"compiling {source.name} failed:\n{done.stderr.strip()[-2000:]}")
    os.replace(tmp, out)  # atomic: two runs compiling at once both end with a whole file
    return out
