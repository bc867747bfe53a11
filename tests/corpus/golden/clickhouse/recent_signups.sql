WITH "population" AS (
  SELECT
    "customer"."id" AS "__key",
    toTimeZone(
      addSeconds(
        "customer"."signed_up_at",
        timeZoneOffset(toTimeZone("customer"."signed_up_at", 'UTC'))
      ),
      'UTC'
    ) AS "a1_signed_up_at"
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
  "a1_signed_up_at" > toDateTime64('2025-06-01 00:00:00', 6, 'UTC')
  AND "a1_signed_up_at" <= toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
SETTINGS "join_use_nulls" = 1, "session_timezone" = 'UTC', "prefer_column_name_to_alias" = 1
