// When a check is due: every N seconds after its last check-in, or at the next occurrence of a cron
// expression in a time zone. Occurrences come from croner (pinned: its daylight-saving rules are
// part of our behaviour), with the rule that matches cronsim, the library behind Healthchecks and
// Sentry Crons: a fixed time that does not exist on a spring-forward day runs at the first instant
// after the gap, and on a fall-back day runs once; a wildcard hour runs in both passes.
import { Cron } from 'croner'
import cronstrue from 'cronstrue'
import { LruMap } from 'toad-cache'
import { formatDuration } from './duration.js'

export type Schedule =
  | { readonly kind: 'interval'; readonly seconds: number }
  | { readonly kind: 'cron'; readonly expression: string; readonly tz: string; readonly cron: Cron }

const FIELDS: Record<string, string> = {
  second: '0-59',
  minute: '0-59',
  hour: '0-23',
  day: '1-31',
  month: '1-12 or JAN-DEC',
  weekday: '0-7 or SUN-SAT',
}

// Asking Intl costs tens of microseconds, and a config of 10,000 items names the same few zones.
const knownZones = new Map<string, boolean>()

/** What is wrong with a zone that isTimeZone refuses. */
export const unknownZone = (tz: string) => `'${tz}' is not a known IANA time zone (such as Europe/Berlin or UTC)`

/** The zone of a cron schedule; undefined for an interval, whose times follow the server's zone. */
export const zoneOf = (schedule: Schedule): string | undefined => (schedule.kind === 'cron' ? schedule.tz : undefined)

/** True when `tz` is an IANA zone this Node knows (croner takes any string and falls back silently). */
export function isTimeZone(tz: string): boolean {
  let known = knownZones.get(tz)
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz })
      known = true
    } catch {
      known = false
    }
    if (knownZones.size < 1000) knownZones.set(tz, known)
  }
  return known
}

/** croner's message, said as the config and the API say faults: what is wrong, and the range. */
function describeCronError(message: string): string {
  const invalid = /Invalid value for (\w+): (.*)$/i.exec(message)
  if (invalid) {
    const field = invalid[1]!.toLowerCase().replace('dayofweek', 'weekday').replace('dayofmonth', 'day')
    const range = FIELDS[field]
    const value = invalid[2]!
    return range === undefined
      ? `${field} ${value} is not valid`
      : /^\d+$/.test(value)
        ? `${field} ${value} is out of range ${range}`
        : `${field} '${value}' is not valid (${range})`
  }
  if (/parts/.test(message))
    return 'must have 5 fields (minute hour day month weekday), or 6 with seconds first, or be @hourly, @daily, @weekly, @monthly or @yearly'
  return message.replace(/^CronPattern: /, '')
}

// A croner pattern holds a 10,000-entry array of years (about 80 KB), whatever the expression:
// checks with the same expression and zone share one instance (it keeps no per-check state when
// only asked for occurrences). Bounded, so schedules no longer used can go.
const compiled = new LruMap<Cron>(10_000)

/** A cron schedule, or what is wrong with the expression or the zone. */
export function cronSchedule(expression: string, tz: string, from = Date.now()): Schedule | { error: string } {
  if (!isTimeZone(tz)) return { error: unknownZone(tz) }
  const key = `${tz}\0${expression}`
  let cron = compiled.get(key)
  if (cron === undefined) {
    try {
      cron = new Cron(expression, { timezone: tz, fixedTimeRule: 'no-wildcard', mode: '5-or-6-parts' })
    } catch (err) {
      return { error: `'${expression}': ${describeCronError((err as Error).message)}` }
    }
    if (cron.nextRun(new Date(from)) === null) return { error: `'${expression}': never matches a date` }
    compiled.set(key, cron)
  }
  return { kind: 'cron', expression, tz, cron }
}

/** ms of the first due time strictly after `last` (ms); Infinity when the schedule has no more. */
export function nextDue(schedule: Schedule, last: number): number {
  if (schedule.kind === 'interval') return last + schedule.seconds * 1000
  return schedule.cron.nextRun(new Date(last))?.getTime() ?? Infinity
}

/** The schedule in words, for people: "At 02:30 AM (Europe/Berlin)", "every 10m". */
export function describeSchedule(schedule: Schedule): string {
  if (schedule.kind === 'interval') return `every ${formatDuration(schedule.seconds)}`
  let words: string
  try {
    words = cronstrue.toString(schedule.expression, { use24HourTimeFormat: true, verbose: false })
  } catch {
    words = schedule.expression
  }
  return `${words} (${schedule.tz})`
}
