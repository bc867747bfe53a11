WITH "visits_per_customer" AS (
  SELECT
    "visits"."customer_id" AS "__key",
    COUNT(*) > 0 AS "_visits_1"
  FROM "visits" AS "visits"
  WHERE
    "visits"."visit_date" <= CAST('2025-07-01' AS DATE)
    AND "visits"."visit_date" >= CAST('2025-06-02' AS DATE)
  GROUP BY
    "visits"."customer_id"
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    COALESCE("visits_per_customer"."_visits_1", FALSE) AS "_visits_1"
  FROM "customers" AS "customer"
  INNER JOIN "visits_per_customer"
    ON "visits_per_customer"."__key" = "customer"."id"
  WHERE
    "customer"."signed_up_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
    OR "customer"."signed_up_at" IS NULL
)
SELECT
  "__key" AS "id"
FROM "population"
