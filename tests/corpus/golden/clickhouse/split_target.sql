WITH "t1_orders" AS (
  SELECT
    "orders"."customer_id" AS "__key",
    COUNT(*) AS "m1_paid_orders"
  FROM "orders" AS "orders"
  WHERE
    "orders"."ordered_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
    AND "orders"."status" = 'paid'
  GROUP BY
    "orders"."customer_id"
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    COALESCE("t1_orders"."m1_paid_orders", 0) AS "m1_paid_orders"
  FROM "customers" AS "customer"
  LEFT JOIN "t1_orders"
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
WHERE
  CASE
    WHEN "m1_paid_orders" > 0
    THEN CASE
      WHEN (
        reinterpretAsUInt64(reverse(unhex(SUBSTRING(lowerUTF8(hex(MD5('s1:' || toString("__key")))), 1, 8))))
      ) % 10000 < 5000
      THEN 'target'
      WHEN (
        reinterpretAsUInt64(reverse(unhex(SUBSTRING(lowerUTF8(hex(MD5('s1:' || toString("__key")))), 1, 8))))
      ) % 10000 < 10000
      THEN 'control'
    END
  END = 'target'
SETTINGS "join_use_nulls" = 1, "session_timezone" = 'UTC', "prefer_column_name_to_alias" = 1
