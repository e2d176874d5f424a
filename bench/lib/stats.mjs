// Timing and reporting shared by the benchmarks: alternating runners, warm-up, min/median/max, ratio of medians.

/** Iterations per runner: env N (default 10). */
export function iterations(env = process.env) {
  const n = env.N === undefined ? 10 : Number(env.N);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`N must be a positive integer, got ${env.N}`);
  return n;
}

/** Milliseconds `fn` takes (performance.now around one await), or the `ms` it resolves to. */
export async function time(fn) {
  const started = performance.now();
  const result = await fn();
  const elapsed = performance.now() - started;
  return typeof result?.ms === "number" ? result.ms : elapsed;
}

/** The median of a non-empty list of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** min/median/max of a sample. */
export function summary(xs) {
  return { n: xs.length, min: Math.min(...xs), median: median(xs), max: Math.max(...xs) };
}

/**
 * Runs each runner once as warm-up (not counted), then N rounds in which every runner runs once, the order
 * alternating (ABAB…, then BABA… every other round) so drift in machine load hits both sides. `before` runs
 * untimed before each timed call (cold-start preparation), `after` untimed after it (checks). A `run` that resolves
 * to `{ ms }` reports its own time (measured where it ran, e.g. inside a child process) instead of the wall time
 * around it. Returns samples by runner name.
 */
export async function alternate(runners, { n = iterations(), log = (s) => process.stderr.write(s + "\n") } = {}) {
  const samples = Object.fromEntries(runners.map((r) => [r.name, []]));
  for (const r of runners) {
    await r.before?.(-1);
    const ms = await time(() => r.run(-1));
    await r.after?.(-1);
    log(`warm-up ${r.name}: ${ms.toFixed(0)} ms`);
  }
  for (let i = 0; i < n; i++) {
    const order = i % 2 === 0 ? runners : [...runners].reverse();
    for (const r of order) {
      await r.before?.(i);
      const ms = await time(() => r.run(i));
      await r.after?.(i);
      samples[r.name].push(ms);
      log(`#${i + 1} ${r.name}: ${ms.toFixed(1)} ms`);
    }
  }
  return samples;
}

const fmt = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

/**
 * A markdown table of min/median/max per runner, ratio lines `a / b` for each [a, b, goal?] in `ratios`, and a line
 * per [runner, maxMedianMs] in `limits`.
 */
export function report(title, samples, ratios = [], limits = []) {
  const lines = [`### ${title}`, "", "| runner | n | min ms | median ms | max ms |", "| --- | ---: | ---: | ---: | ---: |"];
  for (const [name, xs] of Object.entries(samples)) {
    const s = summary(xs);
    lines.push(`| ${name} | ${s.n} | ${fmt(s.min)} | **${fmt(s.median)}** | ${fmt(s.max)} |`);
  }
  lines.push("");
  for (const [a, b, goal] of ratios) {
    const r = median(samples[a]) / median(samples[b]);
    const verdict = goal === undefined ? "" : r <= goal ? ` (goal ≤ ${goal}: met)` : ` (goal ≤ ${goal}: NOT met)`;
    lines.push(`- ratio of medians ${a} / ${b} = **${r.toFixed(2)}**${verdict}`);
  }
  for (const [name, limit] of limits) {
    const m = median(samples[name]);
    lines.push(`- median of ${name} = **${fmt(m)} ms** (goal ≤ ${limit} ms: ${m <= limit ? "met" : "NOT met"})`);
  }
  return lines.join("\n");
}

/** One line describing the machine and its load, for the results file. */
export async function machineLine() {
  const os = await import("node:os");
  const [l1, l5, l15] = os.loadavg();
  return `${os.cpus().length} vCPU, load average ${l1.toFixed(2)} ${l5.toFixed(2)} ${l15.toFixed(2)}, node ${process.version}, ${new Date().toISOString()}`;
}
