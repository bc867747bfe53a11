WITH `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    0 AS `m1_paid_orders`
  FROM `customers` AS `customer`
  WHERE
    (
      NOT `customer`.`id` IS NULL
      AND (
        `customer`.`signed_up_at` <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMP)
        OR `customer`.`signed_up_at` IS NULL
      )
    )
    AND NOT EXISTS(
      SELECT
        1
      FROM `orders` AS `orders`
      WHERE
        `orders`.`customer_id` = `customer`.`id`
        AND `orders`.`ordered_at` <= CAST('2025-07-01 00:00:00' AS TIMESTAMP_NTZ)
        AND `orders`.`status` = 'paid'
    )
)
SELECT DISTINCT
  `__key` AS `id`
FROM `population`
WHERE
  `m1_paid_orders` = 0
