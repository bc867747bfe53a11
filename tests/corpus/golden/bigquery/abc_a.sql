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
), `revenue_share_ranking` AS (
  SELECT
    `__key`,
    CAST(SUM(`revenue`) OVER (
      ORDER BY `revenue` DESC, `__key` ASC
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS FLOAT64) / NULLIF(CAST(SUM(`revenue`) OVER () AS FLOAT64), 0) AS `revenue_share`
  FROM `population`
  WHERE
    `paid_orders` > 0
), `ranked_1` AS (
  SELECT
    `revenue_share_ranking`.`__key`,
    `revenue_share_ranking`.`revenue_share` AS `revenue_share`
  FROM `revenue_share_ranking`
)
SELECT
  `__key` AS `id`
FROM `ranked_1`
WHERE
  `revenue_share` <= 0.8
