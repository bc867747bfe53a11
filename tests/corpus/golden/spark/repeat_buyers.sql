WITH `t1_orders` AS (
  SELECT
    `orders`.`customer_id` AS `__key`,
    COUNT(*) AS `m1_paid_orders`
  FROM `orders` AS `orders`
  WHERE
    `orders`.`ordered_at` <= CAST('2025-07-01 00:00:00' AS TIMESTAMP_NTZ)
    AND `orders`.`status` = 'paid'
  GROUP BY
    `orders`.`customer_id`
  HAVING
    COUNT(*) >= 2
), `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    COALESCE(`t1_orders`.`m1_paid_orders`, 0) AS `m1_paid_orders`
  FROM `customers` AS `customer`
  INNER JOIN `t1_orders`
    ON `t1_orders`.`__key` = `customer`.`id`
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
