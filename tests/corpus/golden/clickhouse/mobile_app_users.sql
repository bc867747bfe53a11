WITH "t1_events" AS (
  SELECT
    "events"."customer_id" AS "__key",
    COUNT(*) AS "m1_events"
  FROM "events" AS "events"
  WHERE
    "events"."occurred_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
    AND "events"."occurred_at" > toDateTime64('2025-05-02 00:00:00', 6, 'UTC')
    AND "events"."name" = 'session_start'
    AND "events"."device" = 'mobile_app'
  GROUP BY
    "events"."customer_id"
  HAVING
    COUNT(*) >= 3
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    COALESCE("t1_events"."m1_events", 0) AS "m1_events"
  FROM "customers" AS "customer"
  INNER JOIN "t1_events"
    ON "t1_events"."__key" = "customer"."id"
  WHERE
    NOT (
      "customer"."id" IS NULL
    )
    AND (
      "customer"."signed_up_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
      OR "customer"."signed_up_at" IS NULL
    )
)
SELECT DISTINCT
  "__key" AS "id"
FROM "population"
SETTINGS "join_use_nulls" = 1, "session_timezone" = 'UTC', "prefer_column_name_to_alias" = 1
