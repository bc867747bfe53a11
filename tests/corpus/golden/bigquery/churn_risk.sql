WITH `orders_per_customer` AS (
  SELECT
    `orders`.`customer_id` AS `__key`,
    COUNT(
      CASE
        WHEN `orders`.`ordered_at` > CAST('2025-04-02 00:00:00' AS DATETIME)
        AND `orders`.`ordered_at` <= CAST('2025-07-01 00:00:00' AS DATETIME)
        THEN 1
      END
    ) AS `_orders_1`,
    COUNT(
      CASE
        WHEN `orders`.`ordered_at` > CAST('2025-01-02 00:00:00' AS DATETIME)
        AND `orders`.`ordered_at` <= CAST('2025-04-02 00:00:00' AS DATETIME)
        THEN 1
      END
    ) AS `_orders_2`
  FROM `orders` AS `orders`
  WHERE
    `orders`.`ordered_at` <= CAST('2025-07-01 00:00:00' AS DATETIME)
    AND `orders`.`ordered_at` > CAST('2025-01-02 00:00:00' AS DATETIME)
    AND `orders`.`status` = 'paid'
  GROUP BY
    `orders`.`customer_id`
  HAVING
    COUNT(
      CASE
        WHEN `orders`.`ordered_at` > CAST('2025-04-02 00:00:00' AS DATETIME)
        AND `orders`.`ordered_at` <= CAST('2025-07-01 00:00:00' AS DATETIME)
        THEN 1
      END
    ) < 0.5 * COUNT(
      CASE
        WHEN `orders`.`ordered_at` > CAST('2025-01-02 00:00:00' AS DATETIME)
        AND `orders`.`ordered_at` <= CAST('2025-04-02 00:00:00' AS DATETIME)
        THEN 1
      END
    )
), `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    COALESCE(`orders_per_customer`.`_orders_1`, 0) AS `_orders_1`,
    COALESCE(`orders_per_customer`.`_orders_2`, 0) AS `_orders_2`
  FROM `customers` AS `customer`
  INNER JOIN `orders_per_customer`
    ON `orders_per_customer`.`__key` = `customer`.`id`
  WHERE
    `customer`.`signed_up_at` <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMP)
    OR `customer`.`signed_up_at` IS NULL
)
SELECT
  `__key` AS `id`
FROM `population`
