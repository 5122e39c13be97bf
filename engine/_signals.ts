/**
 * Process signal listeners for `engine.stopOnSignals()`.
 *
 * @module
 */

/**
 * Calls `onSignal` whenever the process receives one of `signals`.
 *
 * @param signals The signals to listen for.
 * @param onSignal Called on each of them.
 * @returns A function that removes the listeners; calling it again does nothing.
 */
export function listenForSignals(
  signals: readonly Deno.Signal[],
  onSignal: () => void,
): () => void {
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  let removed = false;
  return (): void => {
    if (removed) return;
    removed = true;
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  };
}
