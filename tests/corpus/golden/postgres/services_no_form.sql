WITH "events_per_customer" AS (
  SELECT
    "events"."customer_id" AS "__key",
    COUNT(
      CASE
        WHEN "events"."name" = 'page_view' AND "events"."page_category" = 'services'
        THEN 1
      END
    ) > 0 AS "_events_1",
    COUNT(CASE WHEN "events"."name" = 'form_submit' THEN 1 END) > 0 AS "_events_2"
  FROM "events" AS "events"
  WHERE
    "events"."occurred_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
    AND (
      "events"."name" = 'page_view'
      AND "events"."page_category" = 'services'
      OR "events"."name" = 'form_submit'
    )
  GROUP BY
    "events"."customer_id"
  HAVING
    COUNT(
      CASE
        WHEN "events"."name" = 'page_view' AND "events"."page_category" = 'services'
        THEN 1
      END
    ) > 0
    AND NOT COUNT(CASE WHEN "events"."name" = 'form_submit' THEN 1 END) > 0
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    COALESCE("events_per_customer"."_events_1", FALSE) AS "_events_1",
    COALESCE("events_per_customer"."_events_2", FALSE) AS "_events_2"
  FROM "customers" AS "customer"
  INNER JOIN "events_per_customer"
    ON "events_per_customer"."__key" = "customer"."id"
  WHERE
    "customer"."signed_up_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
    OR "customer"."signed_up_at" IS NULL
)
SELECT
  "__key" AS "id"
FROM "population"
