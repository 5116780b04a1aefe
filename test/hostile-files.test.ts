// Hostile files: junk and huge configs, links, unreadable files, broken databases. Each gets a clear
// one-line reason and an exit code, never a stack trace or a hang.
import { randomBytes } from 'node:crypto'
import { chmodSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../src/config/load.js'
import { yamlConfig } from './helpers/app.js'
import { requireBinary } from './helpers/binaries.js'
import { runCli } from './helpers/cli.js'

t.test('1 MB of junk is refused with a few clear lines and exit code 2', async (t) => {
  const dir = t.testdir()
  const cases = {
    'binary.yml': randomBytes(1024 * 1024),
    'text.yml': 'statuspage: [\n'.repeat(80_000),
    'deep.yml': `${'['.repeat(100_000)}`,
  }
  for (const [name, junk] of Object.entries(cases)) {
    writeFileSync(join(dir, name), junk)
    const result = loadConfig(join(dir, name))
    t.equal(result.ok, false, name)
    if (!result.ok) {
      t.ok(result.errors.length >= 1 && result.errors.length <= 10, `${name}: ${result.errors.length} line(s)`)
      t.ok(
        result.errors.every((l) => l.startsWith(`${join(dir, name)}: `) && !l.includes('\n    at ')),
        `${name}: named, no stack: ${result.errors[0]!.slice(0, 120)}`,
      )
    }
  }
  const cli = await runCli(['--db', join(dir, 'sp.db'), join(dir, 'binary.yml')])
  t.equal(cli.code, 2)
  t.notMatch(cli.stderr, /\n\s+at /, 'no stack trace')
})

t.test('a config of 100,000 items loads', async (t) => {
  const groups = Array.from(
    { length: 1000 },
    (_, g) => `\n    g${g}:\n${Array.from({ length: 100 }, (_, i) => `      - {name: item ${i}, id: g${g}-${i}}\n`).join('')}`,
  ).join('')
  const dir = t.testdir({ 'big.yml': yamlConfig({ groups }) })
  const result = loadConfig(join(dir, 'big.yml'))
  t.equal(result.ok && result.config.items.length, 100_000)
})

t.test('a symlinked config is followed (as Kubernetes mounts ConfigMaps); a dangling one is named', async (t) => {
  const dir = t.testdir({ 'real.yml': yamlConfig() })
  symlinkSync(join(dir, 'real.yml'), join(dir, 'config.yml'))
  t.equal(loadConfig(join(dir, 'config.yml')).ok, true)
  symlinkSync(join(dir, 'gone.yml'), join(dir, 'dangling.yml'))
  t.same(loadConfig(join(dir, 'dangling.yml')), { ok: false, errors: [`${join(dir, 'dangling.yml')}: cannot read the file (ENOENT)`] })
})

t.test('an unreadable config stops start-up with exit code 2, naming the reason', async (t) => {
  const dir = t.testdir({ 'secret.yml': yamlConfig() })
  chmodSync(join(dir, 'secret.yml'), 0o000)
  if (process.getuid?.() === 0 && !requireBinary(t, 'setpriv', 'apt-get install util-linux')) return
  const res = await runCli(['--db', join(dir, 'sp.db'), join(dir, 'secret.yml')], { obeyFileModes: true })
  t.equal(res.code, 2)
  t.equal(res.stderr, `${join(dir, 'secret.yml')}: cannot read the file (EACCES)\n`)
})

t.test('a database file that is not a database stops start-up with exit code 1 and the reason', async (t) => {
  const dir = t.testdir({ 'config.yml': yamlConfig(), 'sp.db': randomBytes(8192) })
  const res = await runCli(['--db', join(dir, 'sp.db'), join(dir, 'config.yml')])
  t.equal(res.code, 1)
  t.equal(res.stderr, `statuspage: cannot open the database ${join(dir, 'sp.db')}: file is not a database\n`)
})

t.test('a database where nothing can be written stops start-up with exit code 1 and the reason', async (t) => {
  const dir = t.testdir({ 'config.yml': yamlConfig() })
  const res = await runCli(['--db', '/proc/statuspage/sp.db', join(dir, 'config.yml')])
  t.equal(res.code, 1)
  t.match(res.stderr, /^statuspage: cannot open the database \/proc\/statuspage\/sp\.db: (ENOENT|EACCES|EROFS)[^\n]*\n$/)
})
