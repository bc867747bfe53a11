WITH `t1_order_months` AS (
  SELECT
    `order_months`.`__key` AS `__key`,
    COUNT(
      CASE
        WHEN `order_months`.`c1_month` >= CAST('2025-04-01 00:00:00' AS DATETIME)
        AND `order_months`.`c1_month` < CAST('2025-07-01 00:00:00' AS DATETIME)
        THEN 1
      END
    ) AS `m1_order_months`,
    MAX(`order_months`.`c2_spend`) AS `m2_order_months`
  FROM (
    SELECT
      `orders`.`customer_id` AS `__key`,
      DATETIME(DATE_TRUNC(DATE(`orders`.`ordered_at`), MONTH)) AS `c1_month`,
      COALESCE(SUM(`orders`.`amount`), 0) AS `c2_spend`
    FROM `orders` AS `orders`
    WHERE
      `orders`.`ordered_at` <= CAST('2025-07-01 00:00:00' AS DATETIME)
      AND `orders`.`status` = 'paid'
      AND NOT DATE_TRUNC(DATE(`orders`.`ordered_at`), MONTH) IS NULL
    GROUP BY
      `orders`.`customer_id`,
      DATETIME(DATE_TRUNC(DATE(`orders`.`ordered_at`), MONTH))
  ) AS `order_months`
  WHERE
    `order_months`.`c1_month` <= CAST('2025-07-01 00:00:00' AS DATETIME)
  GROUP BY
    `order_months`.`__key`
  HAVING
    (
      COUNT(
        CASE
          WHEN `order_months`.`c1_month` >= CAST('2025-04-01 00:00:00' AS DATETIME)
          AND `order_months`.`c1_month` < CAST('2025-07-01 00:00:00' AS DATETIME)
          THEN 1
        END
      ) >= 3
      OR MAX(`order_months`.`c2_spend`) >= 325
    )
), `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    COALESCE(`t1_order_months`.`m1_order_months`, 0) AS `m1_order_months`,
    `t1_order_months`.`m2_order_months` AS `m2_order_months`
  FROM `customers` AS `customer`
  INNER JOIN `t1_order_months`
    ON `t1_order_months`.`__key` = `customer`.`id`
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
