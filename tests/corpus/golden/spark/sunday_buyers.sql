WITH `t1_orders` AS (
  SELECT
    `orders`.`customer_id` AS `__key`,
    COUNT(*) > 0 AS `m1_orders`
  FROM `orders` AS `orders`
  WHERE
    `orders`.`ordered_at` <= CAST('2025-07-01 00:00:00' AS TIMESTAMP_NTZ)
    AND EXTRACT(DAYOFWEEK_ISO FROM `orders`.`ordered_at`) = 7
  GROUP BY
    `orders`.`customer_id`
), `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    COALESCE(`t1_orders`.`m1_orders`, FALSE) AS `m1_orders`
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
