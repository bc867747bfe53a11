WITH `orders_per_customer` AS (
  SELECT
    `orders`.`customer_id` AS `__key`,
    SUM(`orders`.`amount`) AS `revenue`
  FROM `orders` AS `orders`
  WHERE
    `orders`.`ordered_at` <= CAST('2025-07-01 00:00:00' AS DATETIME)
    AND `orders`.`status` = 'paid'
  GROUP BY
    `orders`.`customer_id`
), `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    COALESCE(`orders_per_customer`.`revenue`, 0) AS `revenue`
  FROM `customers` AS `customer`
  LEFT JOIN `orders_per_customer`
    ON `orders_per_customer`.`__key` = `customer`.`id`
  WHERE
    `customer`.`signed_up_at` <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMP)
    OR `customer`.`signed_up_at` IS NULL
), `_rank1_ranking` AS (
  SELECT
    `__key`,
    ROW_NUMBER() OVER (ORDER BY `revenue` DESC, `__key` ASC) <= 3 AS `_rank1`
  FROM `population`
), `ranked_1` AS (
  SELECT
    `_rank1_ranking`.`__key`,
    COALESCE(`_rank1_ranking`.`_rank1`, FALSE) AS `_rank1`
  FROM `_rank1_ranking`
)
SELECT
  `__key` AS `id`
FROM `ranked_1`
WHERE
  `_rank1`
