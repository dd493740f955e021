"""The warm worker process. Run as `python -I _worker.py SCRATCH_ROOT [--network] [--read-fence --read-root=PATH ...]`; standard library only.

One worker serves one request at a time from the pool over its stdin/stdout (8-byte length + pickle;
both ends are ours). It never runs untrusted code itself: for every run it forks a child that applies
the limits, enters the sandbox and executes the program, so nothing a program does (globals,
sys.modules, builtins, monkeypatches, cwd, open files, environment) survives into the next run.
The sandbox layers that never change between runs (network namespace, Landlock domain of the
worker's private scratch directory, and with --read-fence the folders it may read, no_new_privs)
are entered once by the worker itself and inherited; each child adds only its rlimits and seccomp filter. Every Python line a child runs
before the program is a cost paid on every run (copy-on-write page faults), hence the terse setup.

Child → worker reports travel over a pipe as frames: 1 tag byte (b"J" JSON header, b"B" raw bytes,
b"S"/b"E" the common start and normal-end headers packed as numbers), 4-byte length, payload. JSON,
not pickle, because the child is untrusted: a forged frame can at worst misreport its own run,
never execute code in the worker.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import gc
import importlib
import io
import json
import linecache
import os
import pickle
import resource
import select
import signal
import struct
import sys
import time
import traceback
import types

TYPE_CHECKING = False  # typing stays unimported at run time: the worker's start-up is timed
if TYPE_CHECKING:
    from typing import Any

# Modules PIE programs import most (counted over pie-dev's 2154 programs: collections, math,
# fractions, itertools, functools, re, copy, heapq, bisect, string, ...); importing them once here
# means each forked run gets them for free (the warm-worker idea of the paper). Kept short on
# purpose: every page of warm heap a child touches is a copy-on-write fault and every loaded
# library adds mappings to copy at fork. A module left out is simply imported by the program that
# needs it, inside its timed run, as in a fresh interpreter. `random` stays out on purpose: it
# reseeds itself in every forked child (os.register_at_fork), ~50 page faults per run even for
# programs that never use it; a program that imports it gets a fresh seed, as in a new interpreter.
PRELOAD = (
    "array bisect collections copy decimal fractions functools heapq itertools math operator re "
    "string time"
).split()

SAFE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONIOENCODING": "utf-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}

CHILD_REPORT_FD = 3
_PARKED: tuple[int, ...] = ()  # what the worker keeps on fds 0-3 between runs (/dev/null, its stderr)
HARNESS_FAILURE_EXIT = 97
FRAME_HEAD = struct.Struct("<cI")
CTL_HEAD = struct.Struct("<Q")

FEATURES: dict[str, bool | int] = {}
SCRATCH_ROOT = ""
ALLOW_NETWORK = False
READ_ROOTS: list[str] | None = None  # None: reads are not fenced


# ----------------------------------------------------------------------------- pool protocol
def _read_exact(fd: int, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def ctl_recv(fd: int):
    head = _read_exact(fd, CTL_HEAD.size)
    if head is None:
        return None
    body = _read_exact(fd, CTL_HEAD.unpack(head)[0])
    return None if body is None else pickle.loads(body)


def ctl_send(fd: int, obj) -> None:
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    _write_all(fd, CTL_HEAD.pack(len(body)) + body)


# ----------------------------------------------------------------------------- child frames
def frame(tag: bytes, payload: bytes) -> bytes:
    return FRAME_HEAD.pack(tag, len(payload)) + payload


def send_json(obj: dict) -> None:
    _write_all(CHILD_REPORT_FD, frame(b"J", json.dumps(obj).encode()))


def send_blob(data: bytes) -> None:
    _write_all(CHILD_REPORT_FD, frame(b"B", data))


# The two headers every run sends, packed instead of JSON-encoded: building a JSON encoder in the
# child costs more (and dirties more copy-on-write pages) than the program `print(1)` itself.
_START = struct.Struct("<d")
_END = struct.Struct("<ddq")
_NO_EXIT_CODE = -(1 << 63)
_START_HEAD = FRAME_HEAD.pack(b"S", _START.size)
_END_HEAD = FRAME_HEAD.pack(b"E", _END.size)


def send_start(t: float) -> None:
    _write_all(CHILD_REPORT_FD, _START_HEAD + _START.pack(t))


def send_end(runtime: float, cpu: float, exit_code: int | None) -> None:
    """The end of a run that finished normally or by SystemExit (no exception to describe)."""
    code = _NO_EXIT_CODE if exit_code is None else exit_code
    _write_all(CHILD_REPORT_FD, _END_HEAD + _END.pack(runtime, cpu, code))


def parse_frames(buf: bytes) -> list:
    """Headers (dicts) and blobs (bytes) in order; stops quietly at anything malformed."""
    out: list = []
    pos = 0
    while pos + FRAME_HEAD.size <= len(buf):
        tag, n = FRAME_HEAD.unpack_from(buf, pos)
        pos += FRAME_HEAD.size
        if pos + n > len(buf):
            break
        payload = buf[pos : pos + n]
        pos += n
        if tag == b"J":
            try:
                obj = json.loads(payload)
            except ValueError:
                break
            if not isinstance(obj, dict):
                break
            out.append(obj)
        elif tag == b"B":
            out.append(bytes(payload))
        elif tag == b"S" and n == _START.size:
            out.append({"event": "start", "t": _START.unpack(payload)[0]})
        elif tag == b"E" and n == _END.size:
            runtime, cpu, code = _END.unpack(payload)
            exit_code = None if code == _NO_EXIT_CODE else code
            out.append({"event": "end", "status": "ok" if not exit_code else "exit", "runtime": runtime,
                        "cpu": cpu, "exception": None, "exit_code": exit_code})
        else:
            break
    return out


# ----------------------------------------------------------------------------- sandbox layers
_libc = ctypes.CDLL(None, use_errno=True)


def unshare_network() -> bool:
    """Move the whole worker (and so every child) into an empty network namespace: loopback down,
    no interfaces, so connect() fails. Needs CAP_SYS_ADMIN or unprivileged user namespaces."""
    CLONE_NEWNET, CLONE_NEWUSER = 0x40000000, 0x10000000
    if _libc.unshare(CLONE_NEWNET) == 0:
        return True
    uid, gid = os.getuid(), os.getgid()
    if _libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        try:  # keep our own uid visible inside the namespace so file ownership looks normal
            with open("/proc/self/setgroups", "w") as f:
                f.write("deny")
            with open("/proc/self/uid_map", "w") as f:
                f.write(f"{uid} {uid} 1")
            with open("/proc/self/gid_map", "w") as f:
                f.write(f"{gid} {gid} 1")
        except OSError:
            pass
        return True
    return False


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


# syscall numbers: fork, vfork, clone, clone3, execve, execveat, ptrace, kill, tkill, tgkill
_SYSCALLS: dict[str, dict[str, int | None]] = {
    "x86_64": dict(arch=0xC000003E, fork=57, vfork=58, clone=56, clone3=435, execve=59, execveat=322,
                   ptrace=101, kill=62, tkill=200, tgkill=234),
    "aarch64": dict(arch=0xC00000B7, fork=None, vfork=None, clone=220, clone3=435, execve=221,
                    execveat=281, ptrace=117, kill=129, tkill=130, tgkill=131),
}


def _seccomp_program(pid: int) -> list[tuple[int, int, int, int]] | None:
    nr = _SYSCALLS.get(os.uname().machine)
    if nr is None:
        return None
    LD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
    ALLOW, ERRNO = 0x7FFF0000, 0x00050000
    CLONE_THREAD = 0x00010000
    prog: list = []  # (code, jt_label, jf_label, k) with labels resolved below
    def jump(code, k, jt, jf=None):
        prog.append((code, jt, jf, k))
    def label(name):
        prog.append(("label", name))
    def op(code, k):
        prog.append((code, None, None, k))

    op(LD, 4)  # seccomp_data.arch
    jump(JEQ, nr["arch"], None, "allow")
    op(LD, 0)  # seccomp_data.nr
    jump(JGE, 0x40000000, "eperm")  # x32 ABI calls
    for name in ("fork", "vfork"):
        if nr[name] is not None:
            jump(JEQ, nr[name], "eagain")
    jump(JEQ, nr["clone3"], "enosys")  # glibc falls back to clone(), which we can inspect
    for name in ("execve", "execveat", "ptrace"):
        jump(JEQ, nr[name], "eperm")
    jump(JEQ, nr["clone"], "clone")
    for name in ("kill", "tkill", "tgkill"):
        jump(JEQ, nr[name], "pid")
    op(RET, ALLOW)
    label("clone")
    op(LD, 16)  # args[0] low word: clone flags
    jump(JSET, CLONE_THREAD, "allow", "eagain")  # threads yes, new processes no
    label("pid")
    op(LD, 16)  # args[0]: target pid (or tgid)
    jump(JEQ, pid, "allow")
    jump(JEQ, 0, "allow")
    jump(JEQ, (-pid) & 0xFFFFFFFF, "allow")
    op(RET, ERRNO | errno.EPERM)
    label("allow")
    op(RET, ALLOW)
    label("eagain")
    op(RET, ERRNO | errno.EAGAIN)
    label("eperm")
    op(RET, ERRNO | errno.EPERM)
    label("enosys")
    op(RET, ERRNO | errno.ENOSYS)

    positions: dict[str, int] = {}
    real: list[tuple[int, str | None, str | None, int]] = []
    for item in prog:
        if item[0] == "label":
            positions[item[1]] = len(real)
        else:
            real.append(item)
    out = []
    for i, (code, jt, jf, k) in enumerate(real):
        t = 0 if jt is None else positions[jt] - i - 1
        f = 0 if jf is None else positions[jf] - i - 1
        out.append((code, t, f, k))
    return out


_K = struct.Struct("=I")
_prctl = _libc.prctl  # bound once here: a lookup in each child would resolve the symbol again
_PID_MARK = 0x7FFFFFF0  # placeholder for the child's pid in the prebuilt filter
_SECCOMP: tuple | None = None  # (filter bytes, prog pointer, [(offset, sign)]) built once per worker


def _prebuild_seccomp() -> tuple | None:
    """Build the filter once in the worker (ctypes array types are slow to create); each child only
    patches in its own pid."""
    insns = _seccomp_program(_PID_MARK)
    if insns is None:
        return None
    arr = (_SockFilter * len(insns))(*[_SockFilter(c, t, f, k) for c, t, f, k in insns])
    patches = []
    for i, (_, _, _, k) in enumerate(insns):
        if k == _PID_MARK:
            patches.append((i * ctypes.sizeof(_SockFilter) + _SockFilter.k.offset, 1))
        elif k == (-_PID_MARK) & 0xFFFFFFFF:
            patches.append((i * ctypes.sizeof(_SockFilter) + _SockFilter.k.offset, -1))
    # The array stays alive through the memoryview; the child patches in its pid as raw bytes and
    # passes a ready pointer, so it builds no ctypes objects of its own.
    return memoryview(arr).cast("B"), ctypes.byref(_SockFprog(len(insns), arr)), patches


def install_seccomp() -> bool:
    """Forbid new processes, exec, ptrace and signals to other processes (threads still work)."""
    global _SECCOMP
    if _SECCOMP is None:
        _SECCOMP = _prebuild_seccomp()
        if _SECCOMP is None:
            return False
    view, prog, patches = _SECCOMP
    pid = os.getpid()
    for offset, sign in patches:
        _K.pack_into(view, offset, pid if sign > 0 else (-pid) & 0xFFFFFFFF)
    PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
    if not (_NO_NEW_PRIVS or set_no_new_privs()):
        return False
    return _prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0) == 0


_NO_NEW_PRIVS = False  # set in the worker itself once; its children inherit it


def set_no_new_privs() -> bool:
    """No set-uid gains for this process and all it forks (seccomp and Landlock need it). The worker
    sets it once; its children inherit it."""
    global _NO_NEW_PRIVS
    _NO_NEW_PRIVS = _prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
    return _NO_NEW_PRIVS


# os.closerange uses close_range(2) where the kernel has it and loops up to its bound otherwise.
_NOFILE = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
_FD_LIMIT = _NOFILE if 0 < _NOFILE < (1 << 20) else 1 << 20


_libc.syscall.restype = ctypes.c_long
_SYS_LANDLOCK_CREATE_RULESET, _SYS_LANDLOCK_ADD_RULE, _SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446


def landlock_abi() -> int:
    """Landlock ABI version of this kernel (0 when unavailable)."""
    version = _libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(0, int(version))


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_READ_FILE, _READ_DIR = 1 << 2, 1 << 3


def landlock_ruleset(writable_dir: str, abi: int, network: bool = False,
                     read_roots: list[str] | None = None) -> int:
    """A ruleset fd that allows writing only inside `writable_dir` (and to /dev/null). Reading stays
    allowed everywhere when `read_roots` is None; otherwise only beneath `writable_dir`, /dev/null and
    each of `read_roots` (a directory with all below it, or one file). With ABI >= 4 it also denies
    TCP bind/connect unless `network`, with ABI >= 6 signals and abstract unix sockets to processes
    outside the sandbox. Returns -1 when it cannot be built."""
    if abi < 1:
        return -1
    file_rights = 1 << 1  # WRITE_FILE
    dir_rights = file_rights | sum(1 << b for b in range(4, 13))  # REMOVE_*, MAKE_*
    if abi >= 2:
        dir_rights |= 1 << 13  # REFER
    if abi >= 3:
        file_rights |= 1 << 14  # TRUNCATE
        dir_rights |= 1 << 14
    handled = dir_rights
    rules = [(writable_dir, dir_rights), (os.devnull, file_rights)]
    if read_roots is not None:
        handled |= _READ_FILE | _READ_DIR
        rules = [(writable_dir, dir_rights | _READ_FILE | _READ_DIR), (os.devnull, file_rights | _READ_FILE)]
        rules += [(root, _READ_FILE | (_READ_DIR if os.path.isdir(root) else 0)) for root in read_roots]
    attr = _RulesetAttr(handled, 0b11 if abi >= 4 and not network else 0, 0b11 if abi >= 6 else 0)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    ruleset = _libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return -1
    for path, rights in rules:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue  # a root that does not exist needs no rule
        rule = _PathBeneath(rights, fd)
        ok = _libc.syscall(_SYS_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0))
        os.close(fd)
        if ok != 0:
            os.close(ruleset)
            return -1
    os.set_inheritable(ruleset, False)
    return int(ruleset)


# What the interpreter, its libraries and the dynamic loader read (besides the worker's own sys.path
# and prefixes): the candidate may import any of them, or load a C extension, inside its run.
SYSTEM_READ_ROOTS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib", "/etc/ld.so.cache",
                     "/etc/localtime", "/usr/share/zoneinfo", "/dev/urandom", "/dev/zero",
                     "/sys/devices/system/cpu")


def read_roots(user_roots: list[str]) -> list[str]:
    """Everything a fenced run may read: the interpreter and its libraries, then `user_roots`."""
    prefixes = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    roots = [*prefixes, *(p for p in sys.path if p), *SYSTEM_READ_ROOTS, *user_roots]
    return [r for r in dict.fromkeys(roots) if os.path.exists(r)]


def landlock_restrict(ruleset: int) -> bool:
    set_no_new_privs()
    return _libc.syscall(_SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) == 0


# ----------------------------------------------------------------------------- one forked run
def _exc_info(exc: BaseException, filename: str, tail_lines: int = 20) -> dict:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    # Drop the harness's own frames: keep from the first frame in the user's file.
    text = "".join(lines)
    marker = f'File "{filename}"'
    head, sep, rest = text.partition(marker)
    if sep:
        text = "Traceback (most recent call last):\n  " + sep + rest
    tail = "\n".join(text.rstrip("\n").splitlines()[-tail_lines:])
    return {"type": type(exc).__name__, "message": str(exc)[:2000], "traceback": tail[-4000:]}


def _rlimits(limits: dict) -> list[tuple[int, tuple[int, int]]]:
    """The per-run limits as setrlimit arguments (built in the worker, applied in the child)."""
    mem = int(limits["memory_mb"]) * 1024 * 1024
    cap = int(limits["output_bytes"])
    cpu = int(limits["timeout_s"]) + 1
    out = [(resource.RLIMIT_AS, (mem, mem)), (resource.RLIMIT_FSIZE, (cap, cap)),
           (resource.RLIMIT_CPU, (cpu, cpu + 1))]
    if os.getuid() != 0:
        out.append((resource.RLIMIT_NPROC, (1, 1)))
    return out


def _child_setup(rlimits: list) -> None:
    """Everything the child does before the program. Kept to a few calls on purpose: each page of
    the warm heap that Python touches here is a copy-on-write fault paid on every run. The worker
    already put the run's stdin, stdout, stderr and report pipe on fds 0-3, set the child's process
    group, and (once, for good) its cwd, HOME, TMPDIR, Landlock domain and RLIMIT_CORE."""
    os.closerange(CHILD_REPORT_FD + 1, _FD_LIMIT)  # close_range(2): one system call
    for res, value in rlimits:
        try:
            resource.setrlimit(res, value)
        except (ValueError, OSError):
            pass
    if FEATURES.get("seccomp"):
        install_seccomp()
    # sys.stdin/stdout/stderr are the interpreter's own stream objects on fds 0/1/2, which now
    # are the run's memfds; the worker never reads or writes them, so their buffers are empty and
    # they behave exactly like a fresh interpreter's redirected streams (block-buffered stdout).
    # `random` reseeds itself in a forked child (os.register_at_fork), like a fresh interpreter.


_SCRATCH = ""


def _enter_scratch() -> None:
    """Make the worker's private scratch directory, move into it, and restrict the worker itself
    (so every child it forks) to writing only there. Restricting once here instead of in every
    child saves a Landlock domain per run; the worker never needs to write anywhere else."""
    global _SCRATCH
    _SCRATCH = _make_dir("w")
    os.chdir(_SCRATCH)
    os.environ.update(HOME=_SCRATCH, TMPDIR=_SCRATCH, PWD=_SCRATCH)  # a program's tempfile uses it
    FEATURES["read_fenced"] = False
    if FEATURES.get("landlock"):
        fence = READ_ROOTS if FEATURES.pop("read_fence_works", False) else None
        ruleset = landlock_ruleset(_SCRATCH, int(FEATURES["landlock"]), network=ALLOW_NETWORK,
                                   read_roots=None if fence is None else read_roots(fence))
        if ruleset < 0 or not landlock_restrict(ruleset):
            FEATURES["landlock"] = 0
        else:
            FEATURES["read_fenced"] = fence is not None
        if ruleset >= 0:
            os.close(ruleset)
    FEATURES.pop("read_fence_works", None)


def _make_dir(prefix: str) -> str:
    """A new private directory under SCRATCH_ROOT (tempfile would bring `random` into the worker)."""
    while True:
        path = os.path.join(SCRATCH_ROOT, f"{prefix}{os.getpid()}-{os.urandom(6).hex()}")
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue


def _remove_tree(root: str, keep_root: bool = False) -> None:
    """Delete a directory tree a program left (only its contents with `keep_root`), opening up
    directories it made unreadable; without recursion (a program may nest directories thousands
    deep) and without shutil (which would bring zlib, bz2 and lzma into the warm heap). Symlinks
    are removed, never followed. Leaves what it cannot delete."""
    stack = [root]
    expanded: set[str] = set()
    while stack:
        path = stack[-1]
        subdirs = []
        if path not in expanded:
            expanded.add(path)
            try:
                os.chmod(path, 0o700)
                with os.scandir(path) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False):
                            subdirs.append(entry.path)
                        else:
                            try:
                                os.unlink(entry.path)
                            except OSError:
                                pass
            except OSError:
                pass
        if subdirs:
            stack.extend(subdirs)  # come back to `path` once they are gone
            continue
        stack.pop()
        if path == root and keep_root:
            break
        try:
            os.rmdir(path)
        except OSError:
            pass


def _fresh_scratch() -> str:
    """The worker's one scratch directory, emptied before each run (cheaper than mkdtemp + rmtree,
    and every run still starts in an empty private directory). Raises ScratchDirty when something
    the last program left cannot be removed."""
    if os.listdir(_SCRATCH):
        # Empty it in place: the Landlock rule is bound to this directory's inode.
        _remove_tree(_SCRATCH, keep_root=True)
        if os.listdir(_SCRATCH):
            raise ScratchDirty(f"cannot empty the scratch directory {_SCRATCH}")
    return _SCRATCH


class ScratchDirty(RuntimeError):
    """The scratch directory could not be emptied: this worker can no longer promise a clean run."""


def _memfd(name: str, data: bytes = b"") -> int:
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    if data:
        _write_all(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
    return fd


_FROZEN_RUNS = 0


def _freeze_heap() -> None:
    """Move every object the worker made since the last run out of the collector's sight before
    forking. A child's collections (automatic ones inside the timed run, and the one at its end)
    then traverse only the program's own objects: they neither pay for the worker's heap in the
    program's time nor copy its pages by writing their GC headers. Cyclic garbage the worker makes
    is rare; reclaim it now and then."""
    global _FROZEN_RUNS
    _FROZEN_RUNS += 1
    if _FROZEN_RUNS % 2000 == 0:
        gc.unfreeze()
        gc.collect()
    gc.freeze()


def run_forked(body, stdin_data: bytes, limits: dict) -> dict:
    """Fork a child that runs `body()` under the limits; return what happened.

    Keys: status, frames (child reports), stdout (bytes), stderr_tail (str), exit_code, signal,
    t_start (child's perf_counter at the start frame), t_seen (worker's perf_counter at exit)."""
    in_fd = _memfd("stdin", stdin_data)
    out_fd = _memfd("stdout")
    err_fd = _memfd("stderr")
    r, w = os.pipe()
    rlimits = _rlimits(limits)
    _fresh_scratch()
    # The child's standard fds, placed here so the child inherits them instead of calling dup2.
    # The worker itself never uses fds 0-3 (its pool pipes live on other fds).
    for fd, target in ((in_fd, 0), (out_fd, 1), (err_fd, 2), (w, CHILD_REPORT_FD)):
        os.dup2(fd, target)
    _freeze_heap()
    pid = os.fork()
    if pid == 0:  # ---- child
        try:
            _child_setup(rlimits)
            body()
            os._exit(0)
        except BaseException:
            try:
                traceback.print_exc()
                sys.stderr.flush()
            finally:
                os._exit(HARNESS_FAILURE_EXIT)
    # ---- worker
    os.close(w)
    # Park fds 0-3 again (on /dev/null and the worker's own stderr): this drops the worker's copy of
    # the report pipe's write end (EOF on `r` then means the child is gone) and keeps the numbers
    # taken, so no other file the worker opens can land on them.
    for target, fd in enumerate(_PARKED):
        os.dup2(fd, target)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    pidfd = os.pidfd_open(pid)
    deadline = time.monotonic() + float(limits["timeout_s"])
    buf = bytearray()
    reading = [r, pidfd]
    timed_out = False
    t_seen = None
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            ready, _, _ = select.select(reading, [], [], remaining)
            if pidfd in ready:
                t_seen = time.perf_counter()
                break
            if r in ready:
                chunk = os.read(r, 1 << 20)
                if chunk:
                    buf += chunk
                else:
                    reading.remove(r)
    finally:
        try:
            os.killpg(pid, signal.SIGKILL)  # the child on timeout; stray grandchildren always
        except OSError:
            pass
        _, wstatus = os.waitpid(pid, 0)
        os.close(pidfd)
    if t_seen is None:
        t_seen = time.perf_counter()
    os.set_blocking(r, False)
    try:
        while True:
            chunk = os.read(r, 1 << 20)
            if not chunk:
                break
            buf += chunk
    except BlockingIOError:
        pass
    os.close(r)
    out_size = os.fstat(out_fd).st_size
    stdout = os.pread(out_fd, min(out_size, int(limits["output_bytes"])), 0)
    err_size = os.fstat(err_fd).st_size
    keep = int(limits["stderr_bytes"])
    stderr_tail = os.pread(err_fd, min(err_size, keep), max(0, err_size - keep)).decode("utf-8", "replace")
    for fd in (in_fd, out_fd, err_fd):
        os.close(fd)

    frames = parse_frames(bytes(buf))
    headers = [f for f in frames if isinstance(f, dict)]
    start = next((h for h in headers if h.get("event") == "start"), None)
    end = next((h for h in headers if h.get("event") == "end"), None)
    exit_code = os.waitstatus_to_exitcode(wstatus)
    sig = -exit_code if exit_code < 0 else None
    result: dict[str, Any] = {
        "frames": frames,
        "stdout": stdout,
        "stderr_tail": stderr_tail,
        "exit_code": exit_code if exit_code >= 0 else None,
        "signal": signal.Signals(sig).name if sig else None,
        "t_start": start.get("t") if start else None,
        "t_seen": t_seen,
        "exception": None,
        "runtime": None,
        "cpu": None,
    }
    if timed_out:
        result["status"] = "timeout"
    elif out_size >= int(limits["output_bytes"]):
        result["status"] = "output_limit"
    elif end is not None:
        result["status"] = end.get("status", "exception")
        result["runtime"] = end.get("runtime")
        result["cpu"] = end.get("cpu")
        result["exception"] = end.get("exception")
        if end.get("exit_code") is not None:
            result["exit_code"] = end.get("exit_code")
    elif sig is not None:
        by_signal: dict[int, str] = {signal.SIGXCPU: "timeout", signal.SIGXFSZ: "output_limit"}
        result["status"] = by_signal.get(sig, "killed")
    elif exit_code == HARNESS_FAILURE_EXIT and start is None:
        result["status"] = "killed"
        result["exception"] = {"type": "HarnessError", "message": "sandbox setup failed", "traceback": stderr_tail}
    else:
        # The program left through os._exit(): time it from its own start to the moment it was seen
        # exiting (slightly long, by the exit itself).
        result["status"] = "ok" if exit_code == 0 else "exit"
        if result["t_start"] is not None:
            result["runtime"] = max(0.0, t_seen - float(result["t_start"]))
            result["cpu"] = result["runtime"]  # no report from the child: wall time is all we have
    return result


# ----------------------------------------------------------------------------- program mode
def _exit_code_of(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1


_MEMORY_FRAME = frame(b"J", json.dumps({"event": "end", "status": "memory",
                                        "exception": {"type": "MemoryError", "message": "memory limit exceeded",
                                                      "traceback": ""}}).encode())


def _program_body(code: types.CodeType, filename: str):
    main_file = os.path.join(_SCRATCH, os.path.basename(filename))

    def body() -> None:
        module = types.ModuleType("__main__")
        module.__file__ = main_file
        module.__builtins__ = __builtins__  # type: ignore[attr-defined]  # a module's builtins, set by hand
        sys.modules["__main__"] = module
        sys.argv = [main_file]
        namespace = module.__dict__
        exc_info = None
        exit_code = None
        failure = "exception"
        _prefault()
        send_start(time.perf_counter())
        c0 = time.thread_time()
        t0 = time.perf_counter()
        try:
            try:
                exec(code, namespace)
            finally:
                _flush(sys.stdout)  # printing is part of the program's cost: timed
        except SystemExit as exc:
            exit_code = _exit_code_of(exc)
        except MemoryError:
            namespace.clear()
            gc.collect()
            _write_all(CHILD_REPORT_FD, _MEMORY_FRAME)
            return
        except BaseException as exc:
            exc_info = _exc_info(exc, filename)
            if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
                failure = "output_limit"
        t1 = time.perf_counter()
        c1 = time.thread_time()
        # What interpreter shutdown would do, untimed: free the program's objects (file objects
        # it left open, e.g. open(1, "w"), flush as they go) and flush every standard stream.
        try:
            namespace.clear()
            gc.collect()
        except BaseException:
            pass
        for stream in (sys.stdout, sys.__stdout__, sys.stderr, sys.__stderr__):
            try:
                _flush(stream)
            except BaseException:
                pass
        if exc_info is None:
            send_end(t1 - t0, c1 - c0, exit_code)
        else:
            send_json({"event": "end", "status": failure, "runtime": t1 - t0, "cpu": c1 - c0,
                       "exception": exc_info, "exit_code": None})
    return body


# Names nearly every PIE program uses: loading them writes their refcounts, i.e. copies their pages.
_NOOP = compile(
    "abs; all; any; dict; enumerate; float; input; int; len; list; map; max; min; print; range; "
    "reversed; set; sorted; str; sum; tuple; zip; open",
    "<warm-up>", "exec",
)


def _prefault() -> None:
    """Touch, untimed, the copy-on-write pages every run writes first (the eval loop's frame stack,
    the stream objects, the clocks): otherwise each run pays those page copies inside its timing,
    a bias of ~0.1 ms on a loaded machine."""
    exec(_NOOP, {"__builtins__": __builtins__})
    _flush(sys.stdout)
    _ = sys.stdin.buffer
    time.perf_counter()
    time.thread_time()


def _flush(stream) -> None:
    """Flush a stream the program may have replaced or closed (both are legal at exit)."""
    if stream is not None and not getattr(stream, "closed", False):
        flush = getattr(stream, "flush", None)
        if callable(flush):
            flush()


def handle_program(req: dict) -> dict:
    limits = req["limits"]
    filename = req.get("filename") or "main.py"
    source = req["code"]
    try:
        code = compile(source, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError) as exc:
        return {"syntax_error": _exc_info(exc, filename)}
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    body = _program_body(code, filename)
    tests = []
    failed = False
    for data in req["inputs"]:
        if failed and req.get("stop_on_failure"):
            tests.append({"runs": [], "skipped": True})
            continue
        runs: list[dict] = []
        for _ in range(int(req["runs"])):
            res = run_forked(body, data, limits)
            res.pop("frames", None)
            if runs:  # only the first run's output travels back; later ones are compared here
                res["stdout_same"] = res["stdout"] == runs[0]["stdout"]
                res["stdout"] = b""
            runs.append(res)
            if res["status"] != "ok":
                failed = True
                break
        tests.append({"runs": runs, "skipped": False})
    return {"tests": tests}


# ----------------------------------------------------------------------------- function mode
class _ChildUnpickler(pickle.Unpickler):
    """Resolve classes pickled from the caller's copy of the module to the module imported here."""

    def __init__(self, data: bytes, module: types.ModuleType, aliases: set[str]):
        super().__init__(io.BytesIO(data))
        self._module = module
        self._aliases = aliases

    def find_class(self, module_name: str, name: str):
        if module_name in self._aliases:
            obj = self._module
            for part in name.split("."):
                obj = getattr(obj, part)
            return obj
        return super().find_class(module_name, name)


def _safe_repr(value, limit: int = 2000) -> str:
    try:
        text = repr(value)
    except BaseException as exc:  # a broken __repr__ is the program's problem, not ours
        text = f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    return text[:limit]


def _function_body(req: dict):
    source = req["source"]
    filename = req.get("filename") or "<module>"
    module_name = req.get("module_name") or "fasterpy_target"
    qualname = req["qualname"]
    calls = req["calls"]
    stdout_cap = int(req["limits"]["output_bytes"])

    def body() -> None:
        module = types.ModuleType(module_name)
        module.__file__ = filename
        module.__builtins__ = __builtins__  # type: ignore[attr-defined]  # a module's builtins, set by hand
        sys.modules[module_name] = module
        for extra in req.get("sys_path") or ():
            sys.path.insert(0, extra)
        send_start(time.perf_counter())
        try:
            code = compile(source, filename, "exec", dont_inherit=True)
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            real_stdout = sys.stdout
            sys.stdout = io.StringIO()
            try:
                exec(code, module.__dict__)
            finally:
                sys.stdout = real_stdout
            target: Any = module
            for part in qualname.split("."):
                target = getattr(target, part)
        except BaseException as exc:
            send_json({"event": "end", "status": "import_error", "exception": _exc_info(exc, filename)})
            return
        aliases = {module_name, "__main__", *(req.get("module_aliases") or ())}
        for i, blob in enumerate(calls):
            args, kwargs = _ChildUnpickler(blob, module, aliases).load()
            captured = io.StringIO()
            real_stdout = sys.stdout
            sys.stdout = captured
            exc_info = None
            result = None
            c0 = time.thread_time()
            t0 = time.perf_counter()
            try:
                result = target(*args, **kwargs)
            except BaseException as exc:  # SystemExit and KeyboardInterrupt are results here too
                t1 = time.perf_counter()
                c1 = time.thread_time()
                exc_info = _exc_info(exc, filename)
            else:
                t1 = time.perf_counter()
                c1 = time.thread_time()
            finally:
                sys.stdout = real_stdout
            result_blob, result_error = b"", None
            if exc_info is None:
                try:
                    result_blob = pickle.dumps(result, protocol=4)
                except BaseException as exc:
                    result_error = f"{type(exc).__name__}: {exc}"
            try:
                args_blob, args_error = pickle.dumps((args, kwargs), protocol=4), None
            except BaseException as exc:
                args_blob, args_error = b"", f"{type(exc).__name__}: {exc}"
            send_json({
                "event": "call", "index": i, "runtime": t1 - t0, "cpu": c1 - c0, "exception": exc_info,
                "stdout": captured.getvalue()[:stdout_cap], "result_error": result_error,
                "args_error": args_error, "result_repr": _safe_repr(result) if exc_info is None else None,
                "result_type": type(result).__name__ if exc_info is None else None,
            })
            send_blob(result_blob)
            send_blob(args_blob)
        send_json({"event": "end", "status": "ok", "runtime": None})
    return body


# Standard-library modules never imported into the worker on a module's behalf: they act on import
# (open a browser, print, need a display) or are tools rather than libraries.
_NEVER_PRELOAD = frozenset({"antigravity", "this", "__hello__", "__phello__", "idlelib", "tkinter", "turtle",
                            "turtledemo", "ensurepip", "venv", "pydoc", "pdb", "lib2to3", "test"})


def _stdlib_imports(source: str) -> list[str]:
    """Top-level packages of the standard library that `source` imports at module level."""
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    names = []
    todo = list(tree.body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, ast.Import):
            names += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.append(node.module.split(".")[0])
        elif isinstance(node, (ast.If, ast.Try)):  # `if TYPE_CHECKING:`, `try: import x except ...`
            todo += node.body + getattr(node, "orelse", []) + getattr(node, "finalbody", [])
            todo += [stmt for handler in getattr(node, "handlers", []) for stmt in handler.body]
    return [n for n in dict.fromkeys(names)
            if n in sys.stdlib_module_names and n not in _NEVER_PRELOAD and n not in sys.modules]


_PRELOADED_FOR: set[int] = set()  # hash() of the sources already seen (a collision only skips a warm-up)


def _preload_for(source: str) -> None:
    """Import, once and into the worker, the standard-library modules a target module needs. In
    function mode the module is imported afresh in every forked run (untimed, but paid each time):
    `typing` and `dataclasses` alone cost ~10 ms a run. Only trusted standard-library code runs here,
    never the module itself; the calls are timed after its import either way. The verifier sends the
    same source many times: it is parsed once (hashlib is not used: it would add MiBs to the warm
    heap every fork copies)."""
    key = hash(source)
    if key in _PRELOADED_FOR:
        return
    _PRELOADED_FOR.add(key)
    for name in _stdlib_imports(source):
        try:
            importlib.import_module(name)
        except Exception:  # e.g. a module this platform lacks; the child will report it
            pass


def handle_function(req: dict) -> dict:
    _preload_for(req["source"])
    body = _function_body(req)
    repeats = []
    for _ in range(int(req.get("repeats", 1))):
        res = run_forked(body, b"", req["limits"])
        repeats.append(res)
        if res["status"] != "ok":
            break
    return {"repeats": repeats}


# ----------------------------------------------------------------------------- main loop
def main() -> None:
    global SCRATCH_ROOT, _SECCOMP, ALLOW_NETWORK, READ_ROOTS
    SCRATCH_ROOT = sys.argv[1]
    ALLOW_NETWORK = allow_network = "--network" in sys.argv[2:]
    if "--read-fence" in sys.argv[2:]:
        READ_ROOTS = [a.split("=", 1)[1] for a in sys.argv[2:] if a.startswith("--read-root=")]
    # Keep the pool's pipes on high fds and park fds 0, 1 and 3 on /dev/null: nothing we import can
    # write into the protocol, and fds 0-3 stay free for each run's streams (see run_forked).
    global _PARKED
    ctl_in = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 10)
    ctl_out = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 10)
    null = os.open(os.devnull, os.O_RDWR)
    null_high = fcntl.fcntl(null, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(null)
    _PARKED = (null_high, null_high, fcntl.fcntl(2, fcntl.F_DUPFD_CLOEXEC, 10), null_high)
    for target, fd in enumerate(_PARKED):
        os.dup2(fd, target)

    os.environ.clear()
    os.environ.update(SAFE_ENV)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # for the worker and every child it forks
    FEATURES["network_isolated"] = False if allow_network else unshare_network()
    _SECCOMP = _prebuild_seccomp()
    FEATURES["seccomp"] = _probe_seccomp()
    FEATURES["nproc_limit"] = os.getuid() != 0
    FEATURES["landlock"], FEATURES["read_fence_works"] = _probe_landlock()
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    for name in sys.argv[2:]:
        if name.startswith("--preload="):
            for mod in name.split("=", 1)[1].split(","):
                try:
                    importlib.import_module(mod)
                except Exception:
                    pass
    set_no_new_privs()
    _enter_scratch()
    gc.collect()
    gc.freeze()  # forked children then do not touch (copy) the warm heap when they collect
    ctl_send(ctl_out, {"hello": True, "pid": os.getpid(), "features": dict(FEATURES)})
    while True:
        req = ctl_recv(ctl_in)
        if req is None:
            return
        try:
            kind = req.get("kind")
            if kind == "program":
                resp = handle_program(req)
            elif kind == "function":
                resp = handle_function(req)
            elif kind == "ping":
                resp = {"pong": True, "pid": os.getpid()}
            else:
                resp = {"error": f"unknown request kind {kind!r}"}
        except ScratchDirty:
            return  # the pool sees this worker die, starts a fresh one and retries the request
        except BaseException:
            resp = {"error": traceback.format_exc()}
        ctl_send(ctl_out, resp)


def _probe_landlock() -> tuple[int, bool]:
    """(the Landlock ABI when a throwaway child, restricted to a temp dir, can write there and
    nowhere else, else 0; whether that child could also read there and nowhere else)."""
    abi = landlock_abi()
    if abi < 1:
        return 0, False
    inside = _make_dir("probe-")
    outside = _make_dir("probe-out-")
    secret = os.path.join(outside, "secret")
    open(secret, "w").close()
    ruleset = landlock_ruleset(inside, abi, read_roots=[])
    if ruleset < 0:
        return 0, False
    pid = os.fork()
    if pid == 0:
        try:
            if not landlock_restrict(ruleset):
                os._exit(2)
            open(os.path.join(inside, "ok"), "w").close()
            open(os.path.join(inside, "ok")).close()
            try:
                open(os.path.join(outside, "no"), "w").close()
                os._exit(3)
            except PermissionError:
                pass
            try:
                open(secret).close()
                os._exit(5)  # writes are fenced, reads are not
            except PermissionError:
                os._exit(0)
        except BaseException:
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    os.close(ruleset)
    _remove_tree(inside)
    _remove_tree(outside)
    code = os.waitstatus_to_exitcode(status)
    return (abi if code in (0, 5) else 0), code == 0


def _probe_seccomp() -> bool:
    """Check once, in a throwaway child, that the filter installs and blocks fork."""
    pid = os.fork()
    if pid == 0:
        try:
            if not install_seccomp():
                os._exit(2)
            try:
                child = os.fork()
            except OSError:
                os._exit(0)
            if child == 0:
                os._exit(0)
            os._exit(3)
        except BaseException:
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


if __name__ == "__main__":
    main()
