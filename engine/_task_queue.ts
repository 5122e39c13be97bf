/**
 * A queue of engine tasks (`whenRunning` functions, close notifications)
 * that an iteration runs as one batch: tasks queued while the batch runs
 * wait for the next iteration. Two arrays take turns, so steady use
 * allocates nothing.
 *
 * @module
 */

import type { TimerErrorReporter } from "./timer_ring.ts";

/** Functions queued for the next iteration, run in queueing order. */
export class TaskQueue {
  #tasks: (() => void)[] = [];
  #spare: (() => void)[] = [];

  /**
   * Tasks queued and not yet taken.
   *
   * @returns The count.
   */
  get length(): number {
    return this.#tasks.length;
  }

  /**
   * Queues a task.
   *
   * @param task Called once, with no arguments.
   */
  push(task: () => void): void {
    this.#tasks.push(task);
  }

  /**
   * Takes every task queued so far as a batch; tasks queued from now on
   * go to the next one.
   *
   * @returns The batch, for {@linkcode TaskQueue.run}.
   */
  take(): (() => void)[] {
    const batch = this.#tasks;
    this.#tasks = this.#spare;
    return batch;
  }

  /**
   * Runs a batch from {@linkcode TaskQueue.take} in order, then keeps its
   * array for reuse.
   *
   * @param batch The batch.
   * @param report Receives exceptions thrown by the tasks.
   */
  run(batch: (() => void)[], report: TimerErrorReporter): void {
    for (let i = 0; i < batch.length; i++) {
      const task = batch[i]!;
      try {
        task();
      } catch (err) {
        report(err, task);
      }
    }
    batch.length = 0;
    this.#spare = batch;
  }
}
