WITH "population" AS (
  SELECT
    "customer"."id" AS "__key",
    FALSE AS "m1_events"
  FROM "customers" AS "customer"
  WHERE
    (
      NOT (
        "customer"."id" IS NULL
      )
      AND (
        "customer"."signed_up_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
        OR "customer"."signed_up_at" IS NULL
      )
    )
    AND NOT EXISTS(
      SELECT
        1
      FROM "events" AS "events"
      WHERE
        "events"."customer_id" = "customer"."id"
        AND "events"."occurred_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
        AND "events"."occurred_at" > toDateTime64('2025-04-02 00:00:00', 6, 'UTC')
        AND "events"."name" IN ('email_open', 'email_click')
    )
)
SELECT DISTINCT
  "__key" AS "id"
FROM "population"
WHERE
  NOT "m1_events"
SETTINGS "join_use_nulls" = 1, "session_timezone" = 'UTC', "prefer_column_name_to_alias" = 1
