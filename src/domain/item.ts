// The up/down rule, a pure function of an item's last refresh and `now`. Everything that shows an
// item's state (JSON, page, /metrics, badges) goes through here.

export type ItemState = 'up' | 'down'

/**
 * Up while `now <= lastRefresh + interval` (the boundary counts as up, as in the original);
 * an item never refreshed is down. Times in milliseconds, interval in seconds.
 */
export function itemState(lastRefresh: number | undefined, intervalSeconds: number, now: number): ItemState {
  return lastRefresh !== undefined && now <= lastRefresh + intervalSeconds * 1000 ? 'up' : 'down'
}

/** Whole seconds until the item turns down: 0 at the boundary, negative once overdue. */
export function secondsUntilDue(lastRefresh: number | undefined, intervalSeconds: number, now: number): number | null {
  return lastRefresh === undefined ? null : Math.floor((lastRefresh + intervalSeconds * 1000 - now) / 1000)
}
