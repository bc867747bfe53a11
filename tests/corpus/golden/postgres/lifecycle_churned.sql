WITH "orders_per_customer" AS (
  SELECT
    "orders"."customer_id" AS "__key",
    COUNT(CASE WHEN "orders"."status" = 'paid' THEN 1 END) AS "paid_orders",
    MIN("orders"."ordered_at") AS "first_order_at",
    COUNT(
      CASE
        WHEN "orders"."ordered_at" > CAST('2025-04-02 00:00:00' AS TIMESTAMP)
        AND "orders"."ordered_at" <= CAST('2025-07-01 00:00:00' AS TIMESTAMP)
        THEN 1
      END
    ) AS "_orders_3",
    MAX("orders"."ordered_at") AS "_orders_4"
  FROM "orders" AS "orders"
  WHERE
    "orders"."ordered_at" <= CAST('2025-07-01 00:00:00' AS TIMESTAMP)
  GROUP BY
    "orders"."customer_id"
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    COALESCE("orders_per_customer"."paid_orders", 0) AS "paid_orders",
    "orders_per_customer"."first_order_at" AS "first_order_at",
    COALESCE("orders_per_customer"."_orders_3", 0) AS "_orders_3",
    "orders_per_customer"."_orders_4" AS "_orders_4"
  FROM "customers" AS "customer"
  LEFT JOIN "orders_per_customer"
    ON "orders_per_customer"."__key" = "customer"."id"
  WHERE
    "customer"."signed_up_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
    OR "customer"."signed_up_at" IS NULL
)
SELECT
  "__key" AS "id"
FROM "population"
WHERE
  CASE
    WHEN "paid_orders" = 0
    THEN 'prospect'
    WHEN "first_order_at" > CAST('2025-06-01 00:00:00' AS TIMESTAMP)
    THEN 'new'
    WHEN "_orders_3" >= 2
    THEN 'active'
    WHEN "_orders_4" > CAST('2025-01-02 00:00:00' AS TIMESTAMP)
    AND "_orders_4" <= CAST('2025-04-02 00:00:00' AS TIMESTAMP)
    THEN 'at_risk'
    ELSE 'churned'
  END = 'churned'
