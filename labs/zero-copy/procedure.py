"""§1.1.7 and ch. 9: serving a file by read+write, mmap+write, sendfile, splice and
MSG_ZEROCOPY: CPU per GiB, system calls, context switches, throughput — and where on
loopback and veth zero copy does not pay."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator

from netlab.backend import procfs
from netlab import cbuild

METHODS = ("read_write", "mmap_write", "sendfile", "splice", "msg_zerocopy")
GIB = 1 << 30
PATTERN = b"netlab zero-copy lab: the bytes of a served file. " * 1300  # ~64 KiB, not a sparse file


@contextlib.contextmanager
def served_file(size: int) -> Iterator[tuple[int, str]]:
    """(a read-only descriptor of a ``size``-byte file, where it was made). The file is
    written in a fresh temp dir (tmpfs /dev/shm where there is one: page cache without a
    disk, so the runs measure copies, not I/O), then its name and its dir are removed at
    once: nothing stays behind, not even after a kill -9; the descriptor keeps the data."""
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    folder = tempfile.mkdtemp(prefix="netlab-zero-copy-", dir=shm)
    path = os.path.join(folder, "served")
    try:
        with open(path, "wb") as out:
            for left in range(size, 0, -len(PATTERN)):
                out.write(PATTERN[:left])
        fd = os.open(path, os.O_RDONLY)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.rmdir(folder)
    try:
        yield fd, folder
    finally:
        os.close(fd)


def fetch(lab, exe: str, node: str, addr: str, cpu: int) -> dict:
    argv = [exe, "fetch", addr, str(lab.params["port"]), str(cpu)]
    out = lab.run(node, argv, capture=True, timeout=300, check=True).stdout.decode()
    return json.loads(out.splitlines()[-1])


def serve_once(lab, exe: str, fd: int, method: str, client: tuple[str, str], cpus: tuple[int, int]) -> tuple[dict, dict]:
    """One transfer of the whole file: (the server's report, the client's)."""
    argv = [exe, "serve", method, str(fd), str(lab.params["port"]), str(cpus[0]), str(lab.params["chunk"])]
    server = lab.popen("server", argv, stdout=subprocess.PIPE, text=True, pass_fds=(fd,))
    if server.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the {method} server did not start (exit code {server.wait()})")
    got = fetch(lab, exe, client[0], client[1], cpus[1])
    out, _ = server.communicate(timeout=60)
    if server.returncode:
        raise RuntimeError(f"the {method} server failed (exit code {server.returncode})")
    return json.loads(out.splitlines()[-1]), got


def python_serve(fd: int, port: int, chunk: int, cpu: int) -> dict:
    """read+write in Python (runs inside the server): readinto one buffer, sendall it."""
    os.sched_setaffinity(0, {cpu})
    listener = socket.create_server(("0.0.0.0", port))
    sock, _ = listener.accept()
    listener.close()
    buf, sent = bytearray(chunk), 0
    os.lseek(fd, 0, os.SEEK_SET)  # the descriptor (and its offset) is shared by every run
    view, src = memoryview(buf), os.fdopen(os.dup(fd), "rb", buffering=0)
    t0 = time.process_time_ns()
    while n := src.readinto(buf):
        sock.sendall(view[:n])
        sent += n
    took = time.process_time_ns() - t0
    sock.shutdown(socket.SHUT_WR)
    while sock.recv(1):
        pass
    sock.close()
    src.close()
    return {"bytes": sent, "cpu_ns": took}


def per_gib(value: float, nbytes: int) -> float:
    return value * GIB / nbytes


def median_note(values: list[float], unit: str = "") -> tuple[float, str]:
    med = statistics.median(values)
    return med, f"median of {len(values)} rounds ({min(values):.3g}–{max(values):.3g}{unit})"


def measure(lab, exe: str, fd: int, cpus: tuple[int, int]) -> dict[str, dict[str, list[float]]]:
    """Every method, in turn, ``rounds`` times: its samples per figure."""
    client = ("client", lab.addr("server"))
    samples: dict[str, dict[str, list[float]]] = {m: {} for m in (*METHODS, "msg_zerocopy_lo", "python")}
    for _ in range(int(lab.params["rounds"])):
        for method in METHODS + ("msg_zerocopy_lo",):
            where = ("server", "127.0.0.1") if method == "msg_zerocopy_lo" else client
            deferred = procfs.ksoftirqd_ns({cpus[0]})
            srv, cli = serve_once(lab, exe, fd, method.removesuffix("_lo"), where, cpus)
            deferred = procfs.ksoftirqd_ns({cpus[0]}) - deferred
            s = samples[method]
            for key, value in (("cpu_ms", per_gib(srv["cpu_ns"] / 1e6, srv["bytes"])),
                               ("client_cpu_ms", per_gib(cli["cpu_ns"] / 1e6, cli["bytes"])),
                               ("ksoftirqd_ms", per_gib(deferred / 1e6, srv["bytes"])),
                               ("total_cpu_ms", per_gib((srv["cpu_ns"] + cli["cpu_ns"] + deferred) / 1e6, srv["bytes"])),
                               ("gib_per_s", cli["bytes"] / GIB / (srv["ns"] / 1e9)),
                               ("syscalls", per_gib(srv["syscalls"], srv["bytes"])),
                               ("switches", per_gib(srv["vcsw"] + srv["ivcsw"], srv["bytes"])),
                               ("zc_copied", srv["zc_copied"] / max(srv["zc_completed"], 1)),
                               ("zc_notifications", srv["zc_notifications"]), ("zc_sends", srv["zc_sends"])):
                s.setdefault(key, []).append(value)
        py = lab.spawn("server", python_serve, fd, int(lab.params["port"]), int(lab.params["chunk"]), cpus[0])
        cli = fetch(lab, exe, "client", lab.addr("server"), cpus[1])
        res = py.result(60)
        samples["python"].setdefault("cpu_ms", []).append(per_gib(res["cpu_ns"] / 1e6, cli["bytes"]))
    return samples


def record(lab, samples: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    """The median of each method's samples as figures; returns the medians."""
    units = {"cpu_ms": ("ms/GiB", "server's CPU per GiB served"), "client_cpu_ms": ("ms/GiB", "client's CPU per GiB"),
             "ksoftirqd_ms": ("ms/GiB", "the CPU's ksoftirqd per GiB (softirq work deferred there)"),
             "total_cpu_ms": ("ms/GiB", "server + client + ksoftirqd per GiB: the whole transfer on its CPU"),
             "gib_per_s": ("GiB/s", "throughput"), "syscalls": ("calls/GiB", "the server's system calls"),
             "switches": ("switches/GiB", "the server's context switches (voluntary + involuntary)")}
    out: dict[str, dict[str, float]] = {}
    for method, figures in samples.items():
        out[method] = {}
        for key, values in figures.items():
            med, note = median_note(values)
            out[method][key] = med
            if key in units:
                lab.figure(f"{method}_{key}", round(med, 3 if med < 10 else 1), units[key][0], f"{units[key][1]}, {note}")
    return out


def run(lab) -> None:
    # Server and client share one CPU: on a veth the work of one transfer moves between
    # the two (the receive softirq runs in whoever sent, ACKs push the server's queued data
    # from the client's context), and on one CPU all of it lands in one of them, not in
    # another process that happened to run on a second CPU.
    cpu = min(os.sched_getaffinity(0))
    cpus = (cpu, cpu)
    exe = str(cbuild.build(lab.spec.folder / "serve.c"))
    size = int(lab.params["file_mib"]) << 20
    lab.step(f"a {size >> 20} MiB file, served {lab.params['rounds']} time(s) by each method "
             f"({lab.params['chunk']} B per call), server and client on CPU{cpu}")
    with served_file(size) as (fd, folder):
        lab.figure("file_dir", folder, "", "where the file was written (removed at once, kept open)")
        samples = measure(lab, exe, fd, cpus)
        med = record(lab, samples)
    zc, lo = med["msg_zerocopy"], med["msg_zerocopy_lo"]
    lab.figure("zc_copied_share_veth", round(zc["zc_copied"], 4), "", f"MSG_ZEROCOPY completions flagged "
               f"SO_EE_CODE_ZEROCOPY_COPIED over the veth ({zc['zc_sends']:.0f} sends, "
               f"{zc['zc_notifications']:.0f} notifications)")
    lab.figure("zc_copied_share_lo", round(lo["zc_copied"], 4), "", "the same over loopback (127.0.0.1)")
    ratios(lab, med)
    paired(lab, samples)
    charts(lab, med)


def ratios(lab, med: dict[str, dict[str, float]]) -> None:
    cpu = {m: v["cpu_ms"] for m, v in med.items()}
    for name, top, bottom in (("sendfile_vs_read_write", "sendfile", "read_write"),
                              ("splice_vs_sendfile", "splice", "sendfile"),
                              ("zerocopy_vs_mmap", "msg_zerocopy", "mmap_write"),
                              ("python_vs_c_read_write", "python", "read_write")):
        lab.figure(name, round(cpu[top] / cpu[bottom], 2), "×", f"server's CPU per GiB, {top} / {bottom}")
    lab.figure("sendfile_syscalls", round(med["sendfile"]["syscalls"] * int(lab.params["file_mib"]) / 1024, 1),
               "calls", "sendfile() calls for the whole file")


def paired(lab, samples: dict[str, dict[str, list[float]]]) -> None:
    """Ratios taken round by round (the methods of one round run back to back, under the
    same load), then their median: the split of a veth transfer's work between the two
    ends moves from round to round, and a ratio of medians taken apart can catch a
    round where the server was charged more of it."""
    for name, top, bottom, key, what in (
            ("mmap_vs_read_write", "mmap_write", "read_write", "cpu_ms", "server's CPU per GiB"),
            ("sendfile_vs_mmap", "sendfile", "mmap_write", "cpu_ms", "server's CPU per GiB"),
            ("sendfile_whole_vs_read_write", "sendfile", "read_write", "total_cpu_ms",
             "the whole transfer's CPU per GiB (server + client + ksoftirqd)"),
            ("zerocopy_whole_vs_mmap", "msg_zerocopy", "mmap_write", "total_cpu_ms",
             "the whole transfer's CPU per GiB (server + client + ksoftirqd)")):
        each = [a / b for a, b in zip(samples[top][key], samples[bottom][key])]
        med, note = median_note(each, "×")
        lab.figure(name, round(med, 2), "×", f"{what}, {top} / {bottom}, round by round: {note}")


LABELS = {"read_write": "read+write", "mmap_write": "mmap+write", "sendfile": "sendfile", "splice": "splice",
          "msg_zerocopy": "ZEROCOPY", "msg_zerocopy_lo": "ZEROCOPY lo"}


def charts(lab, med: dict[str, dict[str, float]]) -> None:
    def each(key: str) -> dict[str, float]:
        return {label: med[m][key] for m, label in LABELS.items()}

    lab.bars("cpu-per-gib", "CPU per GiB served, by method (veth; lo: loopback)", "CPU ms per GiB",
             {"server": each("cpu_ms"), "client": each("client_cpu_ms")})
    lab.bars("calls-per-gib", "The server's system calls and context switches per GiB", "per GiB",
             {"system calls": each("syscalls"), "context switches": each("switches")}, log="y")
    lab.bars("throughput", "Throughput, by method (shared machine: noisy)", "GiB/s", each("gib_per_s"))
