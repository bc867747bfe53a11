WITH "t1_orders" AS (
  SELECT
    "orders"."customer_id" AS "__key",
    SUM("orders"."amount") AS "m1_revenue"
  FROM "orders" AS "orders"
  WHERE
    "orders"."ordered_at" <= CAST('2025-07-01 00:00:00' AS TIMESTAMP)
    AND "orders"."status" = 'paid'
  GROUP BY
    "orders"."customer_id"
), "population" AS (
  SELECT
    "customer"."id" AS "__key",
    COALESCE("t1_orders"."m1_revenue", 0) AS "m1_revenue"
  FROM "customers" AS "customer"
  INNER JOIN "t1_orders"
    ON "t1_orders"."__key" = "customer"."id"
  WHERE
    NOT "customer"."id" IS NULL
    AND (
      "customer"."signed_up_at" <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMPTZ)
      OR "customer"."signed_up_at" IS NULL
    )
), "r3_m_score_ranking" AS (
  SELECT
    "__key",
    TRUE AS "r3_m_score"
  FROM "population"
  ORDER BY
    "m1_revenue" DESC NULLS LAST,
    "__key" DESC NULLS LAST
  LIMIT (
    SELECT
      CAST(DIV("size", 5) AS BIGINT)
    FROM (
      SELECT
        COUNT(*) AS "size"
      FROM "population"
    ) AS "members"
  )
), "ranked_1" AS (
  SELECT
    "r3_m_score_ranking"."__key",
    "r3_m_score_ranking"."r3_m_score" AS "r3_m_score"
  FROM "r3_m_score_ranking"
)
SELECT DISTINCT
  "__key" AS "id"
FROM "ranked_1"
