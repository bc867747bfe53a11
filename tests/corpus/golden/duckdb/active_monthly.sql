WITH "orders_per_customer" AS (
  SELECT
    "orders"."customer_id" AS "__key",
    COUNT(
      DISTINCT CASE
        WHEN "orders"."ordered_at" >= CAST('2025-04-01 00:00:00' AS TIMESTAMP)
        AND "orders"."ordered_at" < CAST('2025-07-01 00:00:00' AS TIMESTAMP)
        THEN CAST(DATE_TRUNC('month', CAST("orders"."ordered_at" AS TIMESTAMP)) AS DATE)
      END
    ) AS "_orders_1",
    AVG(CASE WHEN "orders"."status" = 'paid' THEN "orders"."amount" END) AS "avg_check"
  FROM "orders" AS "orders"
  WHERE
    "orders"."ordered_at" <= CAST('2025-07-01 00:00:00' AS TIMESTAMP)
    AND (
      "orders"."ordered_at" >= CAST('2025-04-01 00:00:00' AS TIMESTAMP)
      AND "orders"."ordered_at" < CAST('2025-07-01 00:00:00' AS TIMESTAMP)
      OR "orders"."status" = 'paid'
    )
  GROUP BY
    "orders"."customer_id"
  HAVING
    COUNT(
      DISTINCT CASE
        WHEN "orders"."ordered_at" >= CAST('2025-04-01 00:00:00' AS TIMESTAMP)
        AND "orders"."ordered_at" < CAST('2025-07-01 00:00:00' AS TIMESTAMP)
        THEN CAST(DATE_TRUNC('month', CAST("orders"."ordered_at" AS TIMESTAMP)) AS DATE)
      END
    ) = 3
    AND AVG(CASE WHEN "orders"."status" = 'paid' THEN "orders"."amount" END) > 200
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    COALESCE("orders_per_customer"."_orders_1", 0) AS "_orders_1",
    "orders_per_customer"."avg_check" AS "avg_check"
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
