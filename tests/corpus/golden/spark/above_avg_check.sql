WITH `t1_orders` AS (
  SELECT
    `orders`.`customer_id` AS `__key`,
    AVG(`orders`.`amount`) AS `m1_avg_check`
  FROM `orders` AS `orders`
  WHERE
    `orders`.`ordered_at` <= CAST('2025-07-01 00:00:00' AS TIMESTAMP_NTZ)
    AND `orders`.`status` = 'paid'
  GROUP BY
    `orders`.`customer_id`
), `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    `t1_orders`.`m1_avg_check` AS `m1_avg_check`
  FROM `customers` AS `customer`
  INNER JOIN `t1_orders`
    ON `t1_orders`.`__key` = `customer`.`id`
  WHERE
    NOT `customer`.`id` IS NULL
    AND (
      `customer`.`signed_up_at` <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMP)
      OR `customer`.`signed_up_at` IS NULL
    )
), `r3_ranking` AS (
  SELECT
    AVG(`m1_avg_check`) AS `value`
  FROM `population`
  WHERE
    NOT `m1_avg_check` IS NULL
), `ranked_1` AS (
  SELECT
    `population`.*,
    `r3_ranking`.`value` AS `r3`
  FROM `population`
  CROSS JOIN `r3_ranking`
)
SELECT DISTINCT
  `__key` AS `id`
FROM `ranked_1`
WHERE
  `m1_avg_check` > `r3`
