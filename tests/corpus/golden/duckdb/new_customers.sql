WITH "orders_per_customer" AS (
  SELECT
    "orders"."customer_id" AS "__key",
    MIN("orders"."ordered_at") AS "first_order_at",
    COUNT(CASE WHEN "orders"."status" = 'paid' THEN 1 END) AS "paid_orders"
  FROM "orders" AS "orders"
  WHERE
    "orders"."ordered_at" <= CAST('2025-07-01 00:00:00' AS TIMESTAMP)
  GROUP BY
    "orders"."customer_id"
  HAVING
    MIN("orders"."ordered_at") > CAST('2025-06-01 00:00:00' AS TIMESTAMP)
    AND COUNT(CASE WHEN "orders"."status" = 'paid' THEN 1 END) > 0
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    "orders_per_customer"."first_order_at" AS "first_order_at",
    COALESCE("orders_per_customer"."paid_orders", 0) AS "paid_orders"
  FROM "customers" AS "customer"
  INNER JOIN "orders_per_customer"
    ON "orders_per_customer"."__key" = "customer"."id"
  WHERE
    "customer"."signed_up_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
    OR "customer"."signed_up_at" IS NULL
)
SELECT
  "__key" AS "id"
FROM "population"
