WITH "t1_orders" AS (
  SELECT
    "orders"."customer_id" AS "__key",
    COUNT(CASE WHEN "orders"."status" = 'paid' THEN 1 END) AS "m1_paid_orders",
    MIN("orders"."ordered_at") AS "m2_first_order_at",
    COUNT(
      CASE
        WHEN "orders"."ordered_at" > CAST('2025-04-02 00:00:00' AS TIMESTAMP)
        AND "orders"."ordered_at" <= CAST('2025-07-01 00:00:00' AS TIMESTAMP)
        THEN 1
      END
    ) AS "m3_orders",
    MAX("orders"."ordered_at") AS "m4_orders"
  FROM "orders" AS "orders"
  WHERE
    "orders"."ordered_at" <= CAST('2025-07-01 00:00:00' AS TIMESTAMP)
  GROUP BY
    "orders"."customer_id"
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    COALESCE("t1_orders"."m1_paid_orders", 0) AS "m1_paid_orders",
    "t1_orders"."m2_first_order_at" AS "m2_first_order_at",
    COALESCE("t1_orders"."m3_orders", 0) AS "m3_orders",
    "t1_orders"."m4_orders" AS "m4_orders"
  FROM "customers" AS "customer"
  LEFT JOIN "t1_orders"
    ON "t1_orders"."__key" = "customer"."id"
  WHERE
    NOT "customer"."id" IS NULL
    AND (
      "customer"."signed_up_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
      OR "customer"."signed_up_at" IS NULL
    )
)
SELECT DISTINCT
  "__key" AS "id"
FROM "population"
WHERE
  CASE
    WHEN "m1_paid_orders" = 0
    THEN 'prospect'
    WHEN "m2_first_order_at" > CAST('2025-06-01 00:00:00' AS TIMESTAMP)
    THEN 'new'
    WHEN "m3_orders" >= 2
    THEN 'active'
    WHEN "m4_orders" > CAST('2025-01-02 00:00:00' AS TIMESTAMP)
    AND "m4_orders" <= CAST('2025-04-02 00:00:00' AS TIMESTAMP)
    THEN 'at_risk'
    ELSE 'churned'
  END = 'churned'
