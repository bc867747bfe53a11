WITH "m1_orders_value" AS (
  SELECT
    "__key",
    "value" AS "m1_orders"
  FROM (
    SELECT
      "orders"."customer_id" AS "__key",
      "orders"."amount" AS "value",
      ROW_NUMBER() OVER (
        PARTITION BY "orders"."customer_id"
        ORDER BY "orders"."ordered_at" ASC, "orders"."amount" ASC
      ) AS "position"
    FROM "orders" AS "orders"
    WHERE
      "orders"."ordered_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
      AND NOT (
        "orders"."amount" IS NULL
      )
  ) AS "ranked_rows"
  WHERE
    "position" = 2
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    "m1_orders_value"."m1_orders" AS "m1_orders"
  FROM "customers" AS "customer"
  INNER JOIN "m1_orders_value"
    ON "m1_orders_value"."__key" = "customer"."id"
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
WHERE
  "m1_orders" = 300
SETTINGS "join_use_nulls" = 1, "session_timezone" = 'UTC', "prefer_column_name_to_alias" = 1
