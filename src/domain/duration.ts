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

/** Seconds, or undefined when `value` is neither a non-negative number nor a duration string. */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined
  const m = value === '' ? null : DURATION.exec(value)
  if (m === null) return undefined
  return UNITS.reduce((total, [, seconds], i) => total + Number(m[i + 1] ?? 0) * seconds, 0)
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
