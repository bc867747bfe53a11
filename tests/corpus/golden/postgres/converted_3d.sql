WITH "s1_events" AS (
  SELECT
    "events"."customer_id" AS "__key",
    "events"."occurred_at" AT TIME ZONE 'UTC' AS "at",
    "events"."name" = 'add_to_cart' AS "step_1",
    "events"."name" = 'purchase' AS "step_2"
  FROM "events" AS "events"
  WHERE
    "events"."occurred_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
    AND (
      (
        "events"."name" = 'add_to_cart'
      ) OR (
        "events"."name" = 'purchase'
      )
    )
), "q1_sequence" AS (
  SELECT DISTINCT
    "first_step"."__key"
  FROM (
    SELECT
      "__key",
      "at"
    FROM "s1_events"
    WHERE
      "step_1"
  ) AS "first_step"
  WHERE
    EXISTS(
      SELECT
        1
      FROM (
        SELECT
          "__key",
          "at"
        FROM "s1_events"
        WHERE
          "step_2"
      ) AS "then_step"
      WHERE
        "then_step"."__key" = "first_step"."__key"
        AND "then_step"."at" > "first_step"."at"
        AND "then_step"."at" <= "first_step"."at" + INTERVAL '3 day'
    )
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    NOT "q1_sequence"."__key" IS NULL AS "q1"
  FROM "customers" AS "customer"
  INNER JOIN "q1_sequence"
    ON "q1_sequence"."__key" = "customer"."id"
  WHERE
    NOT "customer"."id" IS NULL
    AND (
      "customer"."signed_up_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
      OR "customer"."signed_up_at" IS NULL
    )
)
SELECT DISTINCT
  "__key" AS "id"
FROM "population"
WHERE
  "q1"
