WITH "population" AS (
  SELECT
    "customer"."id" AS "__key",
    0 AS "m1_paid_orders"
  FROM "customers" AS "customer"
  WHERE
    (
      NOT (
        "customer"."id" IS NULL
      )
      AND (
        "customer"."signed_up_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
        OR "customer"."signed_up_at" IS NULL
      )
    )
    AND NOT EXISTS(
      SELECT
        1
      FROM "orders" AS "orders"
      WHERE
        "orders"."customer_id" = "customer"."id"
        AND "orders"."ordered_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
        AND "orders"."status" = 'paid'
    )
)
SELECT DISTINCT
  "__key" AS "id"
FROM "population"
WHERE
  "m1_paid_orders" = 0
SETTINGS "join_use_nulls" = 1, "session_timezone" = 'UTC', "prefer_column_name_to_alias" = 1
