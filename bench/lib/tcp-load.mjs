// The client side of bench/forward.mjs: bulk transfers and request/response round trips over plain TCP (node:net)
// against bench/lib/forward-server.py, wherever it listens. Every operation takes a signal (a deadline) and rejects
// on a short transfer, a wrong byte or a reset, so a broken path fails the bench instead of flattering it.
import { connect } from "node:net";

/** Opens a TCP connection to 127.0.0.1:port (no Nagle), resolving once connected. */
function dial(port, signal) {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, noDelay: true, signal });
    s.once("connect", () => {
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}

/** The 9-byte job header: opcode + 8-byte big-endian length. */
function header(op, n) {
  const b = Buffer.alloc(9);
  b.write(op, 0, "latin1");
  b.writeBigUInt64BE(BigInt(n), 1);
  return b;
}

/** Reads `n` bytes the server sends; resolves the milliseconds from request to the server's close. */
export async function download(port, n, signal) {
  const s = await dial(port, signal);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let got = 0;
    s.on("data", (c) => (got += c.length));
    s.once("error", reject);
    s.once("end", () => {
      const ms = performance.now() - started;
      s.destroy();
      if (got === n) resolve(ms);
      else reject(new Error(`download: got ${got} of ${n} bytes`));
    });
    s.write(header("D", n));
  });
}

/** Sends `n` zero bytes (1 MiB writes, honouring backpressure); resolves the milliseconds until the server's ack. */
export async function upload(port, n, signal) {
  const s = await dial(port, signal);
  const block = Buffer.alloc(1 << 20);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let ack = "";
    s.on("data", (c) => (ack += c.toString("latin1")));
    s.once("error", reject);
    s.once("end", () => {
      const ms = performance.now() - started;
      s.destroy();
      if (ack === "K") resolve(ms);
      else reject(new Error(`upload: expected ack "K", got ${JSON.stringify(ack)}`));
    });
    s.write(header("U", n));
    let left = n;
    const pump = () => {
      while (left > 0) {
        const k = Math.min(left, block.length);
        left -= k;
        if (!s.write(k === block.length ? block : block.subarray(0, k))) return void s.once("drain", pump);
      }
    };
    pump();
  });
}

/**
 * `count` sequential round trips of a `size`-byte message on one echo connection; resolves each round trip's time
 * in microseconds (write → the whole echo read back, checked byte for byte).
 */
export async function echoRoundTrips(port, count, size, signal) {
  const s = await dial(port, signal);
  s.write("E");
  const msg = Buffer.alloc(size);
  const out = new Float64Array(count);
  try {
    let pending;
    let got = [];
    let gotBytes = 0;
    const fail = (err) => pending?.reject(err);
    s.on("error", fail);
    s.on("end", () => fail(new Error("echo: server closed the connection")));
    s.on("data", (c) => {
      got.push(c);
      gotBytes += c.length;
      if (gotBytes >= size && pending) {
        const reply = Buffer.concat(got);
        got = [];
        gotBytes = 0;
        if (reply.length !== size || !reply.equals(msg)) pending.reject(new Error(`echo: bad reply of ${reply.length} bytes`));
        else pending.resolve();
      }
    });
    for (let i = 0; i < count; i++) {
      msg.writeUInt32BE(i, 0);
      const done = new Promise((resolve, reject) => (pending = { resolve, reject }));
      const t0 = performance.now();
      s.write(msg);
      await done;
      out[i] = (performance.now() - t0) * 1000;
    }
    return out;
  } finally {
    s.destroy();
  }
}

/** `count` round trips spread over `conns` concurrent echo connections; all round-trip times (µs) and the wall ms. */
export async function echoConcurrent(port, count, size, conns, signal) {
  const per = Array.from({ length: conns }, (_, i) => Math.floor(count / conns) + (i < count % conns ? 1 : 0));
  const started = performance.now();
  const parts = await Promise.all(per.map((k) => echoRoundTrips(port, k, size, signal)));
  const ms = performance.now() - started;
  const all = new Float64Array(count);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return { us: all, ms };
}

/** The q-quantile (0..1) of a sample, nearest rank. */
export function quantile(xs, q) {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
