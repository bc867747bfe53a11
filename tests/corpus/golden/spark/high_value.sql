WITH `t1_orders` AS (
  SELECT
    `orders`.`customer_id` AS `__key`,
    SUM(`orders`.`amount`) AS `m1_revenue`
  FROM `orders` AS `orders`
  WHERE
    `orders`.`ordered_at` <= CAST('2025-07-01 00:00:00' AS TIMESTAMP_NTZ)
    AND `orders`.`status` = 'paid'
  GROUP BY
    `orders`.`customer_id`
), `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    COALESCE(`t1_orders`.`m1_revenue`, 0) AS `m1_revenue`
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
    `__key`,
    (
      ROW_NUMBER() OVER (ORDER BY `m1_revenue` DESC, `__key` ASC) - 1
    ) * 10 < 1 * COUNT(*) OVER () AS `r3`
  FROM `population`
), `ranked_1` AS (
  SELECT
    `r3_ranking`.`__key`,
    COALESCE(`r3_ranking`.`r3`, FALSE) AS `r3`
  FROM `r3_ranking`
)
SELECT DISTINCT
  `__key` AS `id`
FROM `ranked_1`
WHERE
  `r3`
