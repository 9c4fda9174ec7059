import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { AbortedError, untilAborted } from './until-aborted';
import { withTimeout } from './with-timeout';

describe('untilAborted', () => {
  it('settles like the work when the signal stays quiet', async () => {
    const controller = new AbortController();
    expect(await untilAborted(Promise.resolve(7), controller.signal)).toBe(7);
    await assert.rejects(untilAborted(Promise.reject(new Error('boom')), controller.signal), /boom/);
  });

  it('rejects with AbortedError as soon as the signal aborts, abandoning the work', async () => {
    const controller = new AbortController();
    let failLate: (error: Error) => void = () => undefined;
    const never = new Promise<number>((_resolve, reject) => (failLate = reject));
    const raced = untilAborted(never, controller.signal);
    controller.abort();
    await assert.rejects(raced, AbortedError);
    // The abandoned work failing later is not an unhandled rejection.
    failLate(new Error('late'));
    await assert.rejects(untilAborted(Promise.resolve(1), controller.signal), AbortedError);
  });
});

describe('withTimeout', () => {
  it('settles like the work when it is quick enough', async () => {
    expect(await withTimeout(Promise.resolve(3), 1_000, 'quick')).toBe(3);
  });

  it('rejects naming what timed out', async () => {
    await assert.rejects(withTimeout(new Promise(() => undefined), 5, 'browser.close()'), {
      message: 'browser.close() timed out after 5 ms',
    });
  });
});
