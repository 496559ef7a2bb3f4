# SPDX-License-Identifier: Apache-2.0
"""darkdaqd -c on each mutation of a valid configuration kept in
tests/config-mutations/: every one exits 2 with FILE:LINE: and the words
its first line ("# expect LINE: WORDS") names, before anything is started."""
import os
import subprocess

import pytest

from conftest import program

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "config-mutations")
MUTATIONS = sorted(f for f in os.listdir(HERE) if f.endswith(".ini") and f != "base.ini")


def expectation(path):
    with open(path, "rb") as f:
        first = f.readline().decode("ascii").rstrip("\n")
    assert first.startswith("# expect "), first
    line, words = first[len("# expect "):].split(": ", 1)
    return int(line), words


@pytest.mark.parametrize("name", MUTATIONS)
def test_mutation_is_refused_naming_file_line_and_key(name):
    path = os.path.join(HERE, name)
    line, words = expectation(path)
    p = subprocess.run([program("darkdaqd"), "-c", path], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2, (name, p.returncode, p.stderr)
    assert "%s:%d: %s" % (path, line, words) in p.stderr, (name, p.stderr)


def test_there_are_mutations_and_a_valid_base():
    assert len(MUTATIONS) >= 12
    with open(os.path.join(HERE, "base.ini")) as f:
        assert "[source." in f.read()
