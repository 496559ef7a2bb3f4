# SPDX-License-Identifier: Apache-2.0
"""The fault seam (tests/preload/faultfs.c): write, fsync, close and rename
fail on command inside a real process, as a disk that fills or breaks
would, so that each error path of the store can have a test.  Checked here
on a Python child, whose os.write/os.fsync/os.close/os.rename are libc's."""
import os
import subprocess
import sys
import textwrap

from conftest import BUILD

LIB = str(BUILD / "tests" / "preload" / "libfaultfs.so")

CHILD = textwrap.dedent("""
    import errno, os, sys
    d = sys.argv[1]
    out = []
    def attempt(what, f):
        try:
            f()
            out.append(what + " ok")
        except OSError as e:
            out.append(what + " " + errno.errorcode[e.errno])
    fd = os.open(os.path.join(d, "run-1.part"), os.O_WRONLY | os.O_CREAT, 0o644)
    other = os.open(os.path.join(d, "other"), os.O_WRONLY | os.O_CREAT, 0o644)
    for i in range(3):
        attempt("write%d" % i, lambda: os.write(fd, b"x" * 10))
        attempt("other%d" % i, lambda: os.write(other, b"y"))
    for i in range(3):
        attempt("fsync%d" % i, lambda: os.fsync(fd))
    attempt("rename", lambda: os.rename(os.path.join(d, "run-1.part"), os.path.join(d, "run-1.dkr")))
    attempt("rename2", lambda: os.rename(os.path.join(d, "run-1.part"), os.path.join(d, "run-1.dkr")))
    attempt("close", lambda: os.close(fd))
    attempt("close-again", lambda: os.close(fd))   # the first close closed it all the same
    os.close(other)
    print(" ".join(out))
""")


def run_child(tmp_path, faults, arm=None):
    env = dict(os.environ, LD_PRELOAD=LIB, DARKDAQ_FAULTS=faults,
               DARKDAQ_FAULTS_LOG=str(tmp_path / "faults.log"))
    if arm:
        env["DARKDAQ_FAULTS_ARM"] = str(arm)
    p = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


def outcome(words, what):
    return words[words.index(what) + 1]


def test_each_operation_fails_once_on_the_call_named(tmp_path):
    w = run_child(tmp_path, "write:ENOSPC:2:.part,fsync:EIO:3:.part,rename:EROFS:1:.part,"
                            "close:ENOSPC:1:run-1")
    assert [outcome(w, "write%d" % i) for i in range(3)] == ["ok", "ENOSPC", "ok"]
    assert [outcome(w, "other%d" % i) for i in range(3)] == ["ok", "ok", "ok"]
    assert [outcome(w, "fsync%d" % i) for i in range(3)] == ["ok", "ok", "EIO"]
    assert outcome(w, "rename") == "EROFS" and outcome(w, "rename2") == "ok"
    assert outcome(w, "close") == "ENOSPC" and outcome(w, "close-again") == "EBADF"
    assert (tmp_path / "run-1.dkr").stat().st_size == 20      # the failed write wrote nothing
    log = (tmp_path / "faults.log").read_text().splitlines()
    assert [line.split()[0] for line in log] == ["write", "fsync", "rename", "close"]
    assert all("run-1" in line for line in log)


def test_nothing_fails_before_the_fault_is_armed(tmp_path):
    arm = tmp_path / "armed"
    w = run_child(tmp_path, "write:EIO:1:.part", arm=arm)
    assert outcome(w, "write0") == "ok" and not (tmp_path / "faults.log").exists()
    (tmp_path / "run-1.part").unlink(missing_ok=True)
    (tmp_path / "run-1.dkr").unlink()
    arm.write_text("")
    w = run_child(tmp_path, "write:EIO:1:.part", arm=arm)
    assert outcome(w, "write0") == "EIO" and outcome(w, "write1") == "ok"


AT_CHILD = textwrap.dedent("""
    import errno, os, sys
    d = sys.argv[1]
    out = []
    def attempt(what, f):
        try:
            f()
            out.append(what + " ok")
        except OSError as e:
            out.append(what + " " + errno.errorcode[e.errno])
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    for name in ("run-2.part", "run-2.part.seq"):
        fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, b"x" * 100)
        attempt("ftruncate " + name, lambda: os.ftruncate(fd, 10))
        os.close(fd)
    attempt("rn-seq", lambda: os.rename("run-2.part.seq", "run-2.seq", src_dir_fd=dfd,
                                              dst_dir_fd=dfd))
    attempt("rn1", lambda: os.rename("run-2.part", "run-2.dkr", src_dir_fd=dfd,
                                          dst_dir_fd=dfd))
    attempt("rn2", lambda: os.rename("run-2.part", "run-2.dkr", src_dir_fd=dfd,
                                           dst_dir_fd=dfd))
    print(" ".join(out))
""")


def test_renameat_and_ftruncate_fail_and_a_dollar_matches_the_end_only(tmp_path):
    env = dict(os.environ, LD_PRELOAD=LIB, DARKDAQ_FAULTS="ftruncate:EIO:1:.part$,"
               "rename:EROFS:1:run-2.part$", DARKDAQ_FAULTS_LOG=str(tmp_path / "faults.log"))
    p = subprocess.run([sys.executable, "-c", AT_CHILD, str(tmp_path)], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    w = p.stdout.split()
    # .part.seq does not end with .part: neither rule touches it
    assert outcome(w, "run-2.part") == "EIO" and outcome(w, "run-2.part.seq") == "ok"
    assert outcome(w, "rn-seq") == "ok"
    # the failed ftruncate did nothing; the renameat relative to a directory
    # descriptor is matched on the whole path, and fails once
    assert outcome(w, "rn1") == "EROFS" and outcome(w, "rn2") == "ok"
    assert (tmp_path / "run-2.dkr").stat().st_size == 100
    assert (tmp_path / "run-2.seq").stat().st_size == 10
    log = (tmp_path / "faults.log").read_text().splitlines()
    assert [line.split()[0] for line in log] == ["ftruncate", "rename"]
    assert log[1].endswith(str(tmp_path / "run-2.part"))
