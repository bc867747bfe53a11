WITH "t1_order_months" AS (
  SELECT
    "order_months"."__key" AS "__key",
    COUNT(
      CASE
        WHEN "order_months"."c1_month" >= toDateTime64('2025-04-01 00:00:00', 6, 'UTC')
        AND "order_months"."c1_month" < toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
        THEN 1
      END
    ) AS "m1_order_months",
    maxOrNull("order_months"."c2_spend") AS "m2_order_months"
  FROM (
    SELECT
      "orders"."customer_id" AS "__key",
      toDateTime64(toStartOfMonth(toDate32("orders"."ordered_at")), 6, 'UTC') AS "c1_month",
      COALESCE(sumOrNull("orders"."amount"), 0) AS "c2_spend"
    FROM "orders" AS "orders"
    WHERE
      "orders"."ordered_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
      AND "orders"."status" = 'paid'
      AND NOT (
        toStartOfMonth(toDate32("orders"."ordered_at")) IS NULL
      )
    GROUP BY
      "orders"."customer_id",
      toDateTime64(toStartOfMonth(toDate32("orders"."ordered_at")), 6, 'UTC')
  ) AS "order_months"
  WHERE
    "order_months"."c1_month" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
  GROUP BY
    "order_months"."__key"
  HAVING
    (
      COUNT(
        CASE
          WHEN "order_months"."c1_month" >= toDateTime64('2025-04-01 00:00:00', 6, 'UTC')
          AND "order_months"."c1_month" < toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
          THEN 1
        END
      ) >= 3
      OR maxOrNull("order_months"."c2_spend") >= 325
    )
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    COALESCE("t1_order_months"."m1_order_months", 0) AS "m1_order_months",
    "t1_order_months"."m2_order_months" AS "m2_order_months"
  FROM "customers" AS "customer"
  INNER JOIN "t1_order_months"
    ON "t1_order_months"."__key" = "customer"."id"
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
