WITH "population" AS (
  SELECT
    "customer"."id" AS "__key",
    "customer"."birth_date" AS "birth_date"
  FROM "customers" AS "customer"
  WHERE
    "customer"."signed_up_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
    OR "customer"."signed_up_at" IS NULL
)
SELECT
  "__key" AS "id"
FROM "population"
WHERE
  2025 - EXTRACT(YEAR FROM "birth_date") - CASE
    WHEN EXTRACT(MONTH FROM "birth_date") > 7
    OR EXTRACT(MONTH FROM "birth_date") = 7
    AND EXTRACT(DAY FROM "birth_date") > 1
    THEN 1
    ELSE 0
  END = 37
