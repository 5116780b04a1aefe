// The JSON Schema of config.yml. The TypeScript types are derived from it (FromSchema), and
// `npm run schema` writes it to config.schema.json for editors; a test keeps the two in sync.
import type { FromSchema } from 'json-schema-to-ts'
import { DURATION_MAX, DURATION_PATTERN } from '../domain/duration.js'
import { SIGNALS_KEPT, THRESHOLD_MAX } from '../domain/run.js'

export const NAME_MAX = 200
/**
 * Text that is stored holds no NUL: PostgreSQL's text cannot, and both stores must take the same.
 * errors.ts words its refusal.
 */
export const NO_NUL = '^[^\\u0000]*$'
/** Ten years: a longer period is a typo, and would never make a script late. */
const PERIOD_MAX = DURATION_MAX

/** hourly, daily, weekly, monthly, or a number of seconds. Shared with the Scripto API. */
export const periodicitySchema = {
  description: 'How often a script is expected to run: hourly, daily, weekly, monthly (1, 24, 168, 730 hours) or a number of seconds.',
  type: ['string', 'number'],
  if: { type: 'string' },
  then: { enum: ['hourly', 'daily', 'weekly', 'monthly'] },
  else: { exclusiveMinimum: 0, maximum: PERIOD_MAX },
} as const

const positiveSeconds = (description: string) => ({ description, type: 'number', exclusiveMinimum: 0, maximum: DURATION_MAX }) as const

/**
 * Seconds as a number, or a Prometheus duration string (90s, 15m, 2h, 1d, 1w, 1h30m); 0 allowed, up
 * to DURATION_MAX (a string beyond it is refused when it is parsed).
 */
const duration = <D extends string>(description: D) =>
  ({
    description,
    type: ['number', 'string'],
    if: { type: 'string' },
    then: { pattern: DURATION_PATTERN },
    else: { minimum: 0, maximum: DURATION_MAX },
  }) as const
/** As duration, but more than 0 (a string of zeros is refused when the config is normalised). */
const positiveDuration = <D extends string>(description: D) =>
  ({
    description,
    type: ['number', 'string'],
    if: { type: 'string' },
    then: { pattern: DURATION_PATTERN },
    else: { exclusiveMinimum: 0, maximum: DURATION_MAX },
  }) as const

const scheduleFields = {
  schedule: {
    description:
      'A cron expression: 5 fields (or 6 with seconds first), @hourly, @daily, @weekly, @monthly, @yearly; L, W, # and names (MON, JAN). Instead of interval.',
    type: 'string',
    minLength: 1,
    maxLength: NAME_MAX,
    pattern: NO_NUL,
    examples: ['30 2 * * *', '0 9 * * MON-FRI', '*/15 8-18 * * *', '0 0 L * *', '@hourly'],
  },
  tz: {
    description: 'IANA time zone of the schedule (default: statuspage.tz).',
    type: 'string',
    minLength: 1,
    maxLength: 64,
    pattern: NO_NUL,
    examples: ['Europe/Berlin', 'America/New_York', 'UTC'],
  },
  grace: { ...duration('How long after its due time a check-in is still on time (default: statuspage.grace).'), examples: ['15m', '1h', 300] },
} as const

const threshold = <D extends string>(description: D) => ({ description, type: 'integer', minimum: 1, maximum: THRESHOLD_MAX }) as const

/** Limits on runs (start and finish signals); shared with the Scripto API. */
export const runLimitFields = {
  max_runtime: {
    ...positiveDuration('A run still open this long after its start is a timeout (down) until the next signal. Off by default.'),
    examples: ['2h', 90],
  },
  min_runtime: {
    ...positiveDuration('A successful run shorter than this counts as a failure ("too fast"). Off by default.'),
    examples: ['30s'],
  },
  failure_threshold: threshold('Failed runs in a row before the check is down (default 1).'),
  recovery_threshold: threshold('Successful runs in a row, once down for failures, before the check is up again (default 1).'),
} as const

/** Maintenance windows: a check inside one is in maintenance, not down, and its lateness waits. */
const maintenanceSchema = {
  description: 'Maintenance windows: inside one a check is in maintenance (not down), and a deadline that falls inside one moves to its end plus grace.',
  type: 'array',
  maxItems: 20,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['schedule', 'duration'],
    properties: {
      schedule: { ...scheduleFields.schedule, description: 'A cron expression: when each window starts.', examples: ['0 2 * * SUN', '0 22 * * 1-5'] },
      duration: { ...positiveDuration('How long each window lasts.'), examples: ['2h', '30m'] },
      tz: { ...scheduleFields.tz, description: 'IANA time zone of the schedule (default: statuspage.tz).' },
    },
  },
} as const

const TAG_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:-]*$'

const tagsSchema = {
  description: 'Tags, for filters (/?tag=, the checks API), badges per tag (/badge/tag/<tag>.svg) and statuspage_tag_up.',
  type: 'array',
  maxItems: 20,
  uniqueItems: true,
  items: { type: 'string', minLength: 1, maxLength: 64, pattern: TAG_PATTERN },
  examples: [['backup', 'prod']],
} as const

/** The fields of a check, in config.yml and in the checks API. */
export const checkFields = {
  interval: positiveDuration('How long this check stays up after a check-in; overrides statuspage.interval. Not with schedule.'),
  ...scheduleFields,
  ...runLimitFields,
  manual_resume: {
    description: 'While paused, signals are logged and ignored: only a resume (POST .../resume) releases it (default false: any signal does).',
    type: 'boolean',
  },
  maintenance: maintenanceSchema,
  tags: tagsSchema,
} as const

const itemSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'id'],
  properties: {
    name: {
      description: 'Shown on the page and as the `name` label.',
      type: ['string', 'integer'],
      minLength: 1,
      maxLength: NAME_MAX,
      pattern: NO_NUL,
    },
    id: {
      description: 'Refreshed with GET /refresh/<id>; one id may stand in several groups.',
      type: ['string', 'integer'],
      minLength: 1,
      maxLength: NAME_MAX,
      pattern: NO_NUL,
    },
    ...checkFields,
  },
} as const

const itemList = { type: 'array', minItems: 1, items: itemSchema } as const

export const configSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'statuspage config.yml',
  type: 'object',
  additionalProperties: false,
  required: ['statuspage'],
  properties: {
    statuspage: {
      type: 'object',
      additionalProperties: false,
      required: ['token', 'groups'],
      properties: {
        title: { description: 'Title of the status page.', type: 'string', default: 'Status', maxLength: NAME_MAX, pattern: NO_NUL },
        token: {
          description: 'Secret for refreshes and script reports. Generate: head -c 1000 /dev/urandom | sha512sum | cut -c 1-64',
          type: 'string',
          minLength: 32,
        },
        ping_key: {
          description:
            'Enables Healthchecks-style ping URLs, /ping/<ping_key>/<id>[/start|/fail|/<exit status>]: a secret that allows check-ins and nothing else. Generate as the token.',
          type: 'string',
          minLength: 32,
        },
        keys: {
          description:
            'Named keys, each with scopes: read (the page, the API and /metrics of a private instance), ping (check-ins: X-Token, Bearer, or in /ping/<key>/<id> URLs), write (define checks, pause, Scripto writes; also ping and read), admin (all, as the token). tags: limited to the checks with one of them.',
          type: 'array',
          maxItems: 1000,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'key', 'scopes'],
            properties: {
              name: { description: 'Names the key in logs and errors.', type: 'string', minLength: 1, maxLength: 64, pattern: NO_NUL },
              key: {
                description: 'sha256:<64 hex digits> of the secret (printf %s "$SECRET" | sha256sum); a plain secret is accepted, with a warning.',
                type: 'string',
                minLength: 32,
                maxLength: 200,
              },
              scopes: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: ['read', 'ping', 'write', 'admin'] } },
              tags: { ...tagsSchema, description: 'The key acts only on checks with one of these tags (none: on every check).', minItems: 1 },
            },
          },
        },
        public: {
          description:
            'false: the page, check pages, badges, /api/v1/status and /metrics need a read key (or the token); badges can still be embedded through signed URLs.',
          type: 'boolean',
          default: true,
        },
        auto_provision: {
          description:
            "Checks created on their first ping: /ping/<ping_key>/<id>?create=1 or /refresh/<id>?create=1 of an unknown id creates it with these fields (201; 200 after), as Healthchecks' ?create=1 does. Off unless given.",
          type: 'object',
          additionalProperties: false,
          properties: {
            group: { description: 'The group of the checks it creates.', type: 'string', minLength: 1, maxLength: NAME_MAX, pattern: NO_NUL, default: 'Auto' },
            ...checkFields,
            max_checks: {
              description: 'Checks created so at most: past it, ?create=1 of a new id is a 404, so that a flood of random ids cannot fill the store.',
              type: 'integer',
              minimum: 1,
              maximum: 100_000,
              default: 1000,
            },
          },
        },
        interval: { ...positiveDuration('How long an item stays up after a refresh.'), default: 600 },
        tz: { description: 'IANA time zone of cron schedules that name none.', type: 'string', minLength: 1, maxLength: 64, default: 'UTC' },
        grace: duration('Grace of every check that names none (default: 0 for interval checks, 1h for cron checks).'),
        refresh_interval: { ...positiveSeconds('Seconds between reloads of the HTML page.'), default: 120 },
        show_output: {
          description: "Show each run's output on the public check pages (/item/<id>, /script/<id>). Off by default: an output can hold secrets.",
          type: 'boolean',
          default: false,
        },
        maintenance: { ...maintenanceSchema, description: 'Maintenance windows of every item and script.' },
        groups: {
          description: 'Group name -> its items, shown in file order; or -> {items, maintenance} for windows of the whole group.',
          type: 'object',
          minProperties: 1,
          propertyNames: { minLength: 1, maxLength: NAME_MAX, pattern: NO_NUL },
          additionalProperties: {
            if: { type: 'array' },
            then: itemList,
            else: {
              type: 'object',
              additionalProperties: false,
              required: ['items'],
              properties: { items: itemList, maintenance: { ...maintenanceSchema, description: 'Maintenance windows of every item of the group.' } },
            },
          },
        },
      },
    },
    scripto: {
      description: 'The Scripto-compatible script API at /api/v1/script.',
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        enabled: { description: 'Serve /api/v1/script.', type: 'boolean', default: true },
        require_token: {
          description: 'Writes need the statuspage token (false: the open API of the original Scripto).',
          type: 'boolean',
          default: true,
        },
        default_periodicity: { ...periodicitySchema, default: 'daily' },
      },
    },
    run_log: {
      description: "Each check's run log: its signals, with their source and output (the first 10 KiB of the body).",
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        keep: {
          description: `Entries shown per check, newest first (statuspage keeps the last ${SIGNALS_KEPT} signals of an item to count its thresholds).`,
          type: 'integer',
          minimum: 1,
          maximum: SIGNALS_KEPT,
          default: 100,
        },
        max_age: { ...positiveDuration('Outputs older than this are deleted; their entries stay.'), default: '30d' },
        max_output_mib: {
          description: 'Outputs of all checks together are kept under this many MiB, the oldest deleted first.',
          type: 'number',
          exclusiveMinimum: 0,
          maximum: 1_048_576,
          default: 256,
        },
      },
    },
    flips: {
      description: "Each check's flips: its changes of state (up, late, failed...), from which availability and downtimes are computed.",
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        max_age: { ...positiveDuration("Flips older than this are deleted, except each check's last one."), default: '400d' },
        max_per_check: {
          description: 'Flips kept per check, the oldest deleted first (a check that flaps all day makes thousands).',
          type: 'integer',
          minimum: 1,
          maximum: 1_000_000,
          default: 10_000,
        },
      },
    },
  },
} as const

export type RawConfig = FromSchema<typeof configSchema>
export type RawItem = FromSchema<typeof itemSchema>
export type RawWindows = FromSchema<typeof maintenanceSchema>
