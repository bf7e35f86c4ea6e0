#!/usr/bin/env python3
"""bulk.py: a bulk TCP transfer through a tunnel, compared by hash.

  bulk.py sink ADDRESS PORT        accept one connection, read to EOF, print
                                   "bytes=N sha256=H seconds=S gbps=G"
  bulk.py source ADDRESS PORT FILE send FILE, then close

The sink times from its first byte to EOF, so connection setup and the
sender's start-up are not in the rate."""
import hashlib
import socket
import sys
import time


def sink(address: str, port: int) -> int:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((address, port))
        listener.listen(1)
        listener.settimeout(60)
        print("listening", flush=True)
        conn, _ = listener.accept()
        conn.settimeout(60)
        digest = hashlib.sha256()
        total = 0
        start = None
        with conn:
            while data := conn.recv(1 << 20):
                if start is None:
                    start = time.monotonic()
                digest.update(data)
                total += len(data)
        seconds = time.monotonic() - start if start is not None else 0.0
        gbps = total * 8 / seconds / 1e9 if seconds > 0 else 0.0
        print(f"bytes={total} sha256={digest.hexdigest()} seconds={seconds:.3f} gbps={gbps:.3f}")
    return 0


def source(address: str, port: int, path: str) -> int:
    deadline = time.monotonic() + 10
    while True:  # the sink may still be starting
        try:
            conn = socket.create_connection((address, port), timeout=10)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    with conn, open(path, "rb") as f:
        conn.settimeout(60)
        conn.sendfile(f)
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)  # the sink's close
    return 0


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "sink":
        return sink(sys.argv[2], int(sys.argv[3]))
    if len(sys.argv) == 5 and sys.argv[1] == "source":
        return source(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
