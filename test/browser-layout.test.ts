// The status page and a check page in a real browser at a phone's width (390 px) and a desktop's
// (1280 px), light and dark: no word wraps inside itself, nothing is wider than the screen.
// Screenshots land in the test's folder (UPDATE_SCREENSHOT=1 refreshes the README's pictures).
import { join } from 'node:path'
import t from 'tap'
import { TOKEN, yamlConfig } from './helpers/app.js'
import { launchChromium } from './helpers/browser.js'
import { startCli } from './helpers/cli.js'

// Page functions as text: they run in the browser, and the DOM's types are not this project's.
/** Every word (outside outputs, which scroll) whose text the browser laid out on more than one line. */
const WORDS_BROKEN = `(() => {
  const broken = []
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
  for (let node = walk.nextNode(); node; node = walk.nextNode()) {
    if (node.parentElement.closest('pre, svg')) continue
    for (const m of node.textContent.matchAll(/\\S+/g)) {
      const range = document.createRange()
      range.setStart(node, m.index)
      range.setEnd(node, m.index + m[0].length)
      const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)))
      if (lines.size > 1) broken.push(m[0])
    }
  }
  return broken
})()`
/** The screenshots the README shows. */
const README_SHOTS = new Set(['item-1280-light.png', 'status-390-dark.png'])
const OVERFLOW = 'document.documentElement.scrollWidth - window.innerWidth'
const BACKGROUND = 'getComputedStyle(document.body).backgroundColor'

const GROUPS = `
    Infrastructure:
      - {name: HTTP/HTTPS frontends, id: http, interval: 10m}
      - {name: Internal DNS resolvers, id: dns, interval: 10m, maintenance: [{schedule: "0 3 * * SUN", duration: 2h}]}
    Jobs:
      - {name: Nightly database backup, id: backup, schedule: "30 2 * * *", tz: Europe/Berlin, max_runtime: 2h}
      - {name: Certificate renewal, id: certs, interval: 1d}
`

t.test('at 390 and 1280 px, light and dark, no word wraps inside itself and nothing overflows', async (t) => {
  const browser = await launchChromium(t)
  if (!browser) return
  const dir = t.testdir({ 'config.yml': yamlConfig({ groups: GROUPS, extra: '  show_output: true\n' }) })
  const cli = await startCli(t, ['--db', join(dir, 'sp.db'), join(dir, 'config.yml')])
  const headers = { 'x-token': TOKEN, 'content-type': 'application/json' }
  const signal = (path: string, body?: string) => fetch(`${cli.url}/refresh/${path}`, { method: 'POST', headers: { 'x-token': TOKEN }, body })
  await signal('http')
  await signal('backup/start')
  // A 2 KB line, as an error with a long path or JSON in it: readable in full, wrapped, on a phone too.
  await signal('backup/1', `pg_dump: error: connection to server at "db1.internal" (10.0.0.7), port 5432 failed: FATAL: ${'x'.repeat(1950)} END\n`)
  await signal('certs/start')
  await signal('certs/0', 'renewed 3 certificates\n')
  await fetch(`${cli.url}/api/v1/items/dns/pause`, { method: 'POST', headers: { 'x-token': TOKEN } })
  for (const s of [
    { name: 'rotate-logs.sh', server: 'web1.example.com', status: 0, last_exec: 'CURRENT_TIMESTAMP' },
    { name: 'report.py', server: 'analytics', status: 1, last_exec: '2020-01-01T06:00:00' },
    { name: 'backup-offsite.sh', server: 'db1', status: 1, last_exec: 'CURRENT_TIMESTAMP' },
  ]) {
    await fetch(`${cli.url}/api/v1/script`, { method: 'POST', headers, body: JSON.stringify(s) })
  }

  for (const [width, height] of [
    [390, 844],
    [1280, 800],
  ] as const) {
    for (const colorScheme of ['light', 'dark'] as const) {
      const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width, height }, colorScheme })
      const page = await context.newPage()
      for (const [name, url] of [
        ['status', '/'],
        ['item', '/item/backup'],
        ['script', '/script/1'],
      ] as const) {
        const at = `${name} page at ${width} px, ${colorScheme}`
        await page.goto(cli.url + url)
        t.same(await page.evaluate(WORDS_BROKEN), [], `${at}: no word wraps inside itself`)
        t.ok(((await page.evaluate(OVERFLOW)) as number) <= 0, `${at}: nothing is wider than the screen`)
        t.equal(await page.evaluate(BACKGROUND), colorScheme === 'dark' ? 'rgb(18, 18, 18)' : 'rgb(242, 242, 242)', `${at}: follows the system's scheme`)
        if (name === 'status') {
          t.equal(
            await page.locator('.banner').textContent(),
            '3 down: Nightly database backup, report.py, rotate-logs.sh',
            `${at}: the banner names every down check`,
          )
          const strips = (await page.evaluate(
            `[...document.querySelectorAll('svg.strip')].map((s) => { const r = s.getBoundingClientRect(); const card = s.closest('li, td').getBoundingClientRect(); return [r.width, card.width] })`,
          )) as [number, number][]
          t.equal(strips.length, 7, `${at}: a history strip for every check and script`)
          t.ok(
            strips.every(([w, card]) => w > 100 && w <= card),
            `${at}: each strip as wide as its card or cell allows, none beyond it`,
          )
        }
        if (name === 'item') {
          const long = page.locator('pre.out', { hasText: 'FATAL' })
          t.ok(
            await long.evaluate((el: { scrollWidth: number; clientWidth: number }) => el.scrollWidth <= el.clientWidth),
            `${at}: the 2 KB line wraps, no part of it hidden sideways`,
          )
          t.ok(await long.locator('text=END').isVisible(), `${at}: its end is on the page`)
        }
        const shot = `${name}-${width}-${colorScheme}.png`
        const path = process.env.UPDATE_SCREENSHOT && README_SHOTS.has(shot) ? `docs/img/${shot}` : join(dir, shot)
        await page.screenshot({ path, fullPage: true })
      }
      if (width === 390) {
        t.same(
          await page.evaluate(`(() => { const p = document.querySelector('.rows thead'); return p && getComputedStyle(p).display })()`),
          'none',
          'on a phone the log is a list of cards, labelled line by line',
        )
      }
      await context.close()
    }
  }
})
