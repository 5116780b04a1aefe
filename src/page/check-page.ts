// A check's own page (/item/<id>, /script/<id>): its state and why, its schedule in words and
// when it is due, availability from its run log, its last durations as an inline SVG chart, and
// the log itself. The same rules as the status page: no script, nothing from elsewhere, every
// string escaped (outputs are hostile input), and outputs only with statuspage.show_output.
import { availability } from '../domain/availability.js'
import { isUp, statusReason } from '../domain/check.js'
import { humanSeconds } from '../domain/run.js'
import type { ItemStatus, ScriptStatus } from '../domain/snapshot.js'
import type { LogEntry } from '../store/store.js'
import { localTime } from '../time.js'
import { escapeHtml as h } from './html.js'
import { cell, documentHead, dueText, inWords, looks, when, windowText } from './page.js'

export interface CheckPage {
  /** The status page's title, for the way back. */
  readonly title: string
  readonly name: string
  /** Where the check belongs, for people: "group Jobs", "server db1". */
  readonly where: string
  readonly status: ItemStatus | ScriptStatus
  /** Its run log, newest first: every kept signal (availability reads them all). */
  readonly log: readonly LogEntry[]
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
  const row = (term: string, value: string) => `<dt>${term}</dt><dd>${value}</dd>`
  return (
    '<dl class="facts">' +
    row('Schedule', `${h(inWords(schedule))}${grace > 0 ? `, grace ${humanSeconds(grace)}` : ''}`) +
    row('Last check-in', when(s.runs.lastSignal, now)) +
    row(
      'Next due',
      s.due === undefined
        ? 'after its first check-in'
        : `${dueText(s.due, s.status, now) || (Number.isFinite(s.due.nextDue) ? '–' : 'never again')}${Number.isFinite(s.due.nextDue) ? ` <span class="since">${localTime(s.due.nextDue) ?? '–'}</span>` : ''}`,
    ) +
    row('Deadline', s.due === undefined || !Number.isFinite(s.due.deadline) ? '–' : `<span class="since">${localTime(s.due.deadline) ?? '–'}</span>`) +
    row('Last run', s.runs.lastDuration === undefined ? '–' : humanSeconds(s.runs.lastDuration)) +
    row('Maintenance', windowText(s, now) || (s.status === 'maintenance' ? 'now' : 'no window')) +
    (s.runs.paused === undefined ? '' : row('Paused', `${when(s.runs.paused, now)}${s.check.manualResume ? ', resumed only by hand' : ''}`)) +
    row('Belongs to', h(page.where)) +
    '</dl>'
  )
}

function availabilityList({ status, log, now }: CheckPage): string {
  const signals = log.map((e) => e.signal).reverse()
  const figures = availability(
    status.check,
    signals,
    now,
    SPANS.map(([, span]) => span),
  )
  const items = SPANS.map(([label, span], k) => {
    const { ratio, covered } = figures[k]!
    const over = covered < span && ratio !== null ? ` <span class="since">over ${humanSeconds(covered / 1000)}</span>` : ''
    return `<li><span class="pct">${ratio === null ? '–' : percent(ratio)}</span> ${label}${over}</li>`
  })
  return `<ul class="avail">${items.join('')}</ul><p class="note">From the ${log.length} signals in the log; time paused or in maintenance is not counted.</p>`
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

function logRow({ signal, output }: LogEntry, showOutput: boolean, now: number): string {
  const what =
    SIGNAL_WORDS[signal.kind] +
    (signal.exitStatus === undefined ? '' : ` (exit ${signal.exitStatus})`) +
    (signal.ignored === true ? ' <span class="why">ignored: paused</span>' : '')
  let out = '–'
  if (signal.bytes !== undefined) {
    if (!showOutput) out = `<span class="note">hidden (${signal.bytes} bytes)</span>`
    else if (output === undefined) out = `<span class="note">deleted by retention (${signal.bytes} bytes)</span>`
    else
      out = `<pre class="out">${h(output.text)}</pre>${Buffer.byteLength(output.text) < output.bytes ? `<span class="note">cut: the first ${Buffer.byteLength(output.text)} of ${output.bytes} bytes</span>` : ''}`
  }
  return (
    `<tr class="${signal.kind === 'failure' && signal.ignored !== true ? 'failed' : 'ok'}">` +
    cell('Time', when(signal.at, now)) +
    cell('Signal', what) +
    cell('Duration', signal.duration === undefined ? '–' : humanSeconds(signal.duration)) +
    cell('Output', out) +
    '</tr>'
  )
}

export function renderCheckPage(page: CheckPage): string {
  const { status, log, now } = page
  const entries = log.slice(0, page.shown)
  const hidden = page.showOutput
    ? ''
    : '<p class="note">Outputs are hidden on this public page (they can hold secrets): set <code>statuspage.show_output: true</code> to show them, or read them from the API with the token.</p>'
  return `${documentHead(`${page.name} – ${page.title}`, isUp(status.status), page.refresh)}
<p class="crumb"><a href="/">← ${h(page.title)}</a></p>
<h1>${h(page.name)}</h1>
${stateLine(status, now)}
<section class="box">${facts(page)}</section>
<section class="box"><h2>Availability</h2>${availabilityList(page)}</section>
<section class="box"><h2>Durations</h2>${durationChart(log)}</section>
<section class="box"><h2>Run log</h2>${hidden}${
    entries.length === 0
      ? '<p class="note">No signal yet.</p>'
      : `<table class="rows log"><thead><tr><th class="w-time">Time</th><th class="w-sig">Signal</th><th class="w-dur">Duration</th><th>Output</th></tr></thead><tbody>${entries.map((e) => logRow(e, page.showOutput, now)).join('')}</tbody></table>${log.length > entries.length ? `<p class="note">The newest ${entries.length} of ${log.length}; the API pages through all of them.</p>` : ''}`
  }</section>
<footer>Current server time: ${localTime(now) ?? '–'} (refreshing every ${page.refresh} seconds)</footer>
</main>
</body>
</html>
`
}
