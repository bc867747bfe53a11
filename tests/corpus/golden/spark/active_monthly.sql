WITH `t1_orders` AS (
  SELECT
    `orders`.`customer_id` AS `__key`,
    COUNT(
      DISTINCT CASE
        WHEN `orders`.`ordered_at` >= CAST('2025-04-01 00:00:00' AS TIMESTAMP_NTZ)
        AND `orders`.`ordered_at` < CAST('2025-07-01 00:00:00' AS TIMESTAMP_NTZ)
        THEN TRUNC(CAST(`orders`.`ordered_at` AS DATE), 'MONTH')
      END
    ) AS `m1_orders`,
    AVG(CASE WHEN `orders`.`status` = 'paid' THEN `orders`.`amount` END) AS `m2_avg_check`
  FROM `orders` AS `orders`
  WHERE
    `orders`.`ordered_at` <= CAST('2025-07-01 00:00:00' AS TIMESTAMP_NTZ)
    AND (
      `orders`.`ordered_at` >= CAST('2025-04-01 00:00:00' AS TIMESTAMP_NTZ)
      AND `orders`.`ordered_at` < CAST('2025-07-01 00:00:00' AS TIMESTAMP_NTZ)
      OR `orders`.`status` = 'paid'
    )
  GROUP BY
    `orders`.`customer_id`
  HAVING
    COUNT(
      DISTINCT CASE
        WHEN `orders`.`ordered_at` >= CAST('2025-04-01 00:00:00' AS TIMESTAMP_NTZ)
        AND `orders`.`ordered_at` < CAST('2025-07-01 00:00:00' AS TIMESTAMP_NTZ)
        THEN TRUNC(CAST(`orders`.`ordered_at` AS DATE), 'MONTH')
      END
    ) = 3
    AND AVG(CASE WHEN `orders`.`status` = 'paid' THEN `orders`.`amount` END) > 200
), `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    COALESCE(`t1_orders`.`m1_orders`, 0) AS `m1_orders`,
    `t1_orders`.`m2_avg_check` AS `m2_avg_check`
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
