WITH "q1_sequence" AS (
  SELECT DISTINCT
    "first_step"."__key" AS "__key"
  FROM (
    SELECT
      "events"."customer_id" AS "__key",
      toTimeZone(
        addSeconds("events"."occurred_at", timeZoneOffset(toTimeZone("events"."occurred_at", 'UTC'))),
        'UTC'
      ) AS "at"
    FROM "events" AS "events"
    WHERE
      "events"."occurred_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
      AND "events"."name" = 'add_to_cart'
      AND "events"."occurred_at" > toDateTime64('2025-06-01 00:00:00', 6, 'UTC')
  ) AS "first_step"
  WHERE
    "first_step"."at" <= toDateTime64('2025-06-30 22:00:00', 6, 'UTC')
    AND NOT EXISTS(
      SELECT
        1
      FROM (
        SELECT
          "events"."customer_id" AS "__key",
          toTimeZone(
            addSeconds("events"."occurred_at", timeZoneOffset(toTimeZone("events"."occurred_at", 'UTC'))),
            'UTC'
          ) AS "at"
        FROM "events" AS "events"
        WHERE
          "events"."occurred_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
          AND "events"."occurred_at" > toDateTime64('2025-06-01 00:00:00', 6, 'UTC')
          AND "events"."name" = 'purchase'
      ) AS "then_step"
      WHERE
        "then_step"."__key" = "first_step"."__key"
        AND "then_step"."at" > "first_step"."at"
        AND "then_step"."at" <= "first_step"."at" + INTERVAL 2 HOUR
    )
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    NOT (
      "q1_sequence"."__key" IS NULL
    ) AS "q1"
  FROM "customers" AS "customer"
  INNER JOIN "q1_sequence"
    ON "q1_sequence"."__key" = "customer"."id"
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
WHERE
  "q1"
SETTINGS "join_use_nulls" = 1, "session_timezone" = 'UTC', "prefer_column_name_to_alias" = 1
