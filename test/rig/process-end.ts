// Runs a synchronous cleanup when this process ends — normally, or by SIGINT/SIGTERM/SIGHUP — so that a test
// interrupted with Ctrl-C or killed by the runner's timeout leaves no registry, containerd or temp dir behind.

/** Registers `cleanup` (synchronous, idempotent); returns a function that unregisters it. */
export function onProcessEnd(cleanup: () => void): () => void {
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    try {
      cleanup();
    } catch (err) {
      process.stderr.write(`test rig: cleanup failed: ${String(err)}\n`);
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    run();
    unregister();
    // With no other handler left, end the way the signal would have ended us.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const unregister = () => {
    process.off("exit", run);
    for (const signal of signals) process.off(signal, onSignal);
  };
  process.on("exit", run);
  for (const signal of signals) process.on(signal, onSignal);
  return unregister;
}
