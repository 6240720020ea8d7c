"""Inputs for workloads run on stock binaries (xz in the unwind tests and the benchmark):
real machine code, so compressing it keeps xz busy in its own, frame-pointer-less code."""
import os

LIBDIR = "/usr/lib/x86_64-linux-gnu"


def write_library_bytes(path, limit):
    """Writes up to limit bytes (at least 8 MiB more than reached) of the host's shared
    libraries to path, 8 MiB per library at most, in name order."""
    with open(path, "wb") as f:
        for name in sorted(os.listdir(LIBDIR)):
            lib = os.path.join(LIBDIR, name)
            if f.tell() >= limit:
                break
            if ".so" in name and os.path.isfile(lib) and not os.path.islink(lib):
                with open(lib, "rb") as g:
                    f.write(g.read(8 << 20))
