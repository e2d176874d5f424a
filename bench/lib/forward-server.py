# The server of bench/forward.mjs, run unchanged on the host's 127.0.0.1 (baseline) and in a python service container
# (through `up`). One connection = one job, chosen by its first byte:
#   b"D" + 8-byte big-endian n: sends n bytes, then closes (download).
#   b"U" + 8-byte big-endian n: reads n bytes, then answers b"K" and closes (upload).
#   b"E": echoes every byte back until the client closes (request/response latency).
# argv: [host] [port]; prints "listening <port>" once bound. A thread per connection.
import socket
import socketserver
import struct
import sys

CHUNK = 1 << 20


def read_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        part = sock.recv(n - len(buf))
        if not part:
            raise ConnectionError("short read")
        buf += part
    return bytes(buf)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        op = read_exact(s, 1)
        if op == b"D":
            (n,) = struct.unpack(">Q", read_exact(s, 8))
            block = memoryview(bytes(CHUNK))
            while n > 0:
                k = min(n, CHUNK)
                s.sendall(block[:k])
                n -= k
            s.shutdown(socket.SHUT_WR)
        elif op == b"U":
            (n,) = struct.unpack(">Q", read_exact(s, 8))
            buf = bytearray(CHUNK)
            while n > 0:
                k = s.recv_into(buf, min(n, CHUNK))
                if k == 0:
                    raise ConnectionError("short upload")
                n -= k
            s.sendall(b"K")
        elif op == b"E":
            while True:
                data = s.recv(65536)
                if not data:
                    break
                s.sendall(data)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


host = sys.argv[1] if len(sys.argv) > 1 else "0.0.0.0"
port = int(sys.argv[2]) if len(sys.argv) > 2 else 8080
with Server((host, port), Handler) as server:
    print("listening", server.server_address[1], flush=True)
    server.serve_forever()
