// Typed events of the resilience policies: `policy.onRetry(listener)` subscribes and returns the
// function that unsubscribes. Stats and, later, metrics are fed by these.

/** Removes the listener it was returned for; calling it again does nothing. */
export type Unsubscribe = () => void;

/** Subscribes a listener to one kind of event. */
export type Event<T> = (listener: (event: T) => void) => Unsubscribe;

/** The sending side of an Event. Listeners run synchronously, in subscription order. */
export class Emitter<T> {
  private listeners: { fn: (event: T) => void }[] = [];

  /** The subscribing side, to expose as a policy's `onX`. */
  readonly on: Event<T> = (fn) => {
    const entry = { fn };
    this.listeners = [...this.listeners, entry];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== entry);
    };
  };

  /** Whether anyone listens: callers skip building an event nobody reads. */
  get active(): boolean {
    return this.listeners.length > 0;
  }

  /**
   * Sends `event` to every listener. A listener that throws does not break the policy that emits
   * (its state has already moved): the error is rethrown on a microtask, as an uncaught error.
   */
  emit(event: T): void {
    for (const l of this.listeners) {
      try {
        l.fn(event);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
}
