WITH `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    `customer`.`company_size` AS `a1_company_size`
  FROM `customers` AS `customer`
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
WHERE
  `a1_company_size` > 500
