WITH "t1_order_items" AS (
  SELECT
    "orders"."customer_id" AS "__key",
    MAX("orders"."ordered_at") AS "m1_last_dog_food"
  FROM "order_items" AS "order_items"
  INNER JOIN "orders" AS "orders"
    ON "order_items"."order_id" = "orders"."id"
  WHERE
    "orders"."ordered_at" <= CAST('2025-07-01 00:00:00' AS TIMESTAMP)
    AND "orders"."ordered_at" >= CAST('2025-05-02 00:00:00' AS TIMESTAMP)
    AND "order_items"."product" = 'Dog food 10kg'
  GROUP BY
    "orders"."customer_id"
  HAVING
    MAX("orders"."ordered_at") <= CAST('2025-05-17 00:00:00' AS TIMESTAMP)
    AND MAX("orders"."ordered_at") >= CAST('2025-05-02 00:00:00' AS TIMESTAMP)
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    "t1_order_items"."m1_last_dog_food" AS "m1_last_dog_food"
  FROM "customers" AS "customer"
  INNER JOIN "t1_order_items"
    ON "t1_order_items"."__key" = "customer"."id"
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
