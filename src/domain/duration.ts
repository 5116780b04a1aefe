// Durations as config.yml and the API take them: seconds as a number, or a Prometheus duration
// string (90s, 15m, 2h, 1d, 1w, 1h30m). Parsed here because the duration packages (ms,
// parse-duration) take other spellings ("1.5h", "2 days") that Prometheus refuses, and users copy
// these values between the two.

const UNITS = [
  ['y', 365 * 86_400],
  ['w', 7 * 86_400],
  ['d', 86_400],
  ['h', 3600],
  ['m', 60],
  ['s', 1],
  ['ms', 0.001],
] as const

/** Prometheus's own grammar: units from the largest to the smallest, each at most once. */
export const DURATION_PATTERN = `^${UNITS.map(([unit]) => `(?:(\\d+)${unit})?`).join('')}$`
const DURATION = new RegExp(DURATION_PATTERN)

export const DURATION_HINT = 'must be seconds or a duration such as 90s, 15m, 2h, 1d, 1w or 1h30m'

/**
 * Ten years, the longest duration taken anywhere (grace, intervals, runtimes, windows, periods):
 * a longer one is a typo, and would push every time it adds to past the year 9999.
 */
export const DURATION_MAX = 315_576_000
export const DURATION_RANGE = `must be at most 10 years (${DURATION_MAX} seconds)`

/** Seconds, or undefined when `value` is neither a number nor a duration string from 0 to DURATION_MAX. */
export function parseDuration(value: number | string): number | undefined {
  let seconds: number
  if (typeof value === 'number') seconds = value
  else {
    const m = value === '' ? null : DURATION.exec(value)
    if (m === null) return undefined
    seconds = UNITS.reduce((total, [, size], i) => total + Number(m[i + 1] ?? 0) * size, 0)
  }
  return seconds >= 0 && seconds <= DURATION_MAX ? seconds : undefined
}

/** The shortest Prometheus spelling of whole seconds: 5400 -> "1h30m"; fractions stay seconds. */
export function formatDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds === 0) return `${seconds}s`
  let rest = seconds
  let out = ''
  for (const [unit, size] of UNITS) {
    if (size < 1 || unit === 'y') continue
    const n = Math.floor(rest / size)
    if (n > 0) out += `${n}${unit}`
    rest -= n * size
  }
  return out
}
