// Result rows and their printing.
export interface Row {
  what: string
  statuspage: string
  baseline: string
  ratio: string
  goal: string
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** A Markdown table, readable in a terminal and pasteable into bench/RESULTS.md. */
export function table(rows: readonly Row[]): string {
  const head: Row = { what: 'measure', statuspage: 'statuspage', baseline: 'baseline', ratio: 'ratio', goal: 'goal' }
  const keys = Object.keys(head) as (keyof Row)[]
  const width = Object.fromEntries(keys.map((k) => [k, Math.max(...[head, ...rows].map((r) => r[k].length))])) as Record<keyof Row, number>
  const line = (r: Row) => `| ${keys.map((k) => r[k].padEnd(width[k])).join(' | ')} |`
  return [line(head), `| ${keys.map((k) => '-'.repeat(width[k])).join(' | ')} |`, ...rows.map(line)].join('\n')
}
