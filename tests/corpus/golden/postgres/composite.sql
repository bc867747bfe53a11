WITH "candidates" AS (
  SELECT
    "__key"
  FROM (
    SELECT
      "customer"."id" AS "__key",
      "customer"."gender" AS "a1_gender",
      "customer"."birth_date" AS "a2_birth_date",
      "customer"."city" AS "a3_city"
    FROM "customers" AS "customer"
  ) AS "entity_rows"
  WHERE
    "a1_gender" = 'female'
    AND "a2_birth_date" <= CAST('1990-07-01' AS DATE)
    AND "a2_birth_date" >= CAST('1979-07-02' AS DATE)
    AND "a3_city" = 'Moscow'
    AND NOT EXISTS(
      SELECT
        1
      FROM "order_items" AS "order_items"
      INNER JOIN "orders" AS "orders"
        ON "order_items"."order_id" = "orders"."id"
      WHERE
        "orders"."customer_id" = "entity_rows"."__key"
        AND "orders"."ordered_at" <= CAST('2025-07-01 00:00:00' AS TIMESTAMP)
        AND "order_items"."category" = 'carpets'
    )
), "t1_orders" AS (
  SELECT
    "orders"."customer_id" AS "__key",
    COUNT(*) AS "m4_orders"
  FROM "orders" AS "orders"
  WHERE
    "orders"."ordered_at" <= CAST('2025-07-01 00:00:00' AS TIMESTAMP)
    AND "orders"."customer_id" IN (
      SELECT
        "__key"
      FROM "candidates"
    )
    AND "orders"."ordered_at" >= CAST('2025-06-01 00:00:00' AS TIMESTAMP)
    AND "orders"."ordered_at" < CAST('2025-07-01 00:00:00' AS TIMESTAMP)
  GROUP BY
    "orders"."customer_id"
  HAVING
    COUNT(*) >= 2
), "t2_events" AS (
  SELECT
    "events"."customer_id" AS "__key",
    COUNT(
      CASE
        WHEN "events"."name" = 'add_to_cart' AND "events"."page_category" = 'carpets'
        THEN 1
      END
    ) > 0 AS "m5_events",
    COUNT(
      CASE
        WHEN "events"."name" = 'email_open'
        AND "events"."occurred_at" > CAST('2025-06-01 00:00:00+00:00' AS TIMESTAMPTZ)
        AND "events"."occurred_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
        THEN 1
      END
    ) AS "m7_events"
  FROM "events" AS "events"
  WHERE
    "events"."occurred_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
    AND "events"."customer_id" IN (
      SELECT
        "__key"
      FROM "candidates"
    )
    AND (
      "events"."name" = 'add_to_cart'
      AND "events"."page_category" = 'carpets'
      OR "events"."name" = 'email_open'
      AND "events"."occurred_at" > CAST('2025-06-01 00:00:00+00:00' AS TIMESTAMPTZ)
      AND "events"."occurred_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
    )
  GROUP BY
    "events"."customer_id"
  HAVING
    COUNT(
      CASE
        WHEN "events"."name" = 'add_to_cart' AND "events"."page_category" = 'carpets'
        THEN 1
      END
    ) > 0
    AND COUNT(
      CASE
        WHEN "events"."name" = 'email_open'
        AND "events"."occurred_at" > CAST('2025-06-01 00:00:00+00:00' AS TIMESTAMPTZ)
        AND "events"."occurred_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
        THEN 1
      END
    ) >= 3
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    "customer"."gender" AS "a1_gender",
    "customer"."birth_date" AS "a2_birth_date",
    "customer"."city" AS "a3_city",
    COALESCE("t1_orders"."m4_orders", 0) AS "m4_orders",
    COALESCE("t2_events"."m5_events", FALSE) AS "m5_events",
    COALESCE("t2_events"."m7_events", 0) AS "m7_events",
    FALSE AS "m6_order_items"
  FROM "customers" AS "customer"
  INNER JOIN "t1_orders"
    ON "t1_orders"."__key" = "customer"."id"
  INNER JOIN "t2_events"
    ON "t2_events"."__key" = "customer"."id"
  WHERE
    (
      NOT "customer"."id" IS NULL
      AND (
        "customer"."signed_up_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
        OR "customer"."signed_up_at" IS NULL
      )
    )
    AND "customer"."id" IN (
      SELECT
        "__key"
      FROM "candidates"
    )
)
SELECT DISTINCT
  "__key" AS "id"
FROM "population"
WHERE
  NOT "m6_order_items"
