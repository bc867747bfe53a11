WITH "t1_orders" AS (
  SELECT
    "orders"."customer_id" AS "__key",
    COUNT(
      CASE
        WHEN "orders"."ordered_at" > CAST('2025-04-02 00:00:00' AS TIMESTAMP)
        AND "orders"."ordered_at" <= CAST('2025-07-01 00:00:00' AS TIMESTAMP)
        THEN 1
      END
    ) AS "m1_orders",
    COUNT(
      CASE
        WHEN "orders"."ordered_at" > CAST('2025-01-02 00:00:00' AS TIMESTAMP)
        AND "orders"."ordered_at" <= CAST('2025-04-02 00:00:00' AS TIMESTAMP)
        THEN 1
      END
    ) AS "m2_orders"
  FROM "orders" AS "orders"
  WHERE
    "orders"."ordered_at" <= CAST('2025-07-01 00:00:00' AS TIMESTAMP)
    AND "orders"."ordered_at" > CAST('2025-01-02 00:00:00' AS TIMESTAMP)
    AND "orders"."status" = 'paid'
  GROUP BY
    "orders"."customer_id"
  HAVING
    COUNT(
      CASE
        WHEN "orders"."ordered_at" > CAST('2025-04-02 00:00:00' AS TIMESTAMP)
        AND "orders"."ordered_at" <= CAST('2025-07-01 00:00:00' AS TIMESTAMP)
        THEN 1
      END
    ) < 0.5 * COUNT(
      CASE
        WHEN "orders"."ordered_at" > CAST('2025-01-02 00:00:00' AS TIMESTAMP)
        AND "orders"."ordered_at" <= CAST('2025-04-02 00:00:00' AS TIMESTAMP)
        THEN 1
      END
    )
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    COALESCE("t1_orders"."m1_orders", 0) AS "m1_orders",
    COALESCE("t1_orders"."m2_orders", 0) AS "m2_orders"
  FROM "customers" AS "customer"
  INNER JOIN "t1_orders"
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
