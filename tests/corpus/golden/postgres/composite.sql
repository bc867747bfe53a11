WITH "candidates" AS (
  SELECT
    "__key"
  FROM (
    SELECT
      "customer"."id" AS "__key",
      "customer"."gender" AS "gender",
      "customer"."birth_date" AS "birth_date",
      "customer"."city" AS "city"
    FROM "customers" AS "customer"
  ) AS "entity_rows"
  WHERE
    "gender" = 'female'
    AND "birth_date" <= CAST('1990-07-01' AS DATE)
    AND "birth_date" >= CAST('1979-07-02' AS DATE)
    AND "city" = 'Moscow'
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
), "orders_per_customer" AS (
  SELECT
    "orders"."customer_id" AS "__key",
    COUNT(*) AS "_orders_1"
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
), "events_per_customer" AS (
  SELECT
    "events"."customer_id" AS "__key",
    COUNT(
      CASE
        WHEN "events"."name" = 'add_to_cart' AND "events"."page_category" = 'carpets'
        THEN 1
      END
    ) > 0 AS "_events_1",
    COUNT(
      CASE
        WHEN "events"."name" = 'email_open'
        AND "events"."occurred_at" > CAST('2025-06-01 00:00:00+00:00' AS TIMESTAMPTZ)
        AND "events"."occurred_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
        THEN 1
      END
    ) AS "_events_2"
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
    "customer"."gender" AS "gender",
    "customer"."birth_date" AS "birth_date",
    "customer"."city" AS "city",
    COALESCE("orders_per_customer"."_orders_1", 0) AS "_orders_1",
    COALESCE("events_per_customer"."_events_1", FALSE) AS "_events_1",
    COALESCE("events_per_customer"."_events_2", 0) AS "_events_2",
    FALSE AS "_order_items_1"
  FROM "customers" AS "customer"
  INNER JOIN "orders_per_customer"
    ON "orders_per_customer"."__key" = "customer"."id"
  INNER JOIN "events_per_customer"
    ON "events_per_customer"."__key" = "customer"."id"
  WHERE
    (
      "customer"."signed_up_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
      OR "customer"."signed_up_at" IS NULL
    )
    AND "customer"."id" IN (
      SELECT
        "__key"
      FROM "candidates"
    )
)
SELECT
  "__key" AS "id"
FROM "population"
WHERE
  NOT "_order_items_1"
