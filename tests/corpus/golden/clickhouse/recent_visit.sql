WITH "t1_visits" AS (
  SELECT
    "visits"."customer_id" AS "__key",
    COUNT(*) > 0 AS "m1_visits"
  FROM "visits" AS "visits"
  WHERE
    "visits"."visit_date" <= toDate32('2025-07-01')
    AND "visits"."visit_date" >= toDate32('2025-06-02')
  GROUP BY
    "visits"."customer_id"
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    COALESCE("t1_visits"."m1_visits", FALSE) AS "m1_visits"
  FROM "customers" AS "customer"
  INNER JOIN "t1_visits"
    ON "t1_visits"."__key" = "customer"."id"
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
