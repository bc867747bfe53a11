WITH "m1_events_groups" AS (
  SELECT
    "__key",
    maxOrNull("per_group") AS "m1_events"
  FROM (
    SELECT
      "events"."customer_id" AS "__key",
      COUNT(*) AS "per_group"
    FROM "events" AS "events"
    WHERE
      "events"."occurred_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
      AND "events"."name" = 'view_item'
      AND NOT (
        "events"."page_category" IS NULL
      )
    GROUP BY
      "events"."customer_id",
      "events"."page_category"
    HAVING
      COUNT(*) >= 3
  ) AS "groups"
  GROUP BY
    "__key"
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    "m1_events_groups"."m1_events" AS "m1_events"
  FROM "customers" AS "customer"
  INNER JOIN "m1_events_groups"
    ON "m1_events_groups"."__key" = "customer"."id"
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
