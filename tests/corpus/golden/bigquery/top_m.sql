WITH `orders_per_customer` AS (
  SELECT
    `orders`.`customer_id` AS `__key`,
    SUM(`orders`.`amount`) AS `revenue`,
    COUNT(*) AS `paid_orders`
  FROM `orders` AS `orders`
  WHERE
    `orders`.`ordered_at` <= CAST('2025-07-01 00:00:00' AS DATETIME)
    AND `orders`.`status` = 'paid'
  GROUP BY
    `orders`.`customer_id`
), `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    COALESCE(`orders_per_customer`.`revenue`, 0) AS `revenue`,
    COALESCE(`orders_per_customer`.`paid_orders`, 0) AS `paid_orders`
  FROM `customers` AS `customer`
  INNER JOIN `orders_per_customer`
    ON `orders_per_customer`.`__key` = `customer`.`id`
  WHERE
    `customer`.`signed_up_at` <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMP)
    OR `customer`.`signed_up_at` IS NULL
), `m_score_ranking` AS (
  SELECT
    `__key`,
    NTILE(5) OVER (ORDER BY `revenue` ASC, `__key` ASC) AS `m_score`
  FROM `population`
  WHERE
    `paid_orders` > 0
), `ranked_1` AS (
  SELECT
    `m_score_ranking`.`__key`,
    `m_score_ranking`.`m_score` AS `m_score`
  FROM `m_score_ranking`
)
SELECT
  `__key` AS `id`
FROM `ranked_1`
WHERE
  `m_score` = 5
