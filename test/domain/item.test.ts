import t from 'tap'
import { itemState, secondsUntilDue } from '../../src/domain/item.js'

const now = Date.UTC(2026, 0, 1)

t.test('an item is up until its interval has passed, and at the boundary itself', async (t) => {
  t.equal(itemState(now - 599_999, 600, now), 'up', 'just inside')
  t.equal(itemState(now - 600_000, 600, now), 'up', 'exactly at the boundary')
  t.equal(itemState(now - 600_001, 600, now), 'down', 'one millisecond late')
  t.equal(itemState(now, 600, now), 'up', 'just refreshed')
})

t.test('an item never refreshed is down', async (t) => {
  t.equal(itemState(undefined, 600, now), 'down')
  t.equal(secondsUntilDue(undefined, 600, now), null)
})

t.test('seconds until due count down to 0 at the boundary and go negative when overdue', async (t) => {
  t.equal(secondsUntilDue(now, 600, now), 600)
  t.equal(secondsUntilDue(now - 600_000, 600, now), 0)
  t.equal(secondsUntilDue(now - 600_500, 600, now), -1)
  t.equal(secondsUntilDue(now - 1_200_000, 600, now), -600)
})

t.test('up and due agree: up exactly when due is 0 or more', async (t) => {
  for (let ago = 598_000; ago <= 602_000; ago += 250) {
    const up = itemState(now - ago, 600, now) === 'up'
    t.equal(up, (secondsUntilDue(now - ago, 600, now) as number) >= 0, `${ago} ms ago`)
  }
})
