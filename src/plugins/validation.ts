// Request validation. Fastify's default Ajv removes unknown keys and coerces types everywhere;
// a body must instead be taken as sent (an unknown field or a wrong type is the client's error),
// while the URL's strings still need coercing into the integers that params and querystrings declare.
import { Ajv } from 'ajv'
import fp from 'fastify-plugin'

const common = { allErrors: true, useDefaults: true, removeAdditional: false, verbose: true, strict: true, strictTypes: false } as const
const strict = new Ajv({ ...common, coerceTypes: false })
const coercing = new Ajv({ ...common, coerceTypes: true })

export default fp(
  async (app) => {
    app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema))
  },
  { name: 'validation' },
)
