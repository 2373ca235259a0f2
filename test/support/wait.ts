/**
 * Polling for what a separate process (a worker) brings about: a probe
 * asked every `intervalMs` until it answers, or a failure naming what was
 * awaited with the tail of the process's output.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, logs: string[], intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; worker output:\n${logs.join('').slice(-3000)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
