// Request validation. Fastify's default Ajv removes unknown keys and coerces types everywhere;
// a body must instead be taken as sent (an unknown field or a wrong type is the client's error),
// while the URL's strings still need coercing into the integers that params and querystrings declare
// (and a query key given once into the list that a repeatable one, ?tag=, declares).
import { Ajv } from 'ajv'
import fp from 'fastify-plugin'

const common = { allErrors: true, useDefaults: true, removeAdditional: false, verbose: true, strict: true, strictTypes: false } as const
const strict = new Ajv({ ...common, coerceTypes: false })
// Under strictNumbers (part of strict), Ajv coerces "1e309" to Infinity and then lets it pass
// `maximum`; without it, the bound refuses Infinity as it should. URL strings cannot spell NaN.
const coercing = new Ajv({ ...common, strictNumbers: false, coerceTypes: 'array' })

export default fp(
  async (app) => {
    app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema))
  },
  { name: 'validation' },
)
