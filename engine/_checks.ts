/**
 * Argument checks for the engine's public methods: the errors a caller sees
 * for a bad function, delay or poll timeout, worded once.
 *
 * @module
 */

/**
 * Throws unless `fn` is a function.
 *
 * @param fn The value passed as the function.
 * @param method The method's name, for the message.
 * @throws {TypeError} If `fn` is not a function.
 */
export function checkFunction(fn: unknown, method: string): void {
  if (typeof fn !== "function") {
    throw new TypeError(`Invalid function "${String(fn)}" for ${method}(): pass a function`);
  }
}

/**
 * Throws unless `ms` is a finite number of milliseconds, `>= 0` or `> 0`.
 *
 * @param ms The value passed as the delay.
 * @param method The method's name, for the message.
 * @param allowZero Whether `0` is accepted.
 * @throws {RangeError} If `ms` is out of range or not a number.
 */
export function checkDelay(ms: unknown, method: string, allowZero: boolean): void {
  if (typeof ms !== "number" || !(allowZero ? ms >= 0 : ms > 0) || ms === Infinity) {
    throw new RangeError(
      `Invalid delay "${String(ms)}" for ${method}(): pass a finite number of milliseconds ${
        allowZero ? ">= 0" : "> 0"
      }`,
    );
  }
}

/**
 * Throws unless `timeoutMs` is a number `>= 0` (`Infinity` included), as
 * `poll()` takes.
 *
 * @param timeoutMs The value passed as the timeout.
 * @throws {RangeError} If `timeoutMs` is negative, NaN or not a number.
 */
export function checkPollTimeout(timeoutMs: unknown): void {
  if (typeof timeoutMs !== "number" || !(timeoutMs >= 0)) {
    throw new RangeError(
      `Invalid timeout "${String(timeoutMs)}" for poll(): pass milliseconds >= 0 or Infinity`,
    );
  }
}
