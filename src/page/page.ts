// The status page: one self-contained HTML document rendered from the snapshot. No JavaScript, no
// external fonts or files, so it works on an air-gapped network and when Grafana is down.
import { createHash } from 'node:crypto'
import { isUp, scriptKey, statusReason, type CheckStatus, type Due } from '../domain/check.js'
import { isDownState, segments, type Flip, type FlipHead, type FlipState } from '../domain/flip.js'
import { nextWindow } from '../domain/maintenance.js'
import { humanSeconds } from '../domain/run.js'
import { describeSchedule, type Schedule } from '../domain/schedule.js'
import type { Config } from '../config/load.js'
import type { ItemStatus, ScriptStatus, Snapshot } from '../domain/snapshot.js'
import { localTime } from '../time.js'
import { escapeHtml as h, relativeTime } from './html.js'

const STYLE = `
:root{--bg:#f2f2f2;--fg:#222;--muted:#666;--box:#fff;--line:#e2e2e2;--up:#2e7d32;--down:#c62828;--warn:#b26a00;--never:#757575}
@media (prefers-color-scheme:dark){:root{--bg:#121212;--fg:#e8e8e8;--muted:#a0a0a0;--box:#1e1e1e;--line:#333;--up:#66bb6a;--down:#ef5350;--warn:#ffa726;--never:#9e9e9e}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.6rem;margin:.5rem 0 1rem}
h2{font-size:1.1rem;margin:0 0 .6rem}
.banner{margin:0 0 1rem;padding:.9rem 1rem;border-radius:6px;color:#fff;font-weight:600}
.banner.ok{background:#4CAF50}.banner.issues{background:#F44336}
.filter{margin:0 0 .6rem}
.box{background:var(--box);border-radius:6px;padding:1rem;margin:0 0 1rem;box-shadow:0 1px 2px rgba(0,0,0,.12)}
.items{list-style:none;margin:0;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:.5rem}
.items li{display:flex;flex-wrap:wrap;align-items:baseline;gap:.5rem;padding:.45rem .6rem;border:1px solid var(--line);border-radius:4px}
.sub{flex-basis:100%;display:flex;flex-wrap:wrap;gap:.2rem .6rem;color:var(--muted);font-size:.8rem}.due.late{color:var(--down);font-weight:600}
.items .name{flex:1;overflow-wrap:anywhere}
a{color:inherit;text-decoration:underline;text-decoration-color:var(--line);text-underline-offset:2px}a:hover{text-decoration-color:currentColor}
.down{border-color:var(--down)!important}
.mark{font-weight:700}.up .mark,.ok .mark,.running .mark{color:var(--up)}.down .mark,.failed .mark,.timeout .mark{color:var(--down)}.late .mark{color:var(--warn)}.never .mark,.held .mark,.held .state{color:var(--never)}
.why{color:var(--down)}[data-status=running] .why,[data-status=up] .why,.running .why,.held .why{color:var(--muted)}
.state{font-size:.8rem;font-weight:600;text-transform:uppercase}
.since{color:var(--muted);font-size:.85rem;white-space:nowrap}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);overflow-wrap:break-word}
td .why,td .dur,td .maint{display:block}
th{font-size:.8rem;color:var(--muted);font-weight:600}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;padding:0;margin:0 0 1rem;color:var(--muted)}
footer{color:var(--muted);font-size:.85rem}
.crumb{margin:0;font-size:.9rem}.stateline{font-size:1.05rem;margin:0 0 1rem}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}.facts dt{color:var(--muted)}.facts dd{margin:0}
.avail{list-style:none;display:flex;flex-wrap:wrap;gap:1rem 1.5rem;padding:0;margin:0 0 .5rem}.pct{font-size:1.4rem;font-weight:700;display:block}
.strip{display:block;flex-basis:100%;width:100%;height:6px;margin-top:.15rem;border-radius:2px}.strip path{fill:none;stroke-width:1}.strip .u{stroke:var(--up)}.strip .d{stroke:var(--down)}.strip .l{stroke:var(--warn)}.strip .n{stroke:var(--line)}
.strip.su{background:var(--up)}.strip.sd{background:var(--down)}.strip.sl{background:var(--warn)}.strip.sn{background:var(--line)}
.note{color:var(--muted);font-size:.85rem;margin:.3rem 0}.chart{display:block}.chart .ok{fill:var(--up)}.chart .bad{fill:var(--down)}
.log{table-layout:fixed}.w-time{width:7rem}.w-sig{width:8rem}.w-dur{width:5.5rem}
pre.out{margin:0;max-height:24rem;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere;font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;background:var(--bg);padding:.4rem;border-radius:4px}
@media (max-width:32rem){.items{grid-template-columns:1fr}.opt{display:none}
table.rows,.rows tbody,.rows tr,.rows td{display:block}.rows thead{display:none}.rows tr{padding:.4rem 0;border-bottom:1px solid var(--line)}
.rows td{border:0;padding:.1rem 0;display:flex;gap:.6rem}.rows td::before{content:attr(data-label);flex:0 0 7.5rem;color:var(--muted);font-size:.8rem}.rows .v{flex:1;min-width:0}.rows td.opt{display:none}}
`.trim()

/** For the Content-Security-Policy: the one inline style this page may apply. */
export const STYLE_HASH = `sha256-${createHash('sha256').update(STYLE).digest('base64')}`

/**
 * The one vocabulary of states, for items and scripts alike, on the page and the check pages: a
 * mark, a word and a class. Shape and word as well as colour: a reader who cannot tell green from
 * red still can tell these. In legend order.
 */
const LOOK: Record<CheckStatus, { readonly mark: string; readonly label: string }> = {
  up: { mark: '●', label: 'Up' },
  running: { mark: '▶', label: 'Running' },
  late: { mark: '▲', label: 'Late' },
  failed: { mark: '✖', label: 'Failed' },
  timeout: { mark: '⧗', label: 'Timeout' },
  never: { mark: '○', label: 'Never' },
  paused: { mark: '‖', label: 'Paused' },
  maintenance: { mark: '◆', label: 'Maintenance' },
}
const isHeld = (status: CheckStatus) => status === 'paused' || status === 'maintenance'

const favicon = (ok: boolean) =>
  `data:image/svg+xml,${encodeURIComponent(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="${ok ? '#4CAF50' : '#F44336'}"/></svg>`)}`

/** "3 min ago" with the exact time on hover, or "never". */
const when = (ms: number | undefined | null, now: number) =>
  ms === undefined || ms === null ? '<span class="since">never</span>' : `<span class="since" title="${localTime(ms) ?? '–'}">${relativeTime(ms, now)}</span>`

/**
 * "due in 3 h" while the check is up or running, "late by 12 min" while it is late; nothing
 * otherwise (a failed or paused check is not "due"), nor before the first check-in.
 */
export function dueText(due: Due | undefined, status: CheckStatus, now: number): string {
  if (due === undefined || !Number.isFinite(due.nextDue)) return ''
  if (status === 'late') return `<span class="due late">late by ${relativeTime(due.deadline, now).replace(/ ago$/, '')}</span>`
  if (status !== 'up' && status !== 'running') return ''
  return `<span class="due">due ${relativeTime(due.nextDue, now)}</span>`
}

// cronstrue runs once per schedule, not once per page view.
const scheduleWords = new WeakMap<Schedule, string>()
export const inWords = (schedule: Schedule) => {
  let words = scheduleWords.get(schedule)
  if (words === undefined) {
    words = describeSchedule(schedule)
    scheduleWords.set(schedule, words)
  }
  return words
}

/**
 * What the runs say, for the line under a check: why it is not plainly up (running, failed,
 * timed out, failures short of the threshold) and how long its last run took. Lateness and
 * never are told by the due time and the "never" already there.
 */
function runText({ check, status, due, runs, streak }: ItemStatus | ScriptStatus, now: number): string {
  const reason = status === 'late' || status === 'never' ? null : statusReason(status, check, due, runs, streak, now)
  return (
    (reason === null ? '' : `<span class="why">${h(reason)}</span>`) +
    (runs.lastDuration === undefined ? '' : `<span class="dur">last run ${humanSeconds(runs.lastDuration)}</span>`)
  )
}

/** The next maintenance window, while the check is not in one: "maintenance in 3 d for 2h". */
export function windowText({ check, status }: ItemStatus | ScriptStatus, now: number): string {
  if (status === 'maintenance') return ''
  const next = nextWindow(check.maintenance, now)
  if (next === undefined) return ''
  return `<span class="maint" title="${localTime(next.start) ?? '–'}">maintenance ${relativeTime(next.start, now)} for ${humanSeconds((next.end - next.start) / 1000)}</span>`
}

/** An item's or a script's own page. */
const itemHref = (id: string) => `/item/${encodeURIComponent(id)}`
const scriptHref = (id: number) => `/script/${id}`

/** How a check shows its state: its mark, its word, and its class (held: paused or in maintenance). */
export function looks({ status }: { status: CheckStatus }): { mark: string; label: string; cls: string } {
  const { mark, label } = LOOK[status]
  return { mark, label, cls: isHeld(status) ? 'held' : isUp(status) ? status : `${status} down` }
}

/** What the page shows of each check's last day: its recent flips by key, oldest first, and its last flip (its state when it has none of late). */
export interface History {
  readonly flips: ReadonlyMap<string, readonly Flip[]>
  readonly heads: ReadonlyMap<string, FlipHead>
}

/** The span of a history strip, in minutes: a minute is a unit of its SVG. */
const STRIP_MINUTES = 1440
/**
 * A strip's x is in minutes since this instant, whatever the time of the render: a check's rects
 * stay the same string until it flips again, and only the viewBox moves with the clock.
 */
const STRIP_EPOCH = Date.UTC(2026, 0, 1)
const minuteOf = (ms: number) => Math.floor((ms - STRIP_EPOCH) / 60_000)
/** A check's last state reaches this many minutes past its last flip (ten years): past any window. */
const STRIP_FOREVER = 5_256_000
/** A strip's class of each state: up, down, late, or not judged. */
const STRIP_CLASS: Record<FlipState, string> = { up: 'u', failed: 'd', timeout: 'd', late: 'l', never: 'n', paused: 'n', maintenance: 'n' }
/** A segment of a strip: a line across its middle from x, `width` long, stroked a unit wide. */
const box = (x: number, width: number) => `M${x} .5h${width}`
/**
 * A strip's segments as one path per class: a rect per segment made 10,000 strips more than the
 * rest of the page together.
 */
function paths(segments: Iterable<readonly [FlipState, number, number]>): string {
  const byClass = new Map<string, string>()
  for (const [state, x, width] of segments) {
    const cls = STRIP_CLASS[state]
    byClass.set(cls, (byClass.get(cls) ?? '') + box(x, width))
  }
  let out = ''
  for (const [cls, d] of byClass) out += `<path class="${cls}" d="${d}"/>`
  return out
}

// Rendering 10,000 strips at every page view cost more than the rest of the page: each check's
// paths are built once per change of its flips (the memory appends a flip and drops old ones, so
// its newest seq tells a change).
const stripPaths = new WeakMap<readonly Flip[], { readonly seq: number; readonly svg: string }>()

/** The paths of a check's recent flips (oldest first, at least one), in STRIP_EPOCH minutes. */
function pathsOf(flips: readonly Flip[]): string {
  const newest = flips.at(-1)!
  const known = stripPaths.get(flips)
  if (known?.seq === newest.seq) return known.svg
  const segments: [FlipState, number, number][] = []
  let x = minuteOf(flips[0]!.at) - STRIP_MINUTES
  let state = flips[0]!.from
  for (const flip of flips) {
    const at = minuteOf(flip.at)
    if (at > x) {
      segments.push([state, x, at - x])
      x = at
    }
    state = flip.to
  }
  segments.push([state, x, STRIP_FOREVER])
  const svg = paths(segments)
  stripPaths.set(flips, { seq: newest.seq, svg })
  return svg
}

/** ms down within [from, now] of a check whose state before its `flips` was `start`. */
function downWithin(start: FlipState, flips: readonly Flip[], from: number, now: number): number {
  let down = 0
  for (const { from: a, to: b, state } of segments(start, flips, from, now)) if (isDownState(state)) down += b - a
  return down
}

/**
 * The check's last 24 h as an inline SVG strip, a minute to a unit, coloured by state, as Uptime
 * Kuma's heartbeat bar; its title says how long it was down. No script, no request.
 */
function strip(key: string, history: History | undefined, now: number): string {
  if (history === undefined) return ''
  const flips = history.flips.get(key)
  const from = now - STRIP_MINUTES * 60_000
  const start = flips?.[0]?.from ?? history.heads.get(key)?.to ?? 'never'
  const down = downWithin(start, flips ?? [], from, now)
  const text = down === 0 ? 'Not down in 24 h' : `Down ${humanSeconds(Math.round(down / 1000))} in 24 h`
  // A check with no flip of late is one colour: the strip's own background, no path.
  if (flips === undefined || flips.length === 0) return `<svg class="strip s${STRIP_CLASS[start]}" role="img"><title>${text}</title></svg>`
  return `<svg class="strip" viewBox="${minuteOf(now) - STRIP_MINUTES + 1} 0 ${STRIP_MINUTES} 1" preserveAspectRatio="none" role="img"><title>${text}</title>${pathsOf(flips)}</svg>`
}

const item = (s: ItemStatus, now: number, history?: History) => {
  const { item, status, lastRefresh, due } = s
  const sub =
    (item.check.schedule.kind === 'cron' ? `<span class="sched">${h(inWords(item.check.schedule))}</span>` : '') +
    dueText(due, status, now) +
    runText(s, now) +
    windowText(s, now)
  const { mark, label, cls } = looks(s)
  return (
    `<li class="${cls}" data-status="${status}"><span class="mark" aria-hidden="true">${mark}</span>` +
    `<a class="name" href="${h(itemHref(item.id))}">${h(item.name)}</a><span class="state">${label}</span>${when(lastRefresh, now)}` +
    (sub === '' ? '' : `<span class="sub">${sub}</span>`) +
    strip(item.id, history, now) +
    '</li>'
  )
}

/** A table cell that a phone shows as a labelled line of a card. */
export const cell = (label: string, html: string, extra = '') => `<td data-label="${label}"${extra}><span class="v">${html}</span></td>`

const scriptRow = (s: ScriptStatus, now: number, history?: History) => {
  const { script } = s
  const { mark, label, cls } = looks(s)
  return (
    `<tr class="${cls}">` +
    cell('State', `<span class="mark" aria-hidden="true">${mark}</span> <span class="state">${label}</span>`) +
    cell('ID', String(script.id), ' class="opt"') +
    cell('Name', `<a href="${scriptHref(script.id)}">${h(script.name)}</a>${strip(scriptKey(script.id), history, now)}`) +
    cell('Server', h(script.server)) +
    cell('Last execution', when(script.lastExec, now)) +
    cell('Last run', runText(s, now) + windowText(s, now)) +
    '</tr>'
  )
}

/** Items or rows rendered per chunk: a page of 100k items streams out in small pieces. */
const CHUNK = 500

function* chunked<T>(rows: readonly T[], render: (row: T) => string): Generator<string> {
  for (let i = 0; i < rows.length; i += CHUNK)
    yield rows
      .slice(i, i + CHUNK)
      .map(render)
      .join('')
}

/** Every state with its mark and word, in order. */
const LEGEND = (Object.keys(LOOK) as CheckStatus[])
  .map((status) => {
    const { mark, label, cls } = looks({ status })
    return `<li class="${cls}"><span class="mark" aria-hidden="true">${mark}</span> ${label}</li>`
  })
  .join('')

/** Names in the banner at most: the rest are counted. */
const BANNER_NAMES = 5

/** "3 down: SMTP/IMAP, Flaky sync, CDN": how many checks are down and which (the first few, then how many more). */
function downText(s: Snapshot<Config>): string {
  const names = new Set<string>()
  // An id in several groups is one check.
  const ids = new Set<string>()
  let down = 0
  for (const g of s.groups)
    for (const i of g.items) {
      if (i.state !== 'down' || ids.has(i.item.id)) continue
      ids.add(i.item.id)
      down++
      if (names.size < BANNER_NAMES) names.add(i.item.name)
    }
  for (const r of s.scripts) {
    if (isUp(r.status)) continue
    down++
    if (names.size < BANNER_NAMES) names.add(r.script.name)
  }
  const more = down - names.size
  return `${down} down: ${[...names].join(', ')}${more > 0 ? ` and ${more} more` : ''}`
}

/** A page's start, up to its <main>: one style (see STYLE_HASH), a favicon, a reload every `refresh` seconds. */
export const documentHead = (title: string, ok: boolean, refresh: number) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${refresh}">
<title>${h(title)}</title>
<link rel="icon" href="${favicon(ok)}">
<style>${STYLE}</style>
</head>
<body>
<main>`

/**
 * The page, in chunks: streamed to the client as they are made, so that a large config never
 * needs the whole document in memory at once.
 */
export function* renderPage(s: Snapshot<Config>, tags: readonly string[] = [], history?: History): Generator<string, void, void> {
  const { config, now } = s
  const ok = s.itemsDown === 0 && s.scriptsNotOk === 0
  const filter =
    tags.length === 0
      ? ''
      : `<p class="filter">Checks tagged ${tags.map((tag) => `<strong>${h(tag)}</strong>`).join(' and ')}${s.groups.length === 0 ? ': none' : ''} · <a href="./">all checks</a></p>\n`
  yield `${documentHead(config.title, ok, config.refreshInterval)}
<h1>${h(config.title)}</h1>
${filter}<p class="banner ${ok ? 'ok' : 'issues'}" role="status">${ok ? 'All systems are operational' : h(downText(s))}</p>
`
  for (const g of s.groups) {
    yield `<section class="box"><h2>${h(g.name)}</h2><ul class="items">`
    // Down first, each part in config order.
    yield* chunked(
      g.items.filter((i) => i.state === 'down'),
      (i) => item(i, now, history),
    )
    yield* chunked(
      g.items.filter((i) => i.state === 'up'),
      (i) => item(i, now, history),
    )
    yield '</ul></section>\n'
  }
  if (s.scripts.length > 0) {
    yield '<section class="box"><h2>Scripts</h2><table class="rows"><thead><tr><th>State</th><th class="opt">ID</th><th>Name</th><th>Server</th><th>Last execution</th><th>Last run</th></tr></thead><tbody>'
    yield* chunked(s.scripts, (r) => scriptRow(r, now, history))
    yield '</tbody></table></section>\n'
  }
  yield `<ul class="legend">${LEGEND}</ul>
<footer>Current server time: ${localTime(now) ?? '–'} (refreshing every ${config.refreshInterval} seconds)</footer>
</main>
</body>
</html>
`
}
