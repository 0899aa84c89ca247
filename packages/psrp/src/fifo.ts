/**
 * A first-in first-out queue with O(1) `push` and `shift`: an array and a head index; a taken slot is cleared at
 * once (the queue holds no reference to what it handed out), and the array is reset when the queue runs empty.
 */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    }
    return item;
  }
}
