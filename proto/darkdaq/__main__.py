# SPDX-License-Identifier: Apache-2.0
"""python -m darkdaq: the package's command line.

    python -m darkdaq count RUN...             events per tag
    python -m darkdaq export --hdf5 RUN... OUT.h5

RUN is a run file or a directory of them, read as one run in order.  The
HDF5 file holds one group per table of darkdaq.tables() ("events", the
repeated quantities) with one dataset per column, so h5py or h5dump read a
column alone.  Exit status: 0, 1 bad input (the message names it), 2 usage.
"""

import sys

import darkdaq

USAGE = ("usage: python -m darkdaq count RUN...\n"
         "       python -m darkdaq export --hdf5 RUN... OUT.h5\n"
         "RUN: a run file or a directory of run files, read as one run in order.\n")


def _count(paths):
    status = 0
    total = {name: 0 for name in darkdaq.TAGS}
    n_events = 0
    for path in darkdaq.run_files(paths):
        run = darkdaq.RunFile(path, strict=False)
        counts, events = darkdaq.tag_counts(run)
        if not run.complete:
            why = run.stop_reason or "no run trailer"
            print(f"darkdaq: {path}: incomplete at byte {run.stop_offset}: {why}",
                  file=sys.stderr)
        n_events += events
        for k, v in counts.items():
            total[k] += v
    print(f"{n_events} events")
    for name, n in total.items():
        print(f"{name:20s} {n}")
    return status


def export_hdf5(paths, out):
    """Writes every table of the run at paths into the HDF5 file out."""
    import h5py
    tabs = darkdaq.tables(paths)
    with h5py.File(out, "w") as f:
        f.attrs["darkdaq_columns_version"] = 1
        for name, arr in tabs.items():
            g = f.create_group(name)
            for col in arr.dtype.names:
                g.create_dataset(col, data=arr[col])
    return tabs


def main(argv):
    if len(argv) >= 1 and argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    try:
        if len(argv) >= 2 and argv[0] == "count":
            return _count(argv[1:])
        if len(argv) >= 4 and argv[0] == "export" and argv[1] == "--hdf5":
            export_hdf5(argv[2:-1], argv[-1])
            return 0
    except (darkdaq.DarkdaqError, OSError) as e:
        print(f"darkdaq: {e}", file=sys.stderr)
        return 1
    sys.stderr.write(USAGE)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
