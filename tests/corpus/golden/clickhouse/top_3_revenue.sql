WITH "t1_orders" AS (
  SELECT
    "orders"."customer_id" AS "__key",
    sumOrNull("orders"."amount") AS "m1_revenue"
  FROM "orders" AS "orders"
  WHERE
    "orders"."ordered_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
    AND "orders"."status" = 'paid'
  GROUP BY
    "orders"."customer_id"
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    COALESCE("t1_orders"."m1_revenue", 0) AS "m1_revenue"
  FROM "customers" AS "customer"
  LEFT JOIN "t1_orders"
    ON "t1_orders"."__key" = "customer"."id"
  WHERE
    NOT (
      "customer"."id" IS NULL
    )
    AND (
      "customer"."signed_up_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
      OR "customer"."signed_up_at" IS NULL
    )
), "r2_ranking" AS (
  SELECT
    "__key",
    TRUE AS "r2"
  FROM "population"
  ORDER BY
    "m1_revenue" DESC,
    "__key" ASC NULLS FIRST
  LIMIT 3
), "ranked_1" AS (
  SELECT
    "r2_ranking"."__key" AS "__key",
    COALESCE("r2_ranking"."r2", FALSE) AS "r2"
  FROM "r2_ranking"
)
SELECT DISTINCT
  "__key" AS "id"
FROM "ranked_1"
WHERE
  "r2"
SETTINGS "join_use_nulls" = 1, "session_timezone" = 'UTC', "prefer_column_name_to_alias" = 1
