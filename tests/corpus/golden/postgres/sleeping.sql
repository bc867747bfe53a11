WITH "orders_per_customer" AS (
  SELECT
    "orders"."customer_id" AS "__key",
    COUNT(CASE WHEN "orders"."status" = 'paid' THEN 1 END) AS "paid_orders",
    MAX("orders"."ordered_at") AS "_orders_2"
  FROM "orders" AS "orders"
  WHERE
    "orders"."ordered_at" <= CAST('2025-07-01 00:00:00' AS TIMESTAMP)
  GROUP BY
    "orders"."customer_id"
  HAVING
    COUNT(CASE WHEN "orders"."status" = 'paid' THEN 1 END) > 0
    AND NOT COALESCE(MAX("orders"."ordered_at") > CAST('2025-01-01 00:00:00' AS TIMESTAMP), FALSE)
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    COALESCE("orders_per_customer"."paid_orders", 0) AS "paid_orders",
    "orders_per_customer"."_orders_2" AS "_orders_2"
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
