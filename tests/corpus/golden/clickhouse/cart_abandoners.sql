WITH "t1_events" AS (
  SELECT
    "events"."customer_id" AS "__key",
    toTimeZone(
      addSeconds(
        maxOrNull(CASE WHEN "events"."name" = 'add_to_cart' THEN "events"."occurred_at" END),
        timeZoneOffset(
          toTimeZone(
            maxOrNull(CASE WHEN "events"."name" = 'add_to_cart' THEN "events"."occurred_at" END),
            'UTC'
          )
        )
      ),
      'UTC'
    ) AS "m1_events",
    toTimeZone(
      addSeconds(
        maxOrNull(CASE WHEN "events"."name" = 'purchase' THEN "events"."occurred_at" END),
        timeZoneOffset(
          toTimeZone(
            maxOrNull(CASE WHEN "events"."name" = 'purchase' THEN "events"."occurred_at" END),
            'UTC'
          )
        )
      ),
      'UTC'
    ) AS "m2_events"
  FROM "events" AS "events"
  WHERE
    "events"."occurred_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
    AND (
      "events"."name" = 'add_to_cart' OR "events"."name" = 'purchase'
    )
  GROUP BY
    "events"."customer_id"
  HAVING
    toTimeZone(
      addSeconds(
        maxOrNull(CASE WHEN "events"."name" = 'add_to_cart' THEN "events"."occurred_at" END),
        timeZoneOffset(
          toTimeZone(
            maxOrNull(CASE WHEN "events"."name" = 'add_to_cart' THEN "events"."occurred_at" END),
            'UTC'
          )
        )
      ),
      'UTC'
    ) > toDateTime64('2025-06-01 00:00:00', 6, 'UTC')
    AND (
      toTimeZone(
        addSeconds(
          maxOrNull(CASE WHEN "events"."name" = 'purchase' THEN "events"."occurred_at" END),
          timeZoneOffset(
            toTimeZone(
              maxOrNull(CASE WHEN "events"."name" = 'purchase' THEN "events"."occurred_at" END),
              'UTC'
            )
          )
        ),
        'UTC'
      ) IS NULL
      OR toTimeZone(
        addSeconds(
          maxOrNull(CASE WHEN "events"."name" = 'purchase' THEN "events"."occurred_at" END),
          timeZoneOffset(
            toTimeZone(
              maxOrNull(CASE WHEN "events"."name" = 'purchase' THEN "events"."occurred_at" END),
              'UTC'
            )
          )
        ),
        'UTC'
      ) < toTimeZone(
        addSeconds(
          maxOrNull(CASE WHEN "events"."name" = 'add_to_cart' THEN "events"."occurred_at" END),
          timeZoneOffset(
            toTimeZone(
              maxOrNull(CASE WHEN "events"."name" = 'add_to_cart' THEN "events"."occurred_at" END),
              'UTC'
            )
          )
        ),
        'UTC'
      )
    )
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    "t1_events"."m1_events" AS "m1_events",
    "t1_events"."m2_events" AS "m2_events"
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
