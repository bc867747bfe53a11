WITH "population" AS (
  SELECT
    "customer"."id" AS "__key",
    "customer"."company_size" AS "a1_company_size"
  FROM "customers" AS "customer"
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
  "a1_company_size" >= 50 AND "a1_company_size" <= 500
SETTINGS "join_use_nulls" = 1, "session_timezone" = 'UTC', "prefer_column_name_to_alias" = 1
