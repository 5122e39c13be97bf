/**
 * Symbols for the engine methods channels and the test harness call; keyed
 * by symbol so they stay out of the public API.
 *
 * @module
 */

/**
 * The engine method a channel's default `onListenError` / `onConnectError`
 * calls with the error nothing handled (see {@linkcode Engine.start}). The
 * engine learns of it this way without knowing the channels.
 */
export const unhandledError: unique symbol = Symbol("unhandledError");

/**
 * The engine method that turns off the exit warning for an engine that was
 * never started; `TestEngine` calls it (tests drive their engine by hand).
 */
export const drivenByHand: unique symbol = Symbol("drivenByHand");
