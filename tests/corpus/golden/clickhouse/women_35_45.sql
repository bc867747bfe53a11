WITH "population" AS (
  SELECT
    "customer"."id" AS "__key",
    "customer"."gender" AS "a1_gender",
    "customer"."birth_date" AS "a2_birth_date"
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
  "a1_gender" = 'female'
  AND "a2_birth_date" <= toDate32('1990-07-01')
  AND "a2_birth_date" >= toDate32('1979-07-02')
SETTINGS "join_use_nulls" = 1, "session_timezone" = 'UTC', "prefer_column_name_to_alias" = 1
