import t from 'tap'
import { availability } from '../../src/domain/availability.js'
import type { CheckSpec } from '../../src/domain/check.js'
import { NO_WINDOWS, type MaintenanceWindow } from '../../src/domain/maintenance.js'
import { DEFAULT_LIMITS, type Signal } from '../../src/domain/run.js'
import { cronSchedule } from '../../src/domain/schedule.js'

const H = 3_600_000
const T = Date.UTC(2026, 0, 15, 0)
const hourly = (maintenance: readonly MaintenanceWindow[] = NO_WINDOWS, limits = DEFAULT_LIMITS): CheckSpec => ({
  schedule: { kind: 'interval', seconds: 3600 },
  grace: 0,
  limits,
  maintenance,
  manualResume: false,
})
const at = (hours: number, kind: Signal['kind'] = 'success'): Signal => ({ kind, at: T + hours * H })

t.test('up until the deadline, late after it, up again from the next check-in', async (t) => {
  t.same(availability(hourly(), [at(0), at(3)], T + 4 * H, [24 * H])[0], { ratio: 0.5, covered: 4 * H })
  t.same(availability(hourly(), [at(0), at(1), at(2)], T + 3 * H, [24 * H])[0], { ratio: 1, covered: 3 * H })
})

t.test('a failure is down until the next success; time before the span is left out', async (t) => {
  t.same(availability(hourly(), [at(0), at(1, 'failure'), at(2)], T + 3 * H, [24 * H])[0], { ratio: 2 / 3, covered: 3 * H })
  t.same(availability(hourly(), [at(0), at(1, 'failure'), at(2)], T + 3 * H, [2 * H])[0], { ratio: 0.5, covered: 2 * H }, 'the last 2 hours only')
})

t.test('time paused or in a maintenance window is not judged; no signal, nothing judged', async (t) => {
  t.same(availability(hourly(), [at(0), at(1, 'pause'), at(5, 'resume')], T + 6 * H, [24 * H])[0], { ratio: 1, covered: 6 * H })
  const schedule = cronSchedule('0 1 * * *', 'UTC')
  if ('error' in schedule) throw new Error(schedule.error)
  const window: MaintenanceWindow = { schedule: schedule as MaintenanceWindow['schedule'], seconds: 2 * 3600, key: 'w' }
  // Late from 1 h, but 1 h to 3 h is maintenance (the deadline moved to 3 h): up 0-3, late 3-4.
  t.same(availability(hourly([window]), [at(0)], T + 4 * H, [24 * H])[0], { ratio: 0.5, covered: 4 * H })
  t.same(availability(hourly(), [], T, [24 * H])[0], { ratio: null, covered: 0 })
})

t.test('a run that outlives max_runtime is down from then on', async (t) => {
  const limits = { ...DEFAULT_LIMITS, maxRuntime: 1800 }
  t.same(availability(hourly(NO_WINDOWS, limits), [at(0, 'start')], T + H, [24 * H])[0], { ratio: 0.5, covered: H })
})
