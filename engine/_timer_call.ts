/**
 * What the timer ring stores for each timer besides its numbers: the call
 * to make, and for a `cycle` its deadline and period.
 *
 * A timer without arguments stores its function itself, so scheduling one
 * allocates no array (and an engine method's empty rest array never
 * escapes, so V8 need not allocate it either). With arguments, one array
 * holds the function and then the arguments. A `cycle` wraps its call in a
 * {@linkcode Cycle}, which also holds its deadline and period: the ring's
 * per-record numbers then only hold what every timer needs.
 *
 * @module
 */

/** A timer's function. */
export type Fn = (...args: unknown[]) => unknown;

/**
 * What a timer calls: its function when it takes no arguments, else an
 * array of the function followed by its arguments.
 */
export type TimerCall = Fn | readonly [Fn, ...unknown[]];

/** A `cycle` timer's call, exact deadline (ms) and period (ms). */
export class Cycle {
  /** What it calls. */
  readonly call: TimerCall;
  /** Its next exact deadline (ms); its slot tick is this rounded up. */
  due: number;
  /** Its period (ms, `> 0`). */
  readonly period: number;

  /**
   * Wraps a call.
   *
   * @param call What it calls.
   * @param due Its first deadline (ms).
   * @param period Its period (ms, `> 0`).
   */
  constructor(call: TimerCall, due: number, period: number) {
    this.call = call;
    this.due = due;
    this.period = period;
  }
}

/**
 * The call for `fn` with `args`: `fn` itself when there are none.
 *
 * @param fn The function.
 * @param args Its arguments (an engine method's rest array: read, not kept).
 * @returns The call to store.
 */
export function timerCall<A extends unknown[]>(fn: (...args: A) => unknown, args: A): TimerCall {
  return args.length === 0 ? fn as Fn : [fn as Fn, ...args];
}

/**
 * The function of a stored call, for error reports.
 *
 * @param call The call.
 * @returns Its function.
 */
export function fnOf(call: TimerCall): Fn {
  return typeof call === "function" ? call : call[0];
}

/**
 * Makes a stored call, without a spread for up to three arguments.
 *
 * @param call The call.
 */
export function invoke(call: TimerCall): void {
  if (typeof call === "function") {
    call();
    return;
  }
  const fn = call[0];
  switch (call.length) {
    case 2:
      fn(call[1]);
      break;
    case 3:
      fn(call[1], call[2]);
      break;
    case 4:
      fn(call[1], call[2], call[3]);
      break;
    default:
      fn(...call.slice(1));
  }
}
