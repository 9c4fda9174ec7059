/**
 * Calls `fn` at once, then at most once per `ms`: calls made meanwhile are folded into one more
 * call when the time is up. So a burst of events reads the API twice (at its start and after its
 * end), and what is shown is never older than the last event. `cancel` drops a pending call.
 */
export function throttle(fn: () => void, ms: number): { call: () => void; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending = false;
  const wait = () => {
    timer = setTimeout(() => {
      timer = undefined;
      if (!pending) return;
      pending = false;
      fn();
      wait();
    }, ms);
  };
  return {
    call() {
      if (timer !== undefined) {
        pending = true;
        return;
      }
      fn();
      wait();
    },
    cancel() {
      clearTimeout(timer);
      timer = undefined;
      pending = false;
    },
  };
}
