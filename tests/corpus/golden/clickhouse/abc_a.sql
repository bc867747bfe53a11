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
  INNER JOIN "t1_orders"
    ON "t1_orders"."__key" = "customer"."id"
  WHERE
    NOT (
      "customer"."id" IS NULL
    )
    AND (
      "customer"."signed_up_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
      OR "customer"."signed_up_at" IS NULL
    )
), "r3_revenue_share_ranking" AS (
  SELECT
    "__key",
    CAST(sumOrNull("m1_revenue") OVER (
      ORDER BY "m1_revenue" DESC, "__key" ASC NULLS FIRST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS Nullable(Float64)) / nullIf(CAST(sumOrNull("m1_revenue") OVER () AS Nullable(Float64)), 0) AS "r3_revenue_share"
  FROM "population"
), "ranked_1" AS (
  SELECT
    "r3_revenue_share_ranking"."__key" AS "__key",
    "r3_revenue_share_ranking"."r3_revenue_share" AS "r3_revenue_share"
  FROM "r3_revenue_share_ranking"
)
SELECT DISTINCT
  "__key" AS "id"
FROM "ranked_1"
WHERE
  "r3_revenue_share" <= 0.8
SETTINGS "join_use_nulls" = 1, "session_timezone" = 'UTC', "prefer_column_name_to_alias" = 1
