WITH "orders_per_customer" AS (
  SELECT
    "orders"."customer_id" AS "__key",
    AVG("orders"."amount") AS "avg_check",
    COUNT(*) AS "paid_orders"
  FROM "orders" AS "orders"
  WHERE
    "orders"."ordered_at" <= CAST('2025-07-01 00:00:00' AS TIMESTAMP)
    AND "orders"."status" = 'paid'
  GROUP BY
    "orders"."customer_id"
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    "orders_per_customer"."avg_check" AS "avg_check",
    COALESCE("orders_per_customer"."paid_orders", 0) AS "paid_orders"
  FROM "customers" AS "customer"
  INNER JOIN "orders_per_customer"
    ON "orders_per_customer"."__key" = "customer"."id"
  WHERE
    "customer"."signed_up_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
    OR "customer"."signed_up_at" IS NULL
), "_rank1_ranking" AS (
  SELECT
    AVG("avg_check") AS "value"
  FROM "population"
  WHERE
    "paid_orders" > 0 AND NOT "avg_check" IS NULL
), "ranked_1" AS (
  SELECT
    "population".*,
    "_rank1_ranking"."value" AS "_rank1"
  FROM "population"
  CROSS JOIN "_rank1_ranking"
)
SELECT
  "__key" AS "id"
FROM "ranked_1"
WHERE
  "avg_check" > "_rank1"
