WITH "t1_orders" AS (
  SELECT
    "orders"."customer_id" AS "__key",
    minOrNull("orders"."ordered_at") AS "m1_first_order_at",
    COUNT(CASE WHEN "orders"."status" = 'paid' THEN 1 END) AS "m2_paid_orders"
  FROM "orders" AS "orders"
  WHERE
    "orders"."ordered_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
  GROUP BY
    "orders"."customer_id"
  HAVING
    minOrNull("orders"."ordered_at") > toDateTime64('2025-06-01 00:00:00', 6, 'UTC')
    AND COUNT(CASE WHEN "orders"."status" = 'paid' THEN 1 END) > 0
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    "t1_orders"."m1_first_order_at" AS "m1_first_order_at",
    COALESCE("t1_orders"."m2_paid_orders", 0) AS "m2_paid_orders"
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
)
SELECT DISTINCT
  "__key" AS "id"
FROM "population"
SETTINGS "join_use_nulls" = 1, "session_timezone" = 'UTC', "prefer_column_name_to_alias" = 1
