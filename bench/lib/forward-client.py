# The client of bench/forward.mjs's host-service rows, run unchanged on the host (direct, to the server on
# 127.0.0.1) and in a python container (to the same server through a host service): one download and one upload of
# n bytes against bench/lib/forward-server.py, each timed from its request to the server's close (download) or ack
# (upload), length checked. argv: host port n; prints "download <MiB/s>" and "upload <MiB/s>".
import socket
import struct
import sys
import time

CHUNK = 1 << 20
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def dial():
    s = socket.create_connection((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def download():
    s = dial()
    buf = bytearray(CHUNK)
    started = time.perf_counter()
    s.sendall(b"D" + struct.pack(">Q", n))
    got = 0
    while True:
        k = s.recv_into(buf)
        if k == 0:
            break
        got += k
    elapsed = time.perf_counter() - started
    s.close()
    if got != n:
        raise SystemExit(f"download: got {got} of {n} bytes")
    return elapsed


def upload():
    s = dial()
    block = memoryview(bytes(CHUNK))
    started = time.perf_counter()
    s.sendall(b"U" + struct.pack(">Q", n))
    left = n
    while left > 0:
        k = min(left, CHUNK)
        s.sendall(block[:k])
        left -= k
    ack = s.recv(1)
    elapsed = time.perf_counter() - started
    s.close()
    if ack != b"K":
        raise SystemExit(f"upload: expected ack K, got {ack!r}")
    return elapsed


mib = n / (1 << 20)
print("download", mib / download(), flush=True)
print("upload", mib / upload(), flush=True)
