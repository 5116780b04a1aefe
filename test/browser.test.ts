// The page in a real browser, with JavaScript off: it must need none.
import { join } from 'node:path'
import t from 'tap'
import { TOKEN, yamlConfig } from './helpers/app.js'
import { launchChromium } from './helpers/browser.js'
import { startCli } from './helpers/cli.js'

// Page functions as text: they run in the browser, and the DOM's types are not this project's.
const BACKGROUND = `getComputedStyle(document.querySelector('.banner')).backgroundColor`

t.test('the page reloads itself: the banner flips to operational once the item checks in, with no script', async (t) => {
  const browser = await launchChromium(t)
  if (!browser) return
  // Never refreshed, the item is down until the check-in below; then up for an hour. Neither state
  // depends on how fast this machine is.
  const dir = t.testdir({
    'config.yml': yamlConfig({ extra: '  refresh_interval: 1\n', groups: '\n    Web:\n      - {name: Website, id: web, interval: 3600}\n' }),
  })
  const cli = await startCli(t, ['--db', join(dir, 'sp.db'), join(dir, 'config.yml')])

  const context = await browser.newContext({ javaScriptEnabled: false })
  const page = await context.newPage()
  const blocked: string[] = []
  page.on('console', (m) => m.type() === 'error' && blocked.push(m.text()))
  await page.goto(cli.url)
  t.equal(await page.locator('.banner').textContent(), '1 down: Website', 'the banner counts and names what is down')
  t.equal(await page.evaluate(BACKGROUND), 'rgb(244, 67, 54)', 'the inline style is allowed by the CSP')
  t.equal(await page.locator('li.down .state').textContent(), 'Never', 'down is said in words, not only in colour')

  await fetch(`${cli.url}/refresh/web`, { headers: { 'x-token': TOKEN } })
  // The page reloads itself every refresh_interval (1 s), through its meta refresh alone.
  await page.waitForFunction(`document.querySelector('.banner')?.textContent === 'All systems are operational'`, undefined, { timeout: 15_000 })
  t.equal(await page.evaluate(BACKGROUND), 'rgb(76, 175, 80)')
  t.equal(await page.locator('li.up .state').textContent(), 'Up')
  t.same(blocked, [], 'nothing was blocked or failed to load')
})

t.test('the shipped config renders its groups, then the scripts with problems first (UPDATE_SCREENSHOT=1 refreshes the README picture)', async (t) => {
  const browser = await launchChromium(t)
  if (!browser) return
  const dir = t.testdir()
  const cli = await startCli(t, ['--db', join(dir, 'sp.db'), 'config.yml'])
  const token = (await import('node:fs')).readFileSync('config.yml', 'utf8').match(/^ {2}token: (\S+)/m)![1]!
  const headers = { 'x-token': token, 'content-type': 'application/json' }
  for (const id of ['http', 'dns', 'dns-internal', 'backup']) await fetch(`${cli.url}/refresh/${id}`, { headers })
  const scripts = [
    { name: 'backup.sh', server: 'db1', status: 1, last_exec: 'CURRENT_TIMESTAMP' },
    { name: 'rotate-logs.sh', server: 'web1', status: 0, last_exec: 'CURRENT_TIMESTAMP' },
    { name: 'report.py', server: 'web1', status: 1, last_exec: '2020-01-01T06:00:00' },
  ]
  for (const s of scripts) await fetch(`${cli.url}/api/v1/script`, { method: 'POST', headers, body: JSON.stringify(s) })

  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 900, height: 700 } })
  const page = await context.newPage()
  await page.goto(cli.url)
  t.same(await page.locator('h2').allTextContents(), ['SomeGroup', 'Group #2', 'Scripts'], "the shipped config's groups, then the scripts")
  t.same(await page.locator('tbody .state').allTextContents(), ['Late', 'Failed', 'Up'], 'problems first, then the oldest')
  const backup = page.locator('li', { hasText: 'Nightly backup' })
  t.equal(await backup.locator('.sched').textContent(), 'At 02:30 (Europe/Berlin)', 'the cron item shows its schedule in words, with its zone')
  t.match(await backup.locator('.due').textContent(), /^due in \d+ (h|min)$/, 'and when it is next due')
  t.ok(await backup.locator('.sched').isVisible(), 'visible, not only in the markup')
  // UPDATE_SCREENSHOT=1 npm test refreshes the picture in the README.
  const path = process.env.UPDATE_SCREENSHOT ? 'docs/img/screenshot.png' : join(dir, 'screenshot.png')
  await page.screenshot({ path, fullPage: true })
})
