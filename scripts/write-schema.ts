// npm run schema: writes the config's JSON Schema for editors (yaml-language-server and the like).
// A test fails when the committed file differs from src/config/schema.ts.
import { writeFileSync } from 'node:fs'
import { configSchema } from '../src/config/schema.js'

writeFileSync('src/config/config.schema.json', `${JSON.stringify(configSchema, null, 2)}\n`)
