// A check's own page (/item/<id>, /script/<id>): its state and why, its schedule in words and
// when it is due, availability and monthly downtimes from its flips, its last durations as an
// inline SVG chart, and the log itself with its flips between the runs. The same rules as the status page: no script, nothing from elsewhere, every
// string escaped (outputs are hostile input), and outputs only with statuspage.show_output.
import { Cron } from 'croner'
import { isUp, statusReason } from '../domain/check.js'
import { downtimes, isDownState, uptime, type Flip } from '../domain/flip.js'
import { humanSeconds } from '../domain/run.js'
import type { ItemStatus, ScriptStatus } from '../domain/snapshot.js'
import type { LogEntry } from '../domain/run.js'
import { zoneOf } from '../domain/schedule.js'
import { localTime, timeIn } from '../time.js'
import { escapeHtml as h, relativeTime } from './html.js'
import { cell, documentHead, dueText, inWords, looks, windowText } from './page.js'

export interface CheckPage {
  /** The status page's title, for the way back. */
  readonly title: string
  readonly name: string
  /** Where the check belongs, for people: "group Jobs", "server db1". */
  readonly where: string
  readonly status: ItemStatus | ScriptStatus
  /** Its run log, newest first: every kept signal. */
  readonly log: readonly LogEntry[]
  /** Its flips of the last DOWNTIME_MONTHS months at least, newest first. */
  readonly flips: readonly Flip[]
  /** The flip before the oldest of `flips`: the state the span began in; undefined when there is none or it is unknown. */
  readonly prior: Flip | undefined
  /** How many of the newest entries the page lists. */
  readonly shown: number
  readonly showOutput: boolean
  readonly refresh: number
  readonly now: number
}

/** Runs the chart shows at most, newest on the right. */
const CHART_RUNS = 40

const DAY = 86_400_000
const SPANS = [
  ['24 h', DAY],
  ['7 d', 7 * DAY],
  ['30 d', 30 * DAY],
] as const

const percent = (ratio: number) => `${(Math.floor(ratio * 1000) / 10).toFixed(1)}%`

/** An instant in the check's own zone, with how long ago (or how soon) beside it: "2026-01-15 13:00:00 +01:00 · 3 min ago". */
const at = (ms: number | undefined, tz: string | undefined, now: number) =>
  ms === undefined ? 'never' : `<span class="at">${timeIn(ms, tz) ?? '–'}</span> <span class="since">${relativeTime(ms, now)}</span>`

/** Lines of an output shown in full; the earlier ones are behind a <details>. */
const OUTPUT_TAIL_LINES = 10

/** An output, wrapped rather than cut: its last lines in full, the earlier ones folded away. */
function outputHtml(text: string): string {
  const lines = text.replace(/\n$/, '').split('\n')
  if (lines.length <= OUTPUT_TAIL_LINES) return `<pre class="out">${h(text)}</pre>`
  const earlier = lines.slice(0, -OUTPUT_TAIL_LINES)
  return (
    `<details><summary>${earlier.length} earlier ${earlier.length === 1 ? 'line' : 'lines'}</summary><pre class="out">${h(earlier.join('\n'))}</pre></details>` +
    `<pre class="out">${h(lines.slice(-OUTPUT_TAIL_LINES).join('\n'))}</pre>`
  )
}

/** The limits a check's runs are judged by, in words. */
function limitsText({ maxRuntime, minRuntime, failureThreshold, recoveryThreshold }: ItemStatus['check']['limits']): string {
  const parts = [
    maxRuntime === undefined ? undefined : `max runtime ${humanSeconds(maxRuntime)}`,
    minRuntime === undefined ? undefined : `min runtime ${humanSeconds(minRuntime)}`,
    `down after ${failureThreshold} ${failureThreshold === 1 ? 'failure' : 'failures in a row'}`,
    `up again after ${recoveryThreshold} ${recoveryThreshold === 1 ? 'success' : 'successes in a row'}`,
  ]
  return parts.filter((p) => p !== undefined).join(', ')
}

function stateLine(s: ItemStatus | ScriptStatus, now: number): string {
  const { mark, label, cls } = looks(s)
  const reason = statusReason(s.status, s.check, s.due, s.runs, s.streak, now)
  return (
    `<p class="stateline ${cls}" data-status="${s.status}"><span class="mark" aria-hidden="true">${mark}</span> <span class="state">${label}</span>` +
    (reason === null ? '' : ` <span class="why">${h(reason)}</span>`) +
    '</p>'
  )
}

function facts(page: CheckPage): string {
  const { status: s, now } = page
  const { schedule, grace } = s.check
  const tz = zoneOf(schedule)
  const row = (term: string, value: string) => `<dt>${term}</dt><dd>${value}</dd>`
  return (
    '<dl class="facts">' +
    row('Schedule', `${h(inWords(schedule))}${grace > 0 ? `, grace ${humanSeconds(grace)}` : ''}`) +
    row('Limits', limitsText(s.check.limits)) +
    row('Last check-in', at(s.runs.lastSignal, tz, now)) +
    row(
      'Next due',
      s.due === undefined
        ? 'after its first check-in'
        : Number.isFinite(s.due.nextDue)
          ? `${at(s.due.nextDue, tz, now)}${s.status === 'late' ? ` ${dueText(s.due, s.status, now)}` : ''}`
          : 'never again',
    ) +
    row('Deadline', s.due === undefined || !Number.isFinite(s.due.deadline) ? '–' : at(s.due.deadline, tz, now)) +
    row('Last run', s.runs.lastDuration === undefined ? '–' : humanSeconds(s.runs.lastDuration)) +
    row('Maintenance', windowText(s, now) || (s.status === 'maintenance' ? 'now' : 'no window')) +
    (s.runs.paused === undefined ? '' : row('Paused', `${at(s.runs.paused, tz, now)}${s.check.manualResume ? ', resumed only by hand' : ''}`)) +
    row('Belongs to', h(page.where)) +
    '</dl>'
  )
}

function availabilityList({ flips, prior, now }: CheckPage): string {
  const figures = uptime(
    prior,
    [...flips].reverse(),
    now,
    SPANS.map(([, span]) => span),
  )
  const items = SPANS.map(([label, span], k) => {
    const { ratio, covered } = figures[k]!
    const over = covered < span && ratio !== null ? ` <span class="since">over ${humanSeconds(Math.round(covered / 1000))}</span>` : ''
    return `<li><span class="pct">${ratio === null ? '–' : percent(ratio)}</span> ${label}${over}</li>`
  })
  return `<ul class="avail">${items.join('')}</ul><p class="note">From its changes of state; time paused, in maintenance or before its first check-in is not counted.</p>`
}

/** The months whose downtimes the page lists, this one included, as Healthchecks shows them. */
export const DOWNTIME_MONTHS = 3

/** Each of the last DOWNTIME_MONTHS months in the check's zone: how often it went down, and for how long in all. */
function downtimeTable({ flips, prior, now, status }: CheckPage): string {
  const tz = zoneOf(status.check.schedule)
  const months = new Cron('0 0 1 * *', tz === undefined ? {} : { timezone: tz })
  const starts = months
    .previousRuns(DOWNTIME_MONTHS, new Date(now))
    .map((d) => d.getTime())
    .reverse()
  const bounds = [...starts, months.nextRun(new Date(now))?.getTime() ?? now]
  const periods = downtimes(prior, [...flips].reverse(), bounds, now)
  const name = new Intl.DateTimeFormat('en', { month: 'long', year: 'numeric', ...(tz === undefined ? {} : { timeZone: tz }) })
  const rows = periods
    .reverse()
    .map(
      (p) =>
        `<tr class="${p.total > 0 ? 'failed' : 'ok'}">${cell('Month', name.format(p.start))}${cell('Downtimes', p.count === 0 && p.total === 0 ? 'none' : String(p.count))}${cell('Total', p.total === 0 ? '–' : humanSeconds(Math.round(p.total / 1000)))}</tr>`,
    )
  return `<table class="rows"><thead><tr><th>Month</th><th>Downtimes</th><th>Total</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

/** The last runs' durations as bars, newest on the right; failures in the down colour. */
function durationChart(log: readonly LogEntry[]): string {
  const runs = log
    .filter(({ signal }) => signal.duration !== undefined && signal.ignored !== true && (signal.kind === 'success' || signal.kind === 'failure'))
    .slice(0, CHART_RUNS)
    .reverse()
  if (runs.length === 0) return '<p class="note">No timed run in the log yet: send a start before each finish.</p>'
  const longest = Math.max(...runs.map((r) => r.signal.duration!))
  const height = 60
  const bars = runs.map(({ signal }, i) => {
    const bar = longest === 0 ? 1 : Math.max(1, Math.round((signal.duration! / longest) * height))
    return `<rect class="${signal.kind === 'success' ? 'ok' : 'bad'}" x="${i * 12}" y="${height - bar}" width="9" height="${bar}"><title>${localTime(signal.at) ?? '–'}: ${humanSeconds(signal.duration!)}${signal.kind === 'failure' ? ', failed' : ''}</title></rect>`
  })
  return (
    `<svg class="chart" viewBox="0 0 ${runs.length * 12} ${height}" width="${Math.min(100, runs.length * 6)}%" height="${height}" preserveAspectRatio="none" role="img" aria-label="Durations of the last ${runs.length} timed runs, the longest ${humanSeconds(longest)}">${bars.join('')}</svg>` +
    `<p class="note">${runs.length === 1 ? 'The last timed run' : `The last ${runs.length} timed runs, the longest`} ${humanSeconds(longest)}.</p>`
  )
}

const SIGNAL_WORDS = { start: 'Start', success: 'Success', failure: 'Failure', log: 'Log', pause: 'Pause', resume: 'Resume' } as const

/**
 * The starts that a finish of `entries` (newest first) ended: the nearest older start with the
 * finish's rid, or without one when the finish has none. Their rows fold into the finish's.
 */
function foldedStarts(entries: readonly LogEntry[]): Map<LogEntry, LogEntry> {
  const startOf = new Map<LogEntry, LogEntry>()
  const taken = new Set<LogEntry>()
  entries.forEach((e, i) => {
    const { kind, duration, rid } = e.signal
    if ((kind !== 'success' && kind !== 'failure') || duration === undefined) return
    for (let j = i + 1; j < entries.length; j++) {
      const older = entries[j]!
      if (older.signal.kind !== 'start' || taken.has(older)) continue
      if ((older.signal.rid ?? undefined) !== (rid ?? undefined)) continue
      startOf.set(e, older)
      taken.add(older)
      return
    }
  })
  return startOf
}

function logRow({ signal, output }: LogEntry, start: LogEntry | undefined, showOutput: boolean, tz: string | undefined, now: number): string {
  const what =
    SIGNAL_WORDS[signal.kind] +
    (signal.exitStatus === undefined ? '' : ` (exit ${signal.exitStatus})`) +
    (start === undefined ? '' : ` <span class="since">started ${timeIn(start.signal.at, tz)?.slice(11, 19) ?? '–'}</span>`) +
    (signal.ignored === true ? ' <span class="why">ignored: paused</span>' : '')
  let out = '–'
  if (signal.bytes !== undefined) {
    if (!showOutput) out = `<span class="note">hidden (${signal.bytes} bytes)</span>`
    else if (output === undefined) out = `<span class="note">deleted by retention (${signal.bytes} bytes)</span>`
    else
      out = `${outputHtml(output.text)}${Buffer.byteLength(output.text) < output.bytes ? `<span class="note">cut: the first ${Buffer.byteLength(output.text)} of ${output.bytes} bytes</span>` : ''}`
  }
  return (
    `<tr class="${signal.kind === 'failure' && signal.ignored !== true ? 'failed' : 'ok'}">` +
    cell('Time', at(signal.at, tz, now)) +
    cell('Signal', what) +
    cell('Duration', signal.duration === undefined ? '–' : humanSeconds(signal.duration)) +
    cell('Output', out) +
    '</tr>'
  )
}

/** A flip as a row of the log: from what state to what, and why. */
function flipRow(flip: Flip, tz: string | undefined, now: number): string {
  const to = looks({ status: flip.to })
  const what = `<span class="mark" aria-hidden="true">${to.mark}</span> ${looks({ status: flip.from }).label} → ${to.label}`
  return (
    `<tr class="flip ${isDownState(flip.to) ? 'failed' : 'ok'}" data-status="${flip.to}">` +
    cell('Time', at(flip.at, tz, now)) +
    cell('Signal', what) +
    cell('Duration', '–') +
    cell('Output', flip.reason === null ? '–' : `<span class="why">${h(flip.reason)}</span>`) +
    '</tr>'
  )
}

/**
 * The log's rows, newest first: its entries, and between them the flips since the oldest signal
 * listed (`oldest`, a start folded into its finish's row included).
 */
function logRows(page: CheckPage, entries: readonly LogEntry[], startOf: Map<LogEntry, LogEntry>, oldest: number, tz: string | undefined): string {
  const flips = page.flips.filter((f) => f.at >= oldest)
  const rows: string[] = []
  let f = 0
  for (const e of entries) {
    for (; f < flips.length && flips[f]!.at >= e.signal.at; f++) rows.push(flipRow(flips[f]!, tz, page.now))
    rows.push(logRow(e, startOf.get(e), page.showOutput, tz, page.now))
  }
  for (; f < flips.length; f++) rows.push(flipRow(flips[f]!, tz, page.now))
  return rows.join('')
}

export function renderCheckPage(page: CheckPage): string {
  const { status, log, now } = page
  const tz = zoneOf(status.check.schedule)
  // One row per run: a start is folded into the row of the finish that ended it.
  const listed = log.slice(0, page.shown)
  const startOf = foldedStarts(listed)
  const folded = new Set(startOf.values())
  const entries = listed.filter((e) => !folded.has(e))
  const hidden = page.showOutput
    ? ''
    : '<p class="note">Outputs are hidden on this public page (they can hold secrets): set <code>statuspage.show_output: true</code> to show them, or read them from the API with the token.</p>'
  return `${documentHead(`${page.name} – ${page.title}`, isUp(status.status), page.refresh)}
<p class="crumb"><a href="/">← ${h(page.title)}</a></p>
<h1>${h(page.name)}</h1>
${stateLine(status, now)}
<section class="box">${facts(page)}</section>
<section class="box"><h2>Availability</h2>${availabilityList(page)}</section>
<section class="box"><h2>Downtime</h2>${downtimeTable(page)}</section>
<section class="box"><h2>Durations</h2>${durationChart(log)}</section>
<section class="box"><h2>Run log</h2>${hidden}${
    entries.length === 0
      ? '<p class="note">No signal yet.</p>'
      : `<table class="rows log"><thead><tr><th class="w-time">Time</th><th class="w-sig">Signal</th><th class="w-dur">Duration</th><th>Output</th></tr></thead><tbody>${logRows(page, entries, startOf, listed.at(-1)?.signal.at ?? -Infinity, tz)}</tbody></table>${log.length > listed.length ? `<p class="note">The newest ${listed.length} signals of ${log.length}; the API pages through all of them.</p>` : ''}${tz === undefined ? '' : `<p class="note">Times are in ${h(tz)}, the zone of its schedule.</p>`}`
  }</section>
<footer>Current server time: ${localTime(now) ?? '–'} (refreshing every ${page.refresh} seconds)</footer>
</main>
</body>
</html>
`
}
