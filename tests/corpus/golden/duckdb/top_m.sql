WITH "orders_per_customer" AS (
  SELECT
    "orders"."customer_id" AS "__key",
    SUM(CASE WHEN "orders"."status" = 'paid' THEN "orders"."amount" END) AS "revenue",
    COUNT(CASE WHEN "orders"."status" = 'paid' THEN 1 END) AS "paid_orders"
  FROM "orders" AS "orders"
  WHERE
    "orders"."ordered_at" <= CAST('2025-07-01 00:00:00' AS TIMESTAMP)
  GROUP BY
    "orders"."customer_id"
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    COALESCE("orders_per_customer"."revenue", 0) AS "revenue",
    COALESCE("orders_per_customer"."paid_orders", 0) AS "paid_orders"
  FROM "customers" AS "customer"
  LEFT JOIN "orders_per_customer"
    ON "orders_per_customer"."__key" = "customer"."id"
  WHERE
    "customer"."signed_up_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
    OR "customer"."signed_up_at" IS NULL
), "ranked_1" AS (
  SELECT
    "population".*,
    CASE
      WHEN "paid_orders" > 0 AND NOT "revenue" IS NULL
      THEN NTILE(5) OVER (
        PARTITION BY CASE WHEN "paid_orders" > 0 AND NOT "revenue" IS NULL THEN 1 ELSE 0 END
        ORDER BY "revenue" ASC NULLS FIRST, "__key" ASC NULLS FIRST
      )
    END AS "m_score"
  FROM "population"
)
SELECT
  "__key" AS "id"
FROM "ranked_1"
WHERE
  "m_score" = 5
