/**
 * Mental-health records. Nothing in these tables ever alerts a contact: text and scores are shown to the user
 * (and to whom they share a report with), never used to predict risk (NICE NG225; docs/safety-practice.md).
 */
import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  real,
  smallint,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { clientIdColumn, isUuidV7Check } from './ids.ts';
import { userIdColumn } from './identity.ts';
import { emergencyIncidents } from './safety.ts';
import { ownRowsPolicy, syncColumns, timestamps } from './rls.ts';

export const moodEntries = pgTable(
  'mood_entries',
  {
    id: clientIdColumn(),
    userId: userIdColumn(),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull(),
    /** 1 (very low) … 5 (very good). */
    mood: smallint('mood').notNull(),
    energy: smallint('energy'),
    anxiety: smallint('anxiety'),
    sleepHours: real('sleep_hours'),
    emotions: text('emotions')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    note: text('note'),
    /** Derived summary (themes, sentiment) for the user's own insights; informational only. */
    analysis: jsonb('analysis').$type<Record<string, unknown>>(),
    hlc: text('hlc'),
    ...syncColumns(),
    ...timestamps(),
  },
  (t) => [
    check('mood_entries_id_v7', isUuidV7Check(t.id)),
    check(
      'mood_entries_scales',
      sql`${t.mood} between 1 and 5 and (${t.energy} is null or ${t.energy} between 1 and 5)
        and (${t.anxiety} is null or ${t.anxiety} between 1 and 5)
        and (${t.sleepHours} is null or ${t.sleepHours} between 0 and 24)`,
    ),
    check('mood_entries_note_length', sql`length(${t.note}) <= 10000`),
    index('mood_entries_user_recorded_idx').on(t.userId, t.recordedAt.desc()),
    index('mood_entries_user_version_idx').on(t.userId, t.version),
    ownRowsPolicy(t.userId),
  ],
);

export const copingToolsUsage = pgTable(
  'coping_tools_usage',
  {
    id: clientIdColumn(),
    userId: userIdColumn(),
    /** e.g. `box_breathing`, `grounding_54321`, `safety_plan`, `journal`, `call_supporter`. */
    tool: text('tool').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    durationSeconds: integer('duration_seconds'),
    completed: boolean('completed').notNull().default(false),
    moodBefore: smallint('mood_before'),
    moodAfter: smallint('mood_after'),
    /** Distress the user rated before and after the tool, 0 (none) … 10 (the worst), issue #16 (SPEC WB21). */
    distressBefore: smallint('distress_before'),
    distressAfter: smallint('distress_after'),
    /** The user's own rating of how much it helped, 1 … 5: the effectiveness measure. */
    helpfulness: smallint('helpfulness'),
    incidentId: uuid('incident_id').references(() => emergencyIncidents.id, { onDelete: 'set null' }),
    ...syncColumns(),
    ...timestamps(),
  },
  (t) => [
    check('coping_tools_usage_id_v7', isUuidV7Check(t.id)),
    check('coping_tools_usage_tool', sql`${t.tool} ~ '^[a-z0-9_]{1,64}$'`),
    check(
      'coping_tools_usage_scales',
      sql`(${t.durationSeconds} is null or ${t.durationSeconds} >= 0)
        and (${t.moodBefore} is null or ${t.moodBefore} between 1 and 5)
        and (${t.moodAfter} is null or ${t.moodAfter} between 1 and 5)
        and (${t.helpfulness} is null or ${t.helpfulness} between 1 and 5)`,
    ),
    check(
      'coping_tools_usage_distress',
      sql`(${t.distressBefore} is null or ${t.distressBefore} between 0 and 10)
        and (${t.distressAfter} is null or ${t.distressAfter} between 0 and 10)`,
    ),
    index('coping_tools_usage_user_started_idx').on(t.userId, t.startedAt),
    index('coping_tools_usage_user_version_idx').on(t.userId, t.version),
    ownRowsPolicy(t.userId),
  ],
);

/** Completed check-in questionnaires (PHQ-9, GAD-7; SPEC WB40). Written once from `screener.record@1`. */
export const screenerResults = pgTable(
  'screener_results',
  {
    id: clientIdColumn(),
    userId: userIdColumn(),
    screener: text('screener', { enum: ['phq9', 'gad7'] }).notNull(),
    /** Every item's answer, 0–3, in the questionnaire's order. */
    answers: smallint('answers').array().notNull(),
    total: smallint('total').notNull(),
    completedAt: timestamp('completed_at', { withTimezone: true }).notNull(),
    ...syncColumns(),
    ...timestamps(),
  },
  (t) => [
    check('screener_results_id_v7', isUuidV7Check(t.id)),
    check(
      'screener_results_answers',
      sql`(${t.screener} = 'phq9' and cardinality(${t.answers}) = 9 and ${t.total} between 0 and 27)
        or (${t.screener} = 'gad7' and cardinality(${t.answers}) = 7 and ${t.total} between 0 and 21)`,
    ),
    index('screener_results_user_completed_idx').on(t.userId, t.completedAt.desc()),
    index('screener_results_user_version_idx').on(t.userId, t.version),
    ownRowsPolicy(t.userId),
  ],
);

export const insightKind = pgEnum('insight_kind', ['pattern', 'trend', 'recommendation', 'summary']);

export const aiInsights = pgTable(
  'ai_insights',
  {
    id: clientIdColumn(),
    userId: userIdColumn(),
    kind: insightKind('kind').notNull(),
    title: text('title').notNull(),
    body: text('body').notNull(),
    /** The entries the insight rests on (ids and figures), so the user can see why it was said. */
    evidence: jsonb('evidence').$type<Record<string, unknown>>().notNull().default({}),
    periodStart: date('period_start'),
    periodEnd: date('period_end'),
    /** What produced it, with version (e.g. `rules@3`, `model:name@date`). */
    generator: text('generator').notNull(),
    generatedAt: timestamp('generated_at', { withTimezone: true }).notNull().defaultNow(),
    seenAt: timestamp('seen_at', { withTimezone: true }),
    dismissedAt: timestamp('dismissed_at', { withTimezone: true }),
    helpful: boolean('helpful'),
    ...syncColumns(),
    ...timestamps(),
  },
  (t) => [
    check('ai_insights_id_v7', isUuidV7Check(t.id)),
    check('ai_insights_period', sql`${t.periodEnd} is null or ${t.periodStart} <= ${t.periodEnd}`),
    index('ai_insights_user_generated_idx').on(t.userId, t.generatedAt.desc()),
    index('ai_insights_user_version_idx').on(t.userId, t.version),
    ownRowsPolicy(t.userId),
  ],
);

export const therapyKind = pgEnum('therapy_kind', [
  'therapy',
  'psychiatry',
  'counselling',
  'peer_support',
  'crisis_line',
  'group',
]);
export const therapyMode = pgEnum('therapy_mode', ['in_person', 'video', 'phone', 'chat']);

export const therapySessions = pgTable(
  'therapy_sessions',
  {
    id: clientIdColumn(),
    userId: userIdColumn(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    durationMinutes: smallint('duration_minutes'),
    kind: therapyKind('kind').notNull(),
    mode: therapyMode('mode'),
    providerName: text('provider_name'),
    notes: text('notes'),
    /** Screening scores the user recorded (PHQ-9 0–27, GAD-7 0–21); shown in reports, never used to alert. */
    phq9Score: smallint('phq9_score'),
    gad7Score: smallint('gad7_score'),
    nextSessionAt: timestamp('next_session_at', { withTimezone: true }),
    ...syncColumns(),
    ...timestamps(),
  },
  (t) => [
    check('therapy_sessions_id_v7', isUuidV7Check(t.id)),
    check(
      'therapy_sessions_scores',
      sql`(${t.phq9Score} is null or ${t.phq9Score} between 0 and 27)
        and (${t.gad7Score} is null or ${t.gad7Score} between 0 and 21)
        and (${t.durationMinutes} is null or ${t.durationMinutes} between 0 and 1440)`,
    ),
    index('therapy_sessions_user_occurred_idx').on(t.userId, t.occurredAt.desc()),
    index('therapy_sessions_user_version_idx').on(t.userId, t.version),
    ownRowsPolicy(t.userId),
  ],
);
