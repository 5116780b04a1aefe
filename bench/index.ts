// npm run bench: every figure measured in this run, on this machine.
import { cpus, totalmem } from 'node:os'
import { scrapeBench } from './scrape.js'
import { table } from './table.js'

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`
process.stdout.write(`statuspage benchmarks on ${machine}\n\n`)
const rows = await scrapeBench()
process.stdout.write(`${table(rows)}\n`)
