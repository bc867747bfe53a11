WITH `t1_visits` AS (
  SELECT
    `visits`.`customer_id` AS `__key`,
    COUNT(*) > 0 AS `m1_visits`
  FROM `visits` AS `visits`
  WHERE
    `visits`.`visit_date` <= CAST('2025-07-01' AS DATE)
    AND `visits`.`visit_date` >= CAST('2025-06-02' AS DATE)
  GROUP BY
    `visits`.`customer_id`
), `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    COALESCE(`t1_visits`.`m1_visits`, FALSE) AS `m1_visits`
  FROM `customers` AS `customer`
  INNER JOIN `t1_visits`
    ON `t1_visits`.`__key` = `customer`.`id`
  WHERE
    NOT `customer`.`id` IS NULL
    AND (
      `customer`.`signed_up_at` <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMP)
      OR `customer`.`signed_up_at` IS NULL
    )
)
SELECT DISTINCT
  `__key` AS `id`
FROM `population`
