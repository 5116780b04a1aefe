// Shields-style badges ("<name> | up") as SVG, and the shields.io endpoint JSON for the same.
import { escapeHtml as x } from './html.js'

type Tone = 'good' | 'bad' | 'warn' | 'info' | 'none'

export interface Badge {
  readonly label: string
  readonly message: string
  readonly tone: Tone
}

/** The tone of each state a badge shows: the page's vocabulary (CheckStatus). */
export const TONE = {
  up: 'good',
  running: 'good',
  failed: 'bad',
  timeout: 'bad',
  late: 'warn',
  never: 'none',
  paused: 'none',
  maintenance: 'info',
} as const

// Shields' own colours, as hex for the SVG and by name for the endpoint JSON.
const HEX: Record<Tone, string> = { good: '#4c1', bad: '#e05d44', warn: '#fe7d37', info: '#007ec6', none: '#9f9f9f' }
const SHIELDS: Record<Tone, string> = { good: 'brightgreen', bad: 'red', warn: 'orange', info: 'blue', none: 'lightgrey' }

// Verdana 11px averages about 7 px a character; textLength makes the text fit whatever font renders it.
const textWidth = (s: string) => Math.max(1, [...s].length) * 7

export function badgeSvg({ label, message, tone }: Badge): string {
  const lw = textWidth(label) + 10
  const mw = textWidth(message) + 10
  const w = lw + mw
  const title = x(`${label}: ${message}`)
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${title}"><title>${title}</title>` +
    `<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>` +
    `<clipPath id="r"><rect width="${w}" height="20" rx="3" fill="#fff"/></clipPath>` +
    `<g clip-path="url(#r)"><rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${mw}" height="20" fill="${HEX[tone]}"/><rect width="${w}" height="20" fill="url(#s)"/></g>` +
    `<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">` +
    `<text x="${lw / 2}" y="14" textLength="${lw - 10}">${x(label)}</text>` +
    `<text x="${lw + mw / 2}" y="14" textLength="${mw - 10}">${x(message)}</text></g></svg>`
  )
}

/** https://shields.io/badges/endpoint-badge */
export const badgeJson = ({ label, message, tone }: Badge) => ({ schemaVersion: 1, label, message, color: SHIELDS[tone] })
