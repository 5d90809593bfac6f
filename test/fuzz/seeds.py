#!/usr/bin/env python3
"""Write the seed corpus of the FUSE fuzz target (test/fuzz/fuzz_fuse.c).

    seeds.py DIR

Each seed is what a well-behaved server would answer to the target's round
of operations, in the order the client asks (FUZZ_FUSE_TRACE=1 shows it):
a valid FUSE_INIT first, so that the fuzzer starts past negotiation, then
the entries, attributes, directory listings and notifications that reach
the client's parsers.  The structs are <linux/fuse.h>'s, packed by hand.

A chunk: flags (u8), error or notification code (u8), payload length (u16
little endian), payload.  flags bit 0 marks a notification.
"""
import os
import struct
import sys

S_IFDIR, S_IFREG, S_IFLNK = 0o040000, 0o100000, 0o120000
DT_DIR, DT_REG, DT_LNK = 4, 8, 10
ENOENT, EINVAL, ENOSYS, ENODATA = 2, 22, 38, 61

# FUSE_INIT flags (the ones the client asks for, <linux/fuse.h>).
ASYNC_READ, ATOMIC_O_TRUNC, BIG_WRITES = 1 << 0, 1 << 3, 1 << 5
DO_READDIRPLUS, READDIRPLUS_AUTO, PARALLEL_DIROPS = 1 << 13, 1 << 14, 1 << 18
MAX_PAGES = 1 << 22

NOTIFY_POLL, NOTIFY_INVAL_INODE, NOTIFY_INVAL_ENTRY = 1, 2, 3
NOTIFY_STORE, NOTIFY_RETRIEVE, NOTIFY_DELETE = 4, 5, 6


def chunk(payload=b"", error=0, flags=0):
    return struct.pack("<BBH", flags, error, len(payload)) + payload


def notify(code, payload):
    return chunk(payload, code, flags=1)


def init(minor=31, flags=ASYNC_READ | ATOMIC_O_TRUNC | BIG_WRITES | MAX_PAGES |
         DO_READDIRPLUS | READDIRPLUS_AUTO | PARALLEL_DIROPS,
         max_write=65536, max_pages=32):
    # major minor max_readahead flags max_background congestion_threshold
    # max_write time_gran max_pages map_alignment flags2 unused[7]
    return chunk(struct.pack("<IIIIHHIIHHI28x", 7, minor, 131072, flags, 16, 12,
                             max_write, 1, max_pages, 0, 0))


def attr(ino, mode, size=0, nlink=1):
    # ino size blocks atime mtime ctime (u64), the nsecs, mode nlink uid gid
    # rdev blksize flags (u32)
    return struct.pack("<QQQQQQIIIIIIIIII", ino, size, (size + 511) // 512,
                       1700000000, 1700000000, 1700000000, 0, 0, 0,
                       mode, nlink, 0, 0, 0, 4096, 0)


def entry_body(node, mode, size=0, valid=1):
    return struct.pack("<QQQQII", node, 1, valid, valid, 0, 0) + attr(node, mode, size)


def entry(node, mode, size=0, valid=1):
    return chunk(entry_body(node, mode, size, valid))


def attr_out(node, mode, size=0):
    return chunk(struct.pack("<QII", 1, 0, 0) + attr(node, mode, size))


def open_out(fh, open_flags=0):
    return chunk(struct.pack("<QII", fh, open_flags, 0))


def dirent_body(ino, off, name, typ):
    name = name.encode()
    rec = struct.pack("<QQII", ino, off, len(name), typ) + name
    return rec + b"\0" * (-len(rec) % 8)


def dirents(names):
    return chunk(b"".join(dirent_body(ino, i + 1, n, t)
                          for i, (ino, n, t) in enumerate(names)))


def direntplus(names):
    body = b""
    for i, (ino, n, t, mode) in enumerate(names):
        body += entry_body(ino, mode) + dirent_body(ino, i + 1, n, t)
    return chunk(body)


def statfs():
    return chunk(struct.pack("<QQQQQIIII24x", 1000, 500, 500, 100, 50, 4096, 255,
                             4096, 0))


def xattr_size(n):
    return chunk(struct.pack("<II", n, 0))


def empty():
    return chunk()


def err(e):
    return chunk(error=e)


def listing_plus():
    return direntplus([(1, ".", DT_DIR, S_IFDIR | 0o755), (1, "..", DT_DIR, S_IFDIR | 0o755),
                       (2, "a", DT_REG, S_IFREG | 0o644), (3, "l", DT_LNK, S_IFLNK | 0o777),
                       (4, "sub", DT_DIR, S_IFDIR | 0o755)])


def listing(reply):
    """The root listed: OPENDIR, the entries, the empty end, RELEASEDIR."""
    return open_out(2) + reply + empty() + empty()


def tail():
    """After the listing: getattr of the root, statfs, create c (and the
    RELEASE of its handle), mkdir d, symlink e, lookup b."""
    return (attr_out(1, S_IFDIR | 0o755) + statfs() +
            chunk(entry_body(5, S_IFREG | 0o644) + struct.pack("<QII", 7, 0, 0)) +
            empty() + entry(6, S_IFDIR | 0o755) + entry(7, S_IFLNK | 0o777) + err(ENOENT))


SEEDS = {
    # A regular file: lookup, readlink (EINVAL), open, read, release,
    # xattrs, then the listing and the rest.
    "file": init() + entry(2, S_IFREG | 0o644, 11) + err(EINVAL) + open_out(1) +
            chunk(b"hello world") + empty() + chunk(b"v") + chunk(b"user.x\0user.y\0") +
            listing(listing_plus()) + tail(),
    # The same with the xattrs answered by size and a plain READDIR.
    "file-plain": init(flags=ASYNC_READ | BIG_WRITES) + entry(2, S_IFREG | 0o644, 4) +
                  err(EINVAL) + open_out(1) + chunk(b"data") + empty() + xattr_size(1) +
                  xattr_size(14) +
                  listing(dirents([(1, ".", DT_DIR), (1, "..", DT_DIR), (2, "a", DT_REG)])) +
                  tail(),
    # A symlink: lookup, readlink.
    "symlink": init() + entry(2, S_IFLNK | 0o777) + chunk(b"../target") +
               err(ENODATA) + err(ENOSYS) + listing(listing_plus()) + tail(),
    # A directory, and every notification before the rest.
    "notify": init() + entry(2, S_IFDIR | 0o755) +
              notify(NOTIFY_INVAL_INODE, struct.pack("<Qqq", 2, 0, -1)) +
              notify(NOTIFY_INVAL_ENTRY, struct.pack("<QII", 1, 1, 0) + b"a\0") +
              notify(NOTIFY_DELETE, struct.pack("<QQII", 1, 2, 1, 0) + b"a\0") +
              notify(NOTIFY_STORE, struct.pack("<QQII", 2, 0, 4, 0) + b"abcd") +
              notify(NOTIFY_RETRIEVE, struct.pack("<QQQII", 9, 2, 0, 4096, 0)) +
              notify(NOTIFY_POLL, struct.pack("<Q", 1)) +
              err(EINVAL) + err(ENODATA) + err(ENOSYS) + listing(listing_plus()) + tail(),
    # An old server: protocol 7.22, no max_pages, direct I/O.
    "old-minor": init(minor=22, flags=ASYNC_READ, max_write=4096, max_pages=0) +
                 entry(2, S_IFREG | 0o600, 0) + err(EINVAL) + open_out(3, 1) + chunk(b"") +
                 empty() + err(ENOSYS) + listing(dirents([(2, "a", DT_REG)])) +
                 tail(),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, "seed-" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
