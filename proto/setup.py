# SPDX-License-Identifier: Apache-2.0
"""The darkdaq package's C extension (darkdaq._fast: frames, CRC-32C and
event columns in C); everything else is in pyproject.toml."""
from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "darkdaq._fast",
    sources=["darkdaq/_fast.c", "darkdaq/columns.c"],
    depends=["darkdaq/columns.h"],
    extra_compile_args=["-std=gnu11", "-O2", "-ffp-contract=off"],
)])
